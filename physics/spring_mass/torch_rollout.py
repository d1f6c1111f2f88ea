"""Differentiable rollout: a torch autograd Function around the warp engine.

Forward runs the warp kernels without a tape and stores the frame states, and, when the rollout will be
differentiated, the substep states of its last frames within ``Engine.keep_bytes``; backward re-simulates
any other frame and chains the adjoints frame by frame (per-frame checkpointing, exact gradients, memory
O(T N + substeps N) beyond the kept states; the engine's hand-written adjoint, physics/spring_mass/adjoint.py). Gradients flow to x0, v0,
per-spring stiffness (so to global / per-anchor values and to eq. 8's kappa through torch),
damping, friction and restitution. Precision follows ``x0.dtype`` (float32 or float64).
"""

from __future__ import annotations

import numpy as np
import torch

from physics.spring_mass.params import SpringMassParams, spring_stiffness, stiffness_kind
from physics.spring_mass.simulate import prepare


class _Rollout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, eng, keep, x0, v0, k, c, friction, restitution):  # noqa: D401
        eng.set_params(k.detach().cpu().double().numpy(), c.detach().cpu().double().numpy(),
                       float(friction), float(restitution))
        xs, vs = eng.forward(x0.detach().cpu().double().numpy(), v0.detach().cpu().double().numpy(), keep=keep)
        ctx.eng, ctx.xs, ctx.vs = eng, xs, vs
        ctx.meta = (x0.dtype, x0.device)
        return (torch.from_numpy(xs).to(dtype=x0.dtype, device=x0.device),
                torch.from_numpy(vs).to(dtype=x0.dtype, device=x0.device))

    @staticmethod
    def backward(ctx, gx, gv):
        dtype, device = ctx.meta
        gx = np.zeros(ctx.xs.shape) if gx is None else gx.detach().cpu().double().numpy()
        gv = np.zeros(ctx.vs.shape) if gv is None else gv.detach().cpu().double().numpy()
        g = ctx.eng.backward(ctx.xs, ctx.vs, gx, gv)
        t = lambda a: torch.as_tensor(np.asarray(a, np.float64)).to(dtype=dtype, device=device)  # noqa: E731
        return None, None, t(g["x0"]), t(g["v0"]), t(g["k"]), t(g["c"]), t(g["friction"]), t(g["restitution"])


def _as_t(value, like: torch.Tensor) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.to(dtype=like.dtype, device=like.device)
    return torch.as_tensor(np.asarray(value, np.float64), dtype=like.dtype, device=like.device)


def spring_stiffness_torch(
    stiffness: torch.Tensor, params: SpringMassParams, edges: np.ndarray, n: int,
    soft_kappa: torch.Tensor | None = None,
) -> torch.Tensor:
    """Torch version of ``params.spring_stiffness``: expand + eq. 8 eta(kappa) (differentiable)."""
    e = torch.as_tensor(np.asarray(edges, np.int64), device=stiffness.device)
    kind = stiffness_kind(tuple(stiffness.shape), n, e.shape[0], params.stiffness_mode)
    if kind == "global":
        ks = stiffness.reshape(-1)[0].expand(e.shape[0])
    elif kind == "anchor":
        k = stiffness.reshape(-1)
        ks = 0.5 * (k[e[:, 0]] + k[e[:, 1]])
    else:
        ks = stiffness.reshape(-1)
    kappa = soft_kappa if soft_kappa is not None else params.soft_kappa
    if params.force_law == "spring_gaus" and kappa is not None:
        if params.spring_rank is None:
            raise ValueError("soft_kappa needs params.spring_rank")
        r = torch.as_tensor(np.asarray(params.spring_rank, np.float64), dtype=ks.dtype, device=ks.device)
        sp = torch.nn.functional.softplus(_as_t(kappa, ks))
        eta = torch.clamp(2.0 - torch.exp(sp * (r - params.soft_nc)), 0.0, 1.0)
        ks = ks * torch.where(r <= params.soft_nc, torch.ones_like(eta), eta)
    return ks


def rollout_torch(
    x0: torch.Tensor, v0: torch.Tensor, edges: np.ndarray, rest: np.ndarray, params: SpringMassParams,
    n_frames: int, fps: float, substeps: int, gravity=(0.0, 0.0, -9.81),
    controls: np.ndarray | None = None, control_edges: np.ndarray | None = None, *,
    stiffness: torch.Tensor | None = None, damping: torch.Tensor | None = None,
    friction: torch.Tensor | None = None, restitution: torch.Tensor | None = None,
    soft_kappa: torch.Tensor | None = None, return_velocities: bool = False, device: str = "cpu",
    control_rest: np.ndarray | None = None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Differentiable positions (T,N,3) (and velocities) of ``simulate`` with the same physics.

    Tensors passed as ``stiffness`` (scalar, (N,) or (S,)), ``damping`` (scalar or (S,)),
    ``friction``, ``restitution``, ``soft_kappa`` override the ``params`` fields and receive
    gradients, as do ``x0`` and ``v0`` ((N,3) or (3,)) when they require grad. Friction and
    restitution gradients hold for a fixed contact set (the contact test itself is a step).
    Raises ``SimulationDiverged`` like ``simulate``. ``control_rest`` fixes the control-spring rest
    lengths (default: frame-0 distances), e.g. for chunked rollouts (``physics.spring_mass.controls``).
    """
    from physics.spring_mass.engine import Engine  # lazy: imports warp

    if x0.dtype not in (torch.float32, torch.float64):
        raise TypeError("x0 must be float32 or float64")
    precision = "float64" if x0.dtype == torch.float64 else "float32"
    n = int(x0.shape[0])
    v0 = _as_t(v0, x0)
    v0 = v0.reshape(1, 3).expand(n, 3) if v0.numel() == 3 else v0.reshape(n, 3)
    xn, _, e_np, r_np, _ = prepare(x0.detach().cpu().double().numpy(), v0.detach().cpu().double().numpy(),
                                   edges, rest, params, n_frames, fps, substeps, control_edges)
    eng = Engine(xn, e_np, r_np, params, n_frames, fps, substeps, gravity, controls, control_edges,
                 device=device, precision=precision, control_rest=control_rest)
    s = e_np.shape[0]
    if stiffness is None and soft_kappa is None:
        k = _as_t(spring_stiffness(params, e_np, n), x0)
    else:
        stiff = _as_t(params.stiffness if stiffness is None else stiffness, x0)
        k = spring_stiffness_torch(stiff, params, e_np, n, soft_kappa)
    c = _as_t(params.damping if damping is None else damping, x0).reshape(-1)
    c = c.expand(s) if c.numel() == 1 else c
    mu = _as_t(params.friction if friction is None else friction, x0).reshape(())
    e = _as_t(params.restitution if restitution is None else restitution, x0).reshape(())
    # a rollout that will be differentiated keeps its substep states for the backward (Engine.forward's keep)
    keep = torch.is_grad_enabled() and any(a.requires_grad for a in (x0, v0, k, c, mu, e))
    xs, vs = _Rollout.apply(eng, keep, x0, v0.contiguous(), k.contiguous(), c.contiguous(), mu, e)
    return (xs, vs) if return_velocities else xs
