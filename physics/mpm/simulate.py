"""Forward entry point ``simulate_mpm`` (numpy in, numpy out) and input preparation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physics.mpm.params import (
    MPMParams, MPMResult, control_assignment, control_velocities, grid_geometry, per_particle,
    recommend_substeps, validate,
)


@dataclass
class Prepared:
    """Validated inputs shared by ``simulate_mpm`` and ``rollout_mpm_torch``."""

    x0: np.ndarray  # (N, 3) float64
    v0: np.ndarray  # (N, 3)
    vol: np.ndarray  # (N,) m^3
    mass: np.ndarray  # (N,) kg
    E: np.ndarray  # (N,) Pa
    nu: np.ndarray  # (N,)
    substeps: int
    ctrl_id: np.ndarray  # (N,) int32
    ctrl_vel: np.ndarray | None  # (T-1, C, 3) m/s
    n_controls: int


def prepare(
    x0: np.ndarray, v0: np.ndarray, vol0: np.ndarray, params: MPMParams, n_frames: int, fps: float,
    substeps: int | None, controls: np.ndarray | None, control_index: np.ndarray | None,
    control_radius: float | None, control_mode: str,
) -> Prepared:
    """Broadcast and check inputs, pick substeps, attach controlled particles."""
    x0 = np.asarray(x0, np.float64).reshape(-1, 3)
    n = x0.shape[0]
    if n == 0 or n_frames < 1 or fps <= 0:
        raise ValueError("need particles, n_frames >= 1 and fps > 0")
    v0 = np.broadcast_to(np.asarray(v0, np.float64), x0.shape).copy()
    vol = per_particle(vol0, n, "vol0")
    if np.any(vol <= 0):
        raise ValueError("particle volumes must be positive")
    validate(params, x0)
    grid_geometry(params)
    E, nu = per_particle(params.E, n, "E"), per_particle(params.nu, n, "nu")
    mass = per_particle(params.density, n, "density") * vol
    s = substeps or params.substeps or recommend_substeps(params, fps, n)
    ctrl_vel, c = None, 0
    if controls is not None:
        ctrl_vel = control_velocities(controls, n_frames, fps, control_mode)
        c = ctrl_vel.shape[1]
    c0 = np.asarray(controls, np.float64)[0] if controls is not None and control_mode == "position" else None
    ctrl_id = control_assignment(x0, c0, c, control_index, control_radius)
    return Prepared(x0, v0, vol, mass, E, nu, int(s), ctrl_id, ctrl_vel, c)


def simulate_mpm(
    x0: np.ndarray, v0: np.ndarray, vol0: np.ndarray | float, params: MPMParams, n_frames: int,
    fps: float, substeps: int | None = None, controls: np.ndarray | None = None,
    control_index: np.ndarray | None = None, control_radius: float | None = None,
    control_mode: str = "position", return_F: bool = False,
) -> MPMResult:
    """Roll MLS-MPM forward (Hu et al. 2018; fixed-corotated, PhysInteract eq. 1).

    x0 (N,3) m, v0 (N,3) or (3,) m/s, vol0 (N,) or scalar rest volume (m^3). ``controls`` are
    (T,C,3) control-point positions (``control_mode="position"``; a particle follows
    c(t) - c(0), with the velocity (c[f+1] - c[f]) fps held during frame f) or per-frame velocities
    (``"velocity"``, (T-1,C,3)); particles are attached by ``control_index`` (N,) (-1 free) or by
    ``control_radius`` around c(0). Controlled particles scatter their prescribed momentum in P2G,
    so they push / pull their neighbours. Raises ``SimulationDiverged`` on NaN, speed above
    ``params.max_speed`` or a particle leaving the domain; deterministic when
    ``params.deterministic``.
    """
    from physics.mpm.engine import MPMEngine  # lazy: imports taichi

    p = prepare(x0, v0, vol0, params, n_frames, fps, substeps, controls, control_index,
                control_radius, control_mode)
    eng = MPMEngine(params, p.x0.shape[0], p.substeps, fps, p.n_controls)
    eng.set_material(p.E, p.nu, p.vol, p.mass)
    eng.set_control_index(p.ctrl_id)
    states = eng.forward(p.x0, p.v0, n_frames, p.ctrl_vel)
    return MPMResult(
        positions=np.stack([s[0] for s in states]).astype(np.float32),
        velocities=np.stack([s[1] for s in states]).astype(np.float32),
        F=np.stack([s[3] for s in states]).astype(np.float32) if return_F else None,
        dt=eng.dt, substeps=p.substeps, dx=eng.dx)
