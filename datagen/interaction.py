"""Interaction scenarios: control points on the surface driven along smooth sampled trajectories.

Kinds (PhysTwin / PhysInteract-style manipulations): ``lift`` (grasp the top and lift), ``drag``
(grasp a side and pull along the ground), ``poke`` (press into the surface and release) and
``stretch`` (two hands pull opposite sides apart). Trajectories use the minimum-jerk profile
s(u) = 10u^3 - 15u^4 + 6u^5 over a motion window, then hold.
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


def plan_interaction(kind: str, surface: np.ndarray, normals: np.ndarray, n_frames: int,
                     displacement: float, rng: np.random.Generator, start_frame: int = 1,
                     motion_fraction: float = 0.7) -> dict[str, Any]:
    """Control trajectories (T, C, 3) for one interaction ``kind`` on a posed surface sample."""
    t = np.arange(n_frames, dtype=np.float64)
    end = start_frame + max(2.0, motion_fraction * (n_frames - 1 - start_frame))
    s = min_jerk((t - start_frame) / (end - start_frame))[:, None]
    centre = surface.mean(0)
    if kind == "lift":
        top = np.argsort(surface[:, 2])[-max(1, len(surface) // 20):]
        i = int(rng.choice(top))
        starts = surface[[i]]
        deltas = [np.array([0.0, 0.0, displacement]) + 0.1 * displacement * _horizontal(rng)]
        prof = [s]
    elif kind == "drag":
        d = _horizontal(rng)
        mid = np.abs(surface[:, 2] - centre[2]) < 0.25 * np.ptp(surface[:, 2]) + 1e-9
        cand = np.flatnonzero(mid)
        i = int(cand[np.argmax(surface[cand] @ d)])  # the side facing the pull
        starts = surface[[i]]
        deltas = [d * displacement + np.array([0.0, 0.0, 0.05 * displacement])]
        prof = [s]
    elif kind == "poke":
        facing = np.flatnonzero(normals[:, 2] > 0.3)
        i = int(rng.choice(facing if facing.size else np.arange(len(surface))))
        starts = surface[[i]]
        deltas = [-normals[i] * 0.5 * displacement]
        prof = [np.sin(np.pi * min_jerk((t - start_frame) / (end - start_frame)))[:, None]]  # in, then out
    elif kind == "stretch":
        d = _horizontal(rng)
        proj = (surface - centre) @ d
        i, j = int(np.argmax(proj)), int(np.argmin(proj))
        starts = surface[[i, j]]
        deltas = [d * displacement / 2, -d * displacement / 2]
        prof = [s, s]
    else:
        raise ValueError(f"unknown interaction kind {kind!r} (use one of {KINDS})")
    controls = np.stack([st + p * dl for st, p, dl in zip(starts, prof, deltas)], axis=1)
    return {"kind": kind, "controls": controls.astype(np.float32), "displacement_m": float(displacement),
            "start_frame": int(start_frame), "end_frame": float(end), "profile": "minimum-jerk"}


def held_out_kind(kind: str, kinds: list[str], rng: np.random.Generator) -> str:
    """A different interaction kind for the transfer track (the same kind if only one is allowed)."""
    others = [k for k in kinds if k != kind] or [kind]
    return str(rng.choice(others))
