"""Interaction scenarios: control points on the surface driven along smooth sampled trajectories.

Kinds (PhysTwin / PhysInteract-style manipulations): ``lift`` (grasp the top and lift), ``drag``
(grasp a side and pull along the ground), ``poke`` (press into the surface and release) and
``stretch`` (two hands pull opposite sides apart). Trajectories use the minimum-jerk profile
s(u) = 10u^3 - 15u^4 + 6u^5 on each of two legs: one over the observed window, one through the future
window (``plan_interaction``), so the future frames carry motion that depends on the body's physics.
"""
from __future__ import annotations

from typing import Any

import numpy as np

KINDS = ("lift", "drag", "poke", "stretch")


def min_jerk(u: np.ndarray) -> np.ndarray:
    """Minimum-jerk blend s(u) on [0, 1] (zero velocity and acceleration at both ends)."""
    u = np.clip(u, 0.0, 1.0)
    return u**3 * (10.0 - 15.0 * u + 6.0 * u * u)


def _horizontal(rng: np.random.Generator) -> np.ndarray:
    a = rng.uniform(0.0, 2.0 * np.pi)
    return np.array([np.cos(a), np.sin(a), 0.0])


def _legs(t: np.ndarray, a: float, b: float, c: float) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-jerk profiles of the two legs: over [a, b] (observed window) and [b, c] (future window)."""
    return min_jerk((t - a) / max(b - a, 1e-9))[:, None], min_jerk((t - b) / max(c - b, 1e-9))[:, None]


def _rotate_z(v: np.ndarray, ang: float) -> np.ndarray:
    c, s = np.cos(ang), np.sin(ang)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1], v[2]])


def plan_interaction(kind: str, surface: np.ndarray, normals: np.ndarray, n_frames: int,
                     displacement: float, rng: np.random.Generator, n_observed: int | None = None,
                     start_frame: int = 1) -> dict[str, Any]:
    """Control trajectories (T, C, 3) for one interaction ``kind`` on a posed surface sample, in two legs.

    Leg 1 runs over the observed window (frames ``start_frame`` .. ``n_observed - 1``); leg 2 starts at the
    last observed frame and keeps driving through the future window until the second-to-last frame, so the
    future is motion the controls cause and the body's physics shapes (lag, sway, wobble, recoil), not an
    object at rest. The controls of both legs are known to methods that take them.

    lift: up, then a swing of 1.5 displacements sideways (the body dangles); drag: pull along the ground, then
    1.5 displacements after a turn of 60-120 degrees; poke: press and release, then press deeper and push
    1.5 displacements sideways (the body slides or tips); stretch: pull two sides apart, then twist both
    handles by 45-90 degrees about the vertical while lifting them half a displacement.
    """
    t = np.arange(n_frames, dtype=np.float64)
    n_obs = int(n_observed if n_observed is not None else round(0.7 * n_frames))
    b = float(max(start_frame + 1, n_obs - 1))
    c = float(max(b + 1, n_frames - 2))
    s1, s2 = _legs(t, float(start_frame), b, c)
    centre = surface.mean(0)
    if kind == "lift":
        top = np.argsort(surface[:, 2])[-max(1, len(surface) // 20):]
        i = int(rng.choice(top))
        starts = surface[[i]]
        d1 = np.array([0.0, 0.0, displacement]) + 0.1 * displacement * _horizontal(rng)
        d2 = 1.5 * displacement * _horizontal(rng) + np.array([0.0, 0.0, 0.3 * displacement])
        offsets = [s1 * d1 + s2 * d2]
    elif kind == "drag":
        d = _horizontal(rng)
        mid = np.abs(surface[:, 2] - centre[2]) < 0.25 * np.ptp(surface[:, 2]) + 1e-9
        cand = np.flatnonzero(mid)
        i = int(cand[np.argmax(surface[cand] @ d)])  # the side facing the pull
        starts = surface[[i]]
        d1 = d * displacement + np.array([0.0, 0.0, 0.05 * displacement])
        d2 = _rotate_z(d, float(rng.choice([-1.0, 1.0]) * rng.uniform(np.pi / 3, 2 * np.pi / 3))) * 1.5 * displacement
        offsets = [s1 * d1 + s2 * d2]
    elif kind == "poke":
        facing = np.flatnonzero(normals[:, 2] > 0.3)
        i = int(rng.choice(facing if facing.size else np.arange(len(surface))))
        starts = surface[[i]]
        press = -normals[i] * 0.5 * displacement
        push = 1.5 * displacement * _horizontal(rng)  # leg 2: press again and push sideways (the body slides / tips)
        offsets = [np.sin(np.pi * s1) * press + s2 * (push + 1.5 * press)]
    elif kind == "stretch":
        d = _horizontal(rng)
        proj = (surface - centre) @ d
        i, j = int(np.argmax(proj)), int(np.argmin(proj))
        starts = surface[[i, j]]
        ang = float(rng.choice([-1.0, 1.0]) * rng.uniform(np.pi / 4, np.pi / 2))
        offsets = []
        for st, sign in ((surface[i], 1.0), (surface[j], -1.0)):
            p1 = st + s1 * (sign * d * displacement / 2)  # leg 1: apart
            arm = p1[-1] - centre  # the handle's arm about the vertical through the centre at the end of leg 1
            p2 = centre + _rotate_z(arm, ang) + np.array([0.0, 0.0, 0.5 * displacement])  # leg 2: twisted and lifted
            offsets.append(p1 - st + s2 * (p2 - p1[-1]))
    else:
        raise ValueError(f"unknown interaction kind {kind!r} (use one of {KINDS})")
    controls = np.stack([st + off for st, off in zip(starts, offsets)], axis=1)
    return {"kind": kind, "controls": controls.astype(np.float32), "displacement_m": float(displacement),
            "start_frame": int(start_frame), "legs": [[float(start_frame), b], [b, c]], "profile": "minimum-jerk",
            "design": ("two legs: leg 1 over the observed window, leg 2 from the last observed frame through the "
                       "future window (the controls are known to methods that take them)")}


def held_out_kind(kind: str, kinds: list[str], rng: np.random.Generator) -> str:
    """A different interaction kind for the transfer track (the same kind if only one is allowed)."""
    others = [k for k in kinds if k != kind] or [kind]
    return str(rng.choice(others))
