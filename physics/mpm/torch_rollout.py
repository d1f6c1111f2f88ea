"""Differentiable MPM rollout: a torch autograd Function around the taichi engine.

Forward runs the kernels without gradient bookkeeping and stores frame checkpoints; backward
re-simulates frame by frame and chains taichi reverse-mode adjoints (``engine.MPMEngine``).
Gradients flow to x0, v0, per-particle E and nu (hence to any torch parameterisation of them:
a global log-E scale, a region's E, a neural field) and to control trajectories. Kernel precision
is ``params.precision``; outputs take ``x0``'s dtype and device.
"""

from __future__ import annotations

import numpy as np
import torch

from physics.mpm.params import MPMParams
from physics.mpm.simulate import prepare


class _Rollout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, eng, x0, v0, E, nu, ctrl_vel):  # noqa: D401
        np64 = lambda t: t.detach().cpu().double().numpy()  # noqa: E731
        eng.E.from_numpy(np64(E).astype(eng.np_dtype))
        eng.nu.from_numpy(np64(nu).astype(eng.np_dtype))
        cv = np64(ctrl_vel) if ctrl_vel.numel() else None
        states = eng.forward(np64(x0), np64(v0), eng.n_frames, cv)
        ctx.eng, ctx.states, ctx.cv = eng, states, cv
        ctx.meta = (x0.dtype, x0.device, tuple(ctrl_vel.shape))
        xs = torch.from_numpy(np.stack([s[0] for s in states])).to(dtype=x0.dtype, device=x0.device)
        vs = torch.from_numpy(np.stack([s[1] for s in states])).to(dtype=x0.dtype, device=x0.device)
        return xs, vs

    @staticmethod
    def backward(ctx, gx, gv):
        dtype, device, cshape = ctx.meta
        shape = (len(ctx.states), ctx.eng.n, 3)
        gx = np.zeros(shape) if gx is None else gx.detach().cpu().double().numpy()
        gv = np.zeros(shape) if gv is None else gv.detach().cpu().double().numpy()
        g = ctx.eng.backward(ctx.states, gx, gv, ctx.cv)
        t = lambda a: torch.as_tensor(np.asarray(a, np.float64)).to(dtype=dtype, device=device)  # noqa: E731
        gc = t(g["ctrl"]).reshape(cshape) if ctx.cv is not None else None
        return None, t(g["x0"]), t(g["v0"]), t(g["E"]), t(g["nu"]), gc


def _per_particle(value, n: int, like: torch.Tensor, name: str) -> torch.Tensor:
    v = value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value, np.float64))
    v = v.to(dtype=like.dtype, device=like.device).reshape(-1)
    if v.numel() == 1:
        return v.expand(n).contiguous()
    if v.numel() != n:
        raise ValueError(f"{name} has {v.numel()} entries for {n} particles")
    return v


def rollout_mpm_torch(
    x0: torch.Tensor, v0, vol0, params: MPMParams, n_frames: int, fps: float,
    substeps: int | None = None, *, E=None, nu=None, controls=None,
    control_index: np.ndarray | None = None, control_radius: float | None = None,
    control_mode: str = "position", return_velocities: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Differentiable positions (T,N,3) (and velocities) of ``simulate_mpm`` with the same physics.

    ``E`` / ``nu`` (scalar or (N,) tensors) override ``params.E`` / ``params.nu``; ``controls``
    may be a tensor (T,C,3) of positions (velocities = diff * fps, differentiable) or per-frame
    velocities. Every input tensor that requires grad receives one. The substep count is fixed
    from ``params`` (not from E), so it does not change under optimisation unless given.
    Raises ``SimulationDiverged`` like ``simulate_mpm``.
    """
    from physics.mpm.engine import MPMEngine  # lazy: imports taichi

    if x0.dtype not in (torch.float32, torch.float64):
        raise TypeError("x0 must be float32 or float64")
    n = int(x0.shape[0])
    v0 = v0 if isinstance(v0, torch.Tensor) else torch.as_tensor(np.asarray(v0, np.float64))
    v0 = v0.to(dtype=x0.dtype, device=x0.device)
    v0 = v0.reshape(1, 3).expand(n, 3) if v0.numel() == 3 else v0.reshape(n, 3)
    E_t = _per_particle(params.E if E is None else E, n, x0, "E")
    nu_t = _per_particle(params.nu if nu is None else nu, n, x0, "nu")
    np_ctrl = None if controls is None else (controls.detach().cpu().double().numpy()
                                            if isinstance(controls, torch.Tensor) else np.asarray(controls))
    p = prepare(x0.detach().cpu().double().numpy(), v0.detach().cpu().double().numpy(), vol0, params,
                n_frames, fps, substeps, np_ctrl, control_index, control_radius, control_mode)
    eng = MPMEngine(params, n, p.substeps, fps, p.n_controls, requires_grad=True)
    eng.n_frames = int(n_frames)
    eng.set_material(p.E, p.nu, p.vol, p.mass)
    eng.set_control_index(p.ctrl_id)
    if controls is None:
        cv = torch.zeros(0, dtype=x0.dtype, device=x0.device)
    else:
        c = controls if isinstance(controls, torch.Tensor) else torch.as_tensor(np_ctrl)
        c = c.to(dtype=x0.dtype, device=x0.device)
        cv = (c[1:] - c[:-1]) * fps if control_mode == "position" else c[: n_frames - 1]
    xs, vs = _Rollout.apply(eng, x0, v0.contiguous(), E_t, nu_t, cv.contiguous())
    return (xs, vs) if return_velocities else xs
