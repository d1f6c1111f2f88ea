"""``rigid``: the object moves on as one rigid body (no deformation): the baseline that tells whether
deformable physics buys anything over rigid extrapolation.

From the observed 3D surface tracks it fits, per observed frame, the best rigid pose of the last observed
shape (Kabsch), then the velocity and spin at the end of the observed window: a least-squares ballistic
fit (gravity known) of the centroid over the last ``fit_frames`` frames, and the mean angular velocity of
their relative rotations. The future is integrated under gravity with ``substeps`` per frame and a ground
bounce at z = ground height: when the lowest point would go below it, the body is lifted back onto it, the
centroid's normal velocity is reversed times ``restitution``, its tangential velocity and the spin are
scaled by ``1 - friction``; a body resting on the ground stays there. Controls are not used (like
``static``): it is the rigid-extrapolation bound, not a manipulation model.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from methods.base import Method, Observation, Prediction, Query
from methods.baselines.spec import RIGID, RigidConfig
from methods.rendering import isotropic_scales, render_prediction
from physics.rigid_fit import rotation_from_covariance

GRAVITY = np.array([0.0, 0.0, -9.81])


def _rotvec(R: np.ndarray) -> np.ndarray:
    """Axis-angle vector of a rotation matrix."""
    c = float(np.clip((np.trace(R) - 1.0) / 2.0, -1.0, 1.0))
    ang = math.acos(c)
    if ang < 1e-9:
        return np.zeros(3)
    w = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]])
    s = math.sin(ang)
    return w * (ang / (2.0 * s)) if s > 1e-9 else np.zeros(3)


def _rotmat(v: np.ndarray) -> np.ndarray:
    """Rodrigues: the rotation by |v| about v / |v|."""
    ang = float(np.linalg.norm(v))
    if ang < 1e-12:
        return np.eye(3)
    k = v / ang
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(ang) * K + (1.0 - math.cos(ang)) * K @ K


def fit_rigid_motion(tracks: np.ndarray, fps: float, fit_frames: int = 4) -> dict[str, np.ndarray]:
    """Centroid c, velocity v, angular velocity w (rad/s) at the last observed frame of tracks (T_obs, M, 3)."""
    tr = np.asarray(tracks, np.float64)
    last = tr[-1]
    c_last = last.mean(0)
    k = int(min(max(2, fit_frames), tr.shape[0]))
    cs = tr[-k:].mean(1)  # centroids of the last k frames
    t = (np.arange(k) - (k - 1)) / fps  # times relative to the last frame (<= 0)
    # c(t) = c0 + v t + g t^2 / 2: least squares for (c0, v) per axis, gravity known
    A = np.stack([np.ones(k), t], axis=1)
    rhs = cs - 0.5 * np.outer(t * t, GRAVITY)
    sol, *_ = np.linalg.lstsq(A, rhs, rcond=None)
    v = sol[1]
    # spin: mean axis-angle rate of the rotations between consecutive fitted frames
    rel = last - c_last
    rots = [rotation_from_covariance((tr[i] - tr[i].mean(0)).T @ rel) for i in range(tr.shape[0] - k, tr.shape[0])]
    ws = [_rotvec(rots[i + 1] @ rots[i].T) * fps for i in range(len(rots) - 1)]
    w = np.mean(ws, axis=0) if ws else np.zeros(3)
    return {"centroid": c_last, "velocity": v, "omega": w, "shape": rel}


def integrate_rigid(state: dict[str, np.ndarray], n_future: int, fps: float, ground: float, restitution: float,
                    friction: float, substeps: int = 10) -> np.ndarray:
    """(n_future, M, 3) rigid positions after the last observed frame (frame 1 .. n_future after it)."""
    c, v, w = state["centroid"].copy(), state["velocity"].copy(), state["omega"].copy()
    R = np.eye(3)
    shape = state["shape"]
    dt = 1.0 / (fps * substeps)
    out = []
    for _ in range(n_future):
        for _ in range(substeps):
            v = v + dt * GRAVITY
            c = c + dt * v
            R = _rotmat(w * dt) @ R
            low = float((shape @ R.T + c)[:, 2].min())
            if low < ground:  # contact: lift onto the ground, bounce the normal velocity, rub off the rest
                c[2] += ground - low
                if v[2] < 0.0:
                    v[2] = -restitution * v[2]
                    if v[2] < 2.0 * 9.81 * dt:  # too slow to leave the ground again: resting contact
                        v[2] = 0.0
                    v[:2] *= 1.0 - friction
                    w *= 1.0 - friction
        out.append(shape @ R.T + c)
    return np.asarray(out, np.float32)


class RigidBaseline(Method):
    """Rigid extrapolation of the observed tracks under gravity with a ground bounce (no deformation)."""

    card = RIGID
    Config = RigidConfig

    def fit(self, obs: Observation) -> Any:
        assert obs.tracks is not None and obs.canonical is not None
        state = fit_rigid_motion(obs.tracks, obs.fps, int(self.cfg["fit_frames"]))
        ground = float((obs.world.get("ground") or {}).get("height", 0.0))
        return {"tracks": obs.tracks, "state": state, "canonical": isotropic_scales(obs.canonical),
                "background": obs.background, "ground": ground}

    def predict(self, asset: Any, query: Query) -> Prediction:
        tr = asset["tracks"]
        n_obs = tr.shape[0]
        future = integrate_rigid(asset["state"], max(0, query.n_frames - n_obs), query.fps, asset["ground"],
                                 float(self.cfg["restitution"]), float(self.cfg["friction"]), int(self.cfg["substeps"]))
        pts = np.concatenate([tr[: min(n_obs, query.n_frames)], future]) if len(future) else tr[: query.n_frames]
        return render_prediction(pts, asset["canonical"], query, asset["background"])
