"""``simulate_reduced``: implicit-Euler rollout of the LBS handles (Vid2Sim eq. 1-2) in torch.

Gradients (default ``adjoint=True``): implicit differentiation of every converged step. At the
minimiser z* of Phi(z; theta, z_t, zdot_t) the gradient g = dPhi/dz vanishes, so
dz*/dtheta = -H^{-1} dg/dtheta and dL/dtheta = -lambda^T dg/dtheta with H lambda = dL/dz*.
We chose this over unrolling Newton because (1) the gradient is exact for the converged step,
independent of how many Newton / line-search iterations it took and of their non-differentiable
branches (Cholesky fallback, backtracking), (2) memory is O(steps) small tensors instead of the
whole Newton history, (3) one dense n x n solve per step is cheap for n = 12 H. It needs the step
converged to ``newton_tol`` (enforced: otherwise SimulationDiverged). The lagged friction normal
forces and slip reference (frozen at each step start) are treated as constants, so gradients with
friction > 0 miss that dependence; everything else is exact. theta = E, nu, the skinning-MLP parameters, z0, zdot0.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from physics.errors import SimulationDiverged
from physics.mpm.params import control_assignment
from physics.reduced.kinematics import lbs_operators
from physics.reduced.material import snh_parameters
from physics.reduced.params import ReducedParams, ReducedResult
from physics.reduced.solver import attach_adjoint, build_operators, force_scale, make_context, newton_solve


def _tensor(v, dtype) -> torch.Tensor:
    return v.to(dtype) if isinstance(v, torch.Tensor) else torch.as_tensor(v, dtype=dtype)


def simulate_reduced(
    model, cubature_X, volumes, query_points, params: ReducedParams, n_frames: int, *,
    z0: torch.Tensor | None = None, zdot0: torch.Tensor | None = None,
    E: torch.Tensor | float | None = None, nu: torch.Tensor | float | None = None,
    adjoint: bool = True, controls: np.ndarray | None = None, control_radius: float | None = None,
) -> ReducedResult:
    """Roll out ``n_frames`` frames in all (frame 0 = the initial state, as physics.spring_mass.simulate),
    ``params.substeps`` implicit-Euler steps between consecutive frames.

    Args:
        model: ``SkinningMLP`` (its dtype, float64 by default after training, sets the precision).
        cubature_X: (N, 3) cubature rest points (``cubature_points``), world frame at rest.
        volumes: (N,) per-point volumes V_c, or a float total volume split equally.
        query_points: (P, 3) rest points whose positions / F are returned (surface points, Gaussians).
        z0, zdot0: (H, 12) initial handle DoFs / velocities (default zero = rest, at rest).
        E, nu: optional tensors overriding ``params.E``/``params.nu`` (differentiable).
        adjoint: attach implicit-differentiation gradients (when anything requires grad).
        controls: (T, C, 3) control-point trajectory (frame 0 = rest contact); the cubature points within
            ``control_radius`` of a control point at frame 0 follow its displacement c(t) - c(0) through the
            penalty E_ctrl (``params.control_stiffness``), targets linearly interpolated within a frame.

    Raises SimulationDiverged(step, reason) on NaN, Newton failure or blow-up.
    """
    dtype = model.center.dtype
    p = params
    H = model.n_total
    n = 12 * H
    E_t = _tensor(p.E if E is None else E, dtype)
    nu_t = _tensor(p.nu if nu is None else nu, dtype)
    z = torch.zeros(n, dtype=dtype) if z0 is None else _tensor(z0, dtype).reshape(n)
    zdot = torch.zeros(n, dtype=dtype) if zdot0 is None else _tensor(zdot0, dtype).reshape(n)
    leaves = [E_t, nu_t, z, zdot, *model.parameters()]
    track = adjoint and torch.is_grad_enabled() and any(t.requires_grad for t in leaves)
    with torch.set_grad_enabled(track):
        Xc, Bc, Jc, Gc = lbs_operators(model, cubature_X, return_coefficients=True)
        vol = _tensor(volumes, dtype)
        vol = vol.expand(Xc.shape[0]) / Xc.shape[0] if vol.ndim == 0 else vol.reshape(-1)
        mu, lam_s = snh_parameters(E_t, nu_t)
        ops = build_operators(Xc, Bc, Jc, vol, p.density, p.gravity, mu, lam_s, Gc)
        Xq, Bq, Jq = lbs_operators(model, query_points)
    ops_d = ops.detached()
    scale = force_scale(ops_d, p)
    ctrl_idx, ctrl_of, x_att = None, None, None
    if controls is not None:
        ctrl = torch.as_tensor(np.asarray(controls, np.float64), dtype=dtype)
        if ctrl.ndim != 3 or ctrl.shape[0] < int(n_frames) or ctrl.shape[2] != 3:
            raise ValueError(f"controls must be (T >= {n_frames}, C, 3), got {tuple(ctrl.shape)}")
        x_start = (ops_d.X + ops_d.B @ z.detach())
        radius = float(control_radius or 0.0)  # the MPM GT's position-mode attachment rule:
        follows = control_assignment(x_start.numpy(), ctrl[0].numpy(), ctrl.shape[1], None, radius)
        attached = np.nonzero(follows >= 0)[0]
        if attached.size == 0:
            raise ValueError(f"no cubature point within control_radius {radius:g} m of a control point")
        ctrl_idx, ctrl_of = torch.as_tensor(attached), torch.as_tensor(follows[attached].astype(np.int64))
        x_att = x_start[ctrl_idx]
    rest_center = Xc.detach().mean(0)
    eye = torch.eye(3, dtype=dtype)

    def frame_out(zf: torch.Tensor):
        return Xq + Bq @ zf, eye + (Jq @ zf).reshape(-1, 3, 3)

    xs, Fs, zs, zds, residuals = [], [], [z.reshape(H, 12)], [zdot.reshape(H, 12)], []
    x_q, F_q = frame_out(z)
    xs.append(x_q)
    Fs.append(F_q)
    step = 0
    for frame in range(int(n_frames) - 1):
        for sub in range(p.substeps):
            target = None
            if ctrl_idx is not None:
                a = (sub + 1) / p.substeps
                c_t = (1 - a) * ctrl[frame] + a * ctrl[frame + 1]
                target = x_att + (c_t - ctrl[0])[ctrl_of]
            with torch.set_grad_enabled(track):
                ctx = make_context(ops if track else ops_d, z, zdot, p, ctrl_idx, target)
            with torch.no_grad():
                z_star, res, Hs = newton_solve(ops_d, replace(ctx, z_tilde=ctx.z_tilde.detach()), p, step, scale)
            residuals.append(res)
            with torch.set_grad_enabled(track):
                z_new = attach_adjoint(z_star, ops, ctx, p, Hs) if track else z_star
                zdot = (z_new - z) / p.dt
                z = z_new
            _check(ops_d, z.detach(), zdot.detach(), rest_center, p, step)
            step += 1
        with torch.set_grad_enabled(track):
            x_q, F_q = frame_out(z)
        xs.append(x_q)
        Fs.append(F_q)
        zs.append(z.reshape(H, 12))
        zds.append(zdot.reshape(H, 12))
    return ReducedResult(torch.stack(xs), torch.stack(Fs), torch.stack(zs), torch.stack(zds),
                         residuals, p.dt, p.substeps)


def _check(ops, z: torch.Tensor, zdot: torch.Tensor, rest_center: torch.Tensor, p: ReducedParams, step: int) -> None:
    """Raise SimulationDiverged on NaN/inf, speed above ``max_speed`` or leaving ``sanity_box``."""
    if not bool(torch.isfinite(z).all()) or not bool(torch.isfinite(zdot).all()):
        raise SimulationDiverged(step, "NaN/inf in handle DoFs")
    v = ops.B @ zdot
    vmax = float(torch.linalg.vector_norm(v, dim=1).max())
    if vmax > p.max_speed:
        raise SimulationDiverged(step, f"cubature speed {vmax:.3g} m/s > max_speed {p.max_speed:g}")
    x = ops.X + ops.B @ z
    dmax = float(torch.linalg.vector_norm(x - rest_center, dim=1).max())
    if dmax > p.sanity_box:
        raise SimulationDiverged(step, f"point {dmax:.3g} m from the rest centroid > sanity_box {p.sanity_box:g}")


def rollout_positions(model, cubature_X, volumes, query_points, params: ReducedParams, n_frames: int,
                      **kwargs) -> np.ndarray:
    """Convenience: (T, P, 3) float32 numpy positions without gradients (datagen)."""
    with torch.no_grad():
        out = simulate_reduced(model, cubature_X, volumes, query_points, params, n_frames, adjoint=False, **kwargs)
    return out.positions.cpu().numpy().astype(np.float32)
