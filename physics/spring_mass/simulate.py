"""Forward simulation entry point (numpy in, numpy out)."""

from __future__ import annotations

import warnings

import numpy as np

from physics.spring_mass.params import (
    SpringMassParams, SpringMassResult, spring_damping, spring_stiffness, stable_dt,
)


class StabilityWarning(UserWarning):
    """dt exceeds the estimated explicit-integration stability limit."""


def prepare(
    x0: np.ndarray, v0: np.ndarray, edges: np.ndarray, rest: np.ndarray, params: SpringMassParams,
    n_frames: int, fps: float, substeps: int, control_edges: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Validate inputs; returns x0 (N,3), v0 (N,3), edges (S,2) int32, rest (S,) f64, stable dt."""
    x0 = np.asarray(x0, dtype=np.float64).reshape(-1, 3)
    v0 = np.asarray(v0, dtype=np.float64)
    v0 = np.broadcast_to(v0, x0.shape).copy()
    edges = np.asarray(edges, dtype=np.int32).reshape(-1, 2)
    rest = np.asarray(rest, dtype=np.float64).reshape(-1)
    if edges.size and (edges.min() < 0 or edges.max() >= x0.shape[0]):
        raise ValueError("spring indices out of range")
    if np.any(rest <= 0):
        raise ValueError("rest lengths must be positive")
    if n_frames < 1 or substeps < 1 or fps <= 0:
        raise ValueError("need n_frames >= 1, substeps >= 1, fps > 0")
    h = stable_dt(edges, rest, params, x0.shape[0], control_edges)
    dt = 1.0 / (fps * substeps)
    if dt > h:
        need = int(np.ceil(1.0 / (fps * h)))
        warnings.warn(
            f"dt={dt:.3g}s exceeds the estimated stability limit {h:.3g}s "
            f"(use substeps >= {need} at {fps:g} fps); the rollout may diverge",
            StabilityWarning, stacklevel=3)
    return x0, v0, edges, rest, h


def simulate(
    x0: np.ndarray, v0: np.ndarray, edges: np.ndarray, rest: np.ndarray, params: SpringMassParams,
    n_frames: int, fps: float, substeps: int, gravity=(0.0, 0.0, -9.81),
    controls: np.ndarray | None = None, control_edges: np.ndarray | None = None,
    device: str = "cpu", precision: str = "float32", control_rest: np.ndarray | None = None,
) -> SpringMassResult:
    """Roll the spring-mass system forward (Spring-Gaus eq. 7-14 / PhysTwin App. A).

    Semi-implicit Euler with ``substeps`` per frame (dt = 1 / (fps * substeps)); control points
    (T,C,3) are linearly interpolated inside each frame. Deterministic (no atomics). Warns
    (``StabilityWarning``) when dt exceeds ``stable_dt``; raises ``SimulationDiverged`` on
    NaN/inf, speed > ``params.max_speed`` or leaving ``params.sanity_box``.
    ``precision="float64"`` runs the float64 kernels (outputs are still float32). Control springs rest
    at their frame-0 length unless ``control_rest`` (one per control edge) is given.
    """
    from physics.spring_mass.engine import Engine  # lazy: imports warp

    x0, v0, edges, rest, h = prepare(x0, v0, edges, rest, params, n_frames, fps, substeps, control_edges)
    eng = Engine(x0, edges, rest, params, n_frames, fps, substeps, gravity, controls, control_edges,
                 device=device, precision=precision, control_rest=control_rest)
    ks = spring_stiffness(params, edges, x0.shape[0])
    eng.set_params(ks, spring_damping(params, edges.shape[0]), params.friction, params.restitution)
    xs, vs = eng.forward(x0, v0)
    return SpringMassResult(
        positions=xs.astype(np.float32), velocities=vs.astype(np.float32),
        energy=eng.energy(xs, vs, ks), dt=eng.dt, substeps=int(substeps), stable_dt=h)
