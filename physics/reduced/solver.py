"""Implicit-Euler incremental potential on the handle DoFs and its Newton solver (Vid2Sim eq. 2).

One step minimises over z (n = 12 H handle DoFs, flattened)

    Phi(z) = 1/(2 dt^2) (z - z_tilde)^T M (z - z_tilde) + sum_c V_c Psi(F_c(z)) - f_g^T z
             + kappa sum_c m_c psi(min(0, x_c,z - h)) + E_fric(z) + E_ctrl(z),     z_tilde = z_t + dt zdot_t,

with psi a C^2-smoothed quadratic penalty (``floor_penalty``), M = sum_c m_c B_c^T B_c (the LBS mass matrix, constant because x is linear in z),
f_g = sum_c m_c B_c^T g, Psi the stable neo-Hookean (``material``), sums over cubature points.
E_fric is IPC-style lagged friction (Li et al. 2020, eq. 13-15): lambda_c = kappa m_c
max(0, h - x_c,z(z_t)) frozen at the step start, E_fric = mu sum_c lambda_c f0(|u_c|), u_c the
tangential displacement over the step, f0(y) = -y^3/(3 eps^2) + y^2/eps + eps/3 for y < eps else y
(C^2), eps = eps_v dt; its exact Hessian is PSD. E_ctrl = kappa_c/2 sum_{c attached} m_c |x_c(z) - y_c|^2
pulls the cubature points attached to a control point to their targets y_c at the step end (interaction;
quadratic in z, exact gradient and Hessian).

Newton: exact analytic gradient and Hessian (dense n x n; eigenvalue-clamped when not positive
definite), Armijo backtracking on Phi (near convergence, where Phi differences drown in round-off,
a step that halves |grad| is accepted instead), convergence on |grad Phi| / force_scale < tol with
force_scale = m_total L (|g| + L / dt^2), L the cubature extent. The residual of every iteration
is returned.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from physics.errors import SimulationDiverged
from physics.reduced.material import energy_density, first_piola, stress_derivative
from physics.reduced.params import ReducedParams


@dataclass
class Operators:
    """Precomputed, z-independent tensors of one object (may carry autograd graph)."""

    X: torch.Tensor  # (N, 3) cubature rest positions
    B: torch.Tensor  # (N, 3, n) position Jacobian
    J: torch.Tensor  # (N, 9, n) deformation-gradient Jacobian
    vol: torch.Tensor  # (N,) V_c
    mass: torch.Tensor  # (N,) m_c = rho V_c
    M: torch.Tensor  # (n, n) mass matrix
    fg: torch.Tensor  # (n,) generalized gravity force
    mu: torch.Tensor  # stable neo-Hookean parameters
    lam: torch.Tensor
    G: torch.Tensor | None = None  # (N, 4H, 3) affine coefficients (J = I_3 (x) G), for a fast Hessian

    def detached(self) -> "Operators":
        return replace(self, **{k: v.detach() for k, v in self.__dict__.items()})


def build_operators(X, B, J, vol, density: float, gravity, mu, lam, G: torch.Tensor | None = None) -> Operators:
    """Mass matrix and gravity force from the LBS operators (see module doc)."""
    mass = vol * density
    n = B.shape[-1]
    Bf = B.reshape(-1, n)
    M = Bf.T @ (Bf * mass.repeat_interleave(3)[:, None])
    g = torch.as_tensor(gravity, dtype=B.dtype)
    fg = (mass[:, None] * g).reshape(-1) @ Bf
    G = None if G is None else G.reshape(G.shape[0], -1, 3)
    return Operators(X, B, J, vol, mass, M, fg, torch.as_tensor(mu, dtype=B.dtype), torch.as_tensor(lam, dtype=B.dtype), G)


def elastic_hessian(ops: Operators, D: torch.Tensor) -> torch.Tensor:
    """sum_c V_c J_c^T D_c J_c (n, n). With G, uses J[c,(i,j),(h,i',b)] = delta_ii' G[c,(h,b),j] (3x fewer flops)."""
    if ops.G is None:
        DJ = torch.bmm(D * ops.vol[:, None, None], ops.J)
        n = ops.J.shape[-1]
        return ops.J.reshape(-1, n).T @ DJ.reshape(-1, n)
    N, K, _ = ops.G.shape
    Dp = (D * ops.vol[:, None, None]).reshape(N, 3, 3, 3, 3).permute(0, 2, 1, 3, 4).reshape(N, 3, 27)  # (c, j, i i' j')
    T = torch.bmm(ops.G, Dp).reshape(N, K, 3, 3, 3)  # (c, k, i, i', j')
    Hs = T.permute(2, 1, 3, 0, 4).reshape(3 * K * 3, N * 3) @ ops.G.permute(0, 2, 1).reshape(N * 3, K)  # (i k i', k')
    Hs = Hs.reshape(3, K // 4, 4, 3, K // 4, 4)  # (i, h, b, i', h', b')
    return Hs.permute(1, 0, 2, 4, 3, 5).reshape(3 * K, 3 * K)


@dataclass
class StepContext:
    """Per-step data: inertia target and frozen (lagged) friction state."""

    z_tilde: torch.Tensor  # (n,)
    x_start: torch.Tensor  # (N, 3) cubature positions at the step start (detached)
    lam_n: torch.Tensor  # (N,) lagged normal force magnitude (detached)
    ctrl_idx: torch.Tensor | None = None  # (A,) cubature points attached to control points
    ctrl_target: torch.Tensor | None = None  # (A, 3) their targets at the end of the step (constants)


def make_context(ops: Operators, z_t: torch.Tensor, zdot_t: torch.Tensor, p: ReducedParams,
                 ctrl_idx: torch.Tensor | None = None, ctrl_target: torch.Tensor | None = None) -> StepContext:
    """z_tilde = z_t + dt zdot_t (Vid2Sim eq. 2), the lagged contact normal forces at z_t and the control
    targets of this step (``ctrl_idx`` cubature points pulled towards ``ctrl_target``)."""
    with torch.no_grad():
        x0 = ops.X + ops.B @ z_t.detach()
        if p.ground and p.friction > 0:
            lam_n = p.floor_stiffness * ops.mass.detach() * torch.clamp(p.ground_height - x0[:, 2], min=0.0)
        else:
            lam_n = torch.zeros_like(x0[:, 0])
    return StepContext(z_t + p.dt * zdot_t, x0, lam_n, ctrl_idx, ctrl_target)


def evaluate(ops: Operators, z: torch.Tensor, ctx: StepContext, p: ReducedParams, order: int = 2):
    """(Phi, grad, Hessian) at z; ``order`` 0/1/2 stops early (returns None for the rest)."""
    dz = z - ctx.z_tilde
    Mdz = ops.M @ dz
    inv_dt2 = 1.0 / (p.dt * p.dt)
    x = ops.X + ops.B @ z
    F = torch.eye(3, dtype=z.dtype) + (ops.J @ z).reshape(-1, 3, 3)
    phi = 0.5 * inv_dt2 * (dz @ Mdz) + (ops.vol * energy_density(F, ops.mu, ops.lam)).sum() - ops.fg @ z
    pen = torch.clamp(x[:, 2] - p.ground_height, max=0.0) if p.ground else None
    if pen is not None:
        e_f, de_f, dde_f = floor_penalty(pen, p.floor_smoothing)
        phi = phi + p.floor_stiffness * (ops.mass * e_f).sum()
    ctrl = ctx.ctrl_idx is not None and ctx.ctrl_idx.numel() > 0
    if ctrl:  # quadratic (x is linear in z): kappa_c/2 sum m_c |x_c - y_c|^2
        kc_m = p.control_stiffness * ops.mass[ctx.ctrl_idx]
        r_c = x[ctx.ctrl_idx] - ctx.ctrl_target
        phi = phi + 0.5 * (kc_m * (r_c * r_c).sum(1)).sum()
    fric = p.ground and p.friction > 0 and bool(torch.any(ctx.lam_n > 0))
    if fric:
        eps = p.friction_eps_v * p.dt
        u = (x - ctx.x_start)[:, :2]
        y = torch.sqrt((u * u).sum(1) + 1e-30)
        small = y < eps
        f0 = torch.where(small, -y ** 3 / (3 * eps * eps) + y * y / eps + eps / 3, y)
        phi = phi + p.friction * (ctx.lam_n * f0).sum()
    if order == 0:
        return phi, None, None
    P = first_piola(F, ops.mu, ops.lam).reshape(-1, 9)
    n = z.shape[0]
    grad = inv_dt2 * Mdz + (ops.vol[:, None] * P).reshape(-1) @ ops.J.reshape(-1, n) - ops.fg
    if pen is not None:
        grad = grad + p.floor_stiffness * ((ops.mass * de_f) @ ops.B[:, 2])
    if ctrl:
        Bc = ops.B[ctx.ctrl_idx]  # (A, 3, n)
        grad = grad + ((kc_m[:, None] * r_c).reshape(-1) @ Bc.reshape(-1, n))
    if fric:
        f1_y = torch.where(small, 2.0 / eps - y / (eps * eps), 1.0 / y)  # f0'(y) / y
        coef = p.friction * ctx.lam_n * f1_y
        grad = grad + (coef[:, None] * u).reshape(-1) @ ops.B[:, :2].reshape(-1, n)
    if order == 1:
        return phi, grad, None
    D = stress_derivative(F, ops.mu, ops.lam)  # (N, 9, 9)
    H = inv_dt2 * ops.M + elastic_hessian(ops, D)
    if pen is not None:
        hit = pen < 0
        if bool(hit.any()):
            Bz = ops.B[hit, 2]
            H = H + Bz.T @ (Bz * (p.floor_stiffness * ops.mass[hit] * dde_f[hit])[:, None])
    if ctrl:
        Bf = Bc.reshape(-1, n)
        H = H + Bf.T @ (Bf * kc_m.repeat_interleave(3)[:, None])
    if fric:  # exact: mu lam (f0'' uu^T/y^2 + f0'/y (I - uu^T/y^2)), PSD for this f0
        f2 = torch.where(small, 2.0 / eps - 2.0 * y / (eps * eps), torch.zeros_like(y))
        uh = u / y[:, None]
        K2 = coef[:, None, None] * torch.eye(2, dtype=z.dtype) \
            + (p.friction * ctx.lam_n * f2 - coef)[:, None, None] * uh[:, :, None] * uh[:, None, :]
        Bt = ops.B[:, :2]  # (N, 2, n)
        H = H + Bt.reshape(-1, n).T @ torch.bmm(K2, Bt).reshape(-1, n)
    return phi, grad, H


def floor_penalty(d: torch.Tensor, delta: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """C^2 quadratic penalty psi(d) for d = min(0, x_z - h) and its first two derivatives (per unit kappa m).

    psi = d^2/2 + delta d/2 + delta^2/6 for d < -delta (a quadratic penalty, force kappa m (|d| - delta/2)),
    (-d)^3 / (6 delta) for -delta <= d < 0 (C^2 blend so Newton does not cycle on the contact kink), 0 above.
    """
    if delta <= 0:
        return 0.5 * d * d, d, torch.ones_like(d)
    far = d < -delta
    e = torch.where(far, 0.5 * d * d + 0.5 * delta * d + delta * delta / 6.0, -d ** 3 / (6.0 * delta))
    de = torch.where(far, d + 0.5 * delta, -d * d / (2.0 * delta))
    dde = torch.where(far, torch.ones_like(d), -d / delta)
    return e, de, dde


def _newton_direction(H: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """-H^{-1} g with H projected to positive definite (eigenvalue clamp) when Cholesky fails."""
    L, info = torch.linalg.cholesky_ex(H)
    if int(info) == 0:
        return -torch.cholesky_solve(g[:, None], L)[:, 0]
    evals, evecs = torch.linalg.eigh(H)
    evals = torch.clamp(evals, min=1e-10 * float(evals.abs().max()))
    return -evecs @ ((evecs.T @ g) / evals)


def force_scale(ops: Operators, p: ReducedParams) -> float:
    """m_total L (|g| + L / dt^2): residual normaliser (newtons times metres per unit z)."""
    X = ops.X.detach()
    L = max(float((X.max(0).values - X.min(0).values).max()), 1e-6)
    return float(ops.mass.detach().sum()) * L * (float(np.linalg.norm(p.gravity)) + L / p.dt ** 2)


def newton_solve(ops: Operators, ctx: StepContext, p: ReducedParams, step: int, scale: float,
                 z_init: torch.Tensor | None = None) -> tuple[torch.Tensor, np.ndarray, torch.Tensor]:
    """Minimise Phi (detached ops); returns (z*, residuals per iteration, exact Hessian at z*)."""
    z = (ctx.z_tilde if z_init is None else z_init).detach().clone()
    phi, g, H = evaluate(ops, z, ctx, p)
    res: list[float] = []
    slack = 64 * torch.finfo(z.dtype).eps
    for it in range(p.newton_max_iter + 1):
        r = float(torch.linalg.vector_norm(g)) / scale
        res.append(r)
        if not np.isfinite(r):
            raise SimulationDiverged(step, f"non-finite Newton residual at iteration {it}")
        if r < p.newton_tol:
            return z, np.asarray(res), H
        if it == p.newton_max_iter:
            break
        d = _newton_direction(H, g)
        gd = float(g @ d)
        alpha, accepted = 1.0, False
        for _ in range(p.line_search_max):
            z_new = z + alpha * d
            phi_new = evaluate(ops, z_new, ctx, p, order=0)[0]
            if float(phi_new) <= float(phi) + 1e-4 * alpha * gd + slack * (abs(float(phi)) + 1.0):
                accepted = True
                break
            if float(phi_new) <= float(phi) + 1e-9 * (abs(float(phi)) + 1.0):  # Phi at round-off level:
                g_new = evaluate(ops, z_new, ctx, p, order=1)[1]  # accept if |grad| halves instead
                if float(torch.linalg.vector_norm(g_new)) <= 0.5 * r * scale:
                    accepted = True
                    break
            alpha *= 0.5
        if not accepted:
            if r < 1e3 * p.newton_tol:  # stalled at round-off just above tol
                return z, np.asarray(res), H
            raise SimulationDiverged(step, f"line search failed at Newton iteration {it} (residual {r:.3e})")
        z = z_new
        phi, g, H = evaluate(ops, z, ctx, p)
    raise SimulationDiverged(step, f"Newton did not converge in {p.newton_max_iter} iterations "
                                   f"(residual {res[-1]:.3e} > tol {p.newton_tol:.1e})")


class _ImplicitAdjoint(torch.autograd.Function):
    """Zero-valued node whose backward maps dL/dz* to dL/dg = -H^{-1} dL/dz* (implicit function thm)."""

    @staticmethod
    def forward(ctx, g: torch.Tensor, H: torch.Tensor) -> torch.Tensor:  # noqa: D401
        ctx.save_for_backward(H)
        return torch.zeros_like(g)

    @staticmethod
    def backward(ctx, gout: torch.Tensor):
        (H,) = ctx.saved_tensors
        return -torch.linalg.solve(H, gout), None


def attach_adjoint(z_star: torch.Tensor, ops: Operators, ctx: StepContext, p: ReducedParams, H: torch.Tensor) -> torch.Tensor:
    """z* with gradients dL/dtheta = -lambda^T dg/dtheta, H lambda = dL/dz* (g = grad Phi at z*).

    ``ops`` and ``ctx.z_tilde`` carry the graph to theta (MLP, E, nu) and to (z_t, zdot_t).
    """
    g = evaluate(ops, z_star.detach(), ctx, p, order=1)[1]
    return z_star.detach() + _ImplicitAdjoint.apply(g, H.detach())
