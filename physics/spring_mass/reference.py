"""Plain-torch twin of the warp spring-mass engine: the independent reference for its gradients and speed.

Vectorised over springs with ``index_add`` and differentiated by torch autograd (no warp, no custom
adjoint), it integrates the same physics as ``physics.spring_mass.kernels``: Spring-Gaus eq. 9-10
with eq. 16-17 or the PhysTwin Hooke spring + dashpot, control springs (PhysTwin App. A) with the
control points interpolated inside each frame, gravity, semi-implicit Euler (eq. 12-13), PhysTwin
drag, and either ground model (Spring-Gaus eq. 14 or the PhysTwin impulse with time of impact).
Memory grows with frames x substeps (autograd keeps every substep) unless ``checkpoint_frames``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from physics.spring_mass.params import SpringMassParams, particle_masses


def _t(value, like: torch.Tensor) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.to(dtype=like.dtype)
    return torch.as_tensor(np.asarray(value, np.float64), dtype=like.dtype)


def _spring_force(x, v, i, j, rest, k, c, params: SpringMassParams) -> torch.Tensor:
    """Force on endpoint i of each spring (endpoint j receives the opposite)."""
    d = x[j] - x[i]
    length = torch.sqrt((d * d).sum(1) + 1e-24)
    n = d / length[:, None]
    dl = length - rest
    if params.p_k != 0.0:
        mag = k / rest * torch.sign(dl) * torch.abs(dl) ** (1.0 + params.p_k)
    else:
        mag = k / rest * dl
    dv = v[j] - v[i]
    if params.force_law == "spring_gaus":
        fd = (c / rest * (dv * n).sum(1))[:, None] * n
    elif params.dashpot_axial:
        fd = (c * (dv * n).sum(1))[:, None] * n
    else:
        fd = c[:, None] * dv
    return mag[:, None] * n + fd


def _ground(x, vn, xo, mu, e, params: SpringMassParams, dt: float) -> tuple[torch.Tensor, torch.Tensor]:
    h = params.ground_height
    if params.ground_model == "spring_gaus":
        below = xo[:, 2] < h
        vt = torch.sqrt(vn[:, 0] ** 2 + vn[:, 1] ** 2 + 1e-18)
        fac = torch.clamp(1.0 - mu * (-vn[:, 2]) / vt, min=0.0)
        hit = below & (vn[:, 2] < 0.0)
        vc = torch.stack([fac * vn[:, 0], fac * vn[:, 1], torch.zeros_like(fac)], 1)
        vn = torch.where(hit[:, None], vc, vn)
        xo = torch.where(below[:, None], torch.stack([xo[:, 0], xo[:, 1], torch.full_like(fac, h)], 1), xo)
        return xo, vn
    if params.ground_model == "phystwin":
        z = x[:, 2] - h
        hit = (z + vn[:, 2] * dt < 0.0) & (vn[:, 2] < -1e-4)
        vt = torch.sqrt(vn[:, 0] ** 2 + vn[:, 1] ** 2 + 1e-18)
        fac = torch.clamp(1.0 - mu * (1.0 + e) * (-vn[:, 2]) / vt, min=0.0)
        v1 = torch.stack([fac * vn[:, 0], fac * vn[:, 1], -e * vn[:, 2]], 1)
        safe_vz = torch.where(hit, vn[:, 2], -torch.ones_like(z))  # no 0/0 in the untaken branch
        toi = torch.clamp(-z / safe_vz, 0.0, dt)
        x1 = x + vn * toi[:, None] + v1 * (dt - toi)[:, None]
        return torch.where(hit[:, None], x1, xo), torch.where(hit[:, None], v1, vn)
    return xo, vn


def reference_rollout(
    x0: torch.Tensor, v0: torch.Tensor, edges: np.ndarray, rest: np.ndarray, params: SpringMassParams,
    n_frames: int, fps: float, substeps: int, k_spring: torch.Tensor, c_spring: torch.Tensor,
    friction: torch.Tensor, restitution: torch.Tensor, gravity=(0.0, 0.0, -9.81),
    controls: np.ndarray | None = None, control_edges: np.ndarray | None = None,
    control_rest: np.ndarray | None = None, checkpoint_frames: bool = False,
) -> torch.Tensor:
    """Positions (T, N, 3) of the same rollout as ``simulate`` / ``rollout_torch``, autograd-differentiable.

    ``k_spring`` / ``c_spring`` are per spring (already expanded, eq. 8's eta included), ``friction`` and
    ``restitution`` scalars (clamped as the engine clamps them); all may require grad, as may x0 / v0.
    ``checkpoint_frames`` recomputes each frame's substeps in the backward pass (torch.utils.checkpoint).
    """
    n = x0.shape[0]
    e = torch.as_tensor(np.asarray(edges, np.int64).reshape(-1, 2))
    i, j = e[:, 0], e[:, 1]
    rest_t = _t(np.asarray(rest, np.float64).reshape(-1), x0)
    inv_m = 1.0 / _t(particle_masses(params, n), x0)
    g = _t(np.asarray(gravity, np.float64), x0)
    mu = torch.clamp(_t(friction, x0).reshape(()), min=0.0)
    el = torch.clamp(_t(restitution, x0).reshape(()), 0.0, 1.0)
    dt = 1.0 / (fps * substeps)
    damp = math.exp(-params.drag * dt)
    x, v = x0, _t(v0, x0).expand(n, 3)
    ctrl = None
    if controls is not None and control_edges is not None and len(control_edges):
        ce = torch.as_tensor(np.asarray(control_edges, np.int64).reshape(-1, 2))
        ctrl = _t(np.asarray(controls, np.float64), x0)
        c_rest = (torch.linalg.norm(x0.detach()[ce[:, 1]] - ctrl[0][ce[:, 0]], dim=1) if control_rest is None
                  else _t(np.asarray(control_rest, np.float64).reshape(-1), x0))
    def frame(x, v, k, c, mu, el, t: int):
        for s in range(substeps):
            f = _spring_force(x, v, i, j, rest_t, k, c, params)
            force = torch.zeros_like(x).index_add(0, i, f).index_add(0, j, -f)
            if ctrl is not None:
                a = (s + 1) / substeps
                cp = ctrl[t][ce[:, 0]] * (1.0 - a) + ctrl[t + 1][ce[:, 0]] * a
                d = cp - x[ce[:, 1]]
                length = torch.sqrt((d * d).sum(1) + 1e-24)
                fc = (params.control_stiffness * (length - c_rest) / length)[:, None] * d
                force = force.index_add(0, ce[:, 1], fc)
            vn = (v + dt * (force * inv_m[:, None] + g)) * damp
            xo = x + vn * dt
            x, v = _ground(x, vn, xo, mu, el, params, dt)
        return x, v

    out = [x0]
    for t in range(n_frames - 1):
        if checkpoint_frames and torch.is_grad_enabled():  # memory of one frame's substeps, not of all of them
            from torch.utils.checkpoint import checkpoint

            x, v = checkpoint(frame, x, v, k_spring, c_spring, mu, el, t, use_reentrant=False)
        else:
            x, v = frame(x, v, k_spring, c_spring, mu, el, t)
        out.append(x)
    return torch.stack(out)
