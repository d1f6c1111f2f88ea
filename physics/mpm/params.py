"""MLS-MPM parameters, results and numpy-side helpers (grid geometry, Lamé, substeps, controls).

Units: SI (metres, seconds, kg, Pa). The background grid is uniform with spacing
``dx = max(hi - lo) / n_grid``; node (i, j, k) sits at ``lo + (i, j, k) dx``. Nodes closer than
``boundary_cells`` to a wall get a frictionless "separate" wall condition (Hu et al. 2018), so
particles are stopped before they can leave; a particle that still leaves the valid region
``[lo + dx, lo + (n - 2) dx]`` raises ``SimulationDiverged``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Ground = Literal["sticky", "slip", "separate", "none"]


@dataclass
class MPMParams:
    """Physical and numerical parameters of ``simulate_mpm`` / ``rollout_mpm_torch``."""

    n_grid: int = 64
    """Grid cells along the longest side of the domain (dx = longest side / n_grid)."""
    domain_lo: tuple[float, float, float] = (-1.0, -1.0, -0.25)
    """Lower corner of the simulation domain (m)."""
    domain_hi: tuple[float, float, float] = (1.0, 1.0, 1.75)
    """Upper corner of the simulation domain (m)."""
    density: float | np.ndarray = 1000.0
    """rho in kg/m^3, scalar or per particle (N,); particle mass = rho * vol0."""
    E: float | np.ndarray = 1e5
    """Young's modulus (Pa), scalar or per particle (N,) (PhysInteract material field)."""
    nu: float | np.ndarray = 0.3
    """Poisson's ratio in [0, 0.5), scalar or per particle (N,)."""
    gravity: tuple[float, float, float] = (0.0, 0.0, -9.81)
    """m/s^2, added on the grid (CONVENTIONS: z up)."""
    ground: Ground = "separate"
    """Collider on grid nodes with z <= ground_height: "sticky" v = 0; "slip" v -= (v.n) n;
    "separate" only if v.n < 0: remove v.n and apply Coulomb friction ``friction``; "none"."""
    friction: float = 0.5
    """Coulomb mu of the "separate" ground: |v_t| <- max(0, |v_t| + mu v_n)."""
    ground_height: float = 0.0
    """Ground plane z (m); must be >= domain_lo z + boundary_cells * dx."""
    substeps: int | None = None
    """Substeps per frame; None = ``recommend_substeps`` (CFL on the elastic wave speed)."""
    cfl: float = 0.5
    """Courant number used by ``recommend_substeps``: dt <= cfl * dx / c_p."""
    boundary_cells: int = 3
    """Wall layer thickness in cells (velocity into the wall is zeroed there)."""
    max_speed: float = 50.0
    """Any particle faster than this (m/s) raises SimulationDiverged."""
    precision: Literal["float32", "float64"] = "float32"
    """Taichi kernel precision (outputs are float32 either way)."""
    deterministic: bool = True
    """Order-fixed scatter loops (P2G; G2P in backward) so results are bit-reproducible on any thread count.
    False runs them in parallel with float atomics (faster on many cores, order-dependent)."""
    p2g: Literal["auto", "colored", "serial"] = "auto"
    """Deterministic forward-only rollouts: "colored" = the parallel cell-sorted, 27-colour scatter
    (physics/mpm/colored_p2g.py); "serial" = one thread in particle order; "auto" = colored on CUDA, serial on
    the CPU. The two agree to float rounding, not bit for bit (a dataset records which one made it).
    Rollouts with gradients always use the serial scatter."""


@dataclass
class MPMResult:
    """Rollout output. Frame t is time t / fps; frame 0 is the initial state."""

    positions: np.ndarray  # (T, N, 3) float32
    velocities: np.ndarray  # (T, N, 3) float32
    F: np.ndarray | None = None  # (T, N, 3, 3) float32 deformation gradients if requested
    dt: float = 0.0
    substeps: int = 0
    dx: float = 0.0


def grid_geometry(params: MPMParams) -> tuple[np.ndarray, float, tuple[int, int, int]]:
    """(lo (3,) float64, dx, grid shape (nx, ny, nz)) of the background grid."""
    lo = np.asarray(params.domain_lo, np.float64)
    hi = np.asarray(params.domain_hi, np.float64)
    ext = hi - lo
    if np.any(ext <= 0):
        raise ValueError("domain_hi must exceed domain_lo on every axis")
    if params.n_grid < 8:
        raise ValueError("n_grid must be >= 8")
    dx = float(ext.max() / params.n_grid)
    shape = tuple(int(max(8, np.ceil(e / dx - 1e-9))) for e in ext)
    return lo, dx, shape  # type: ignore[return-value]


def per_particle(value: float | np.ndarray, n: int, name: str) -> np.ndarray:
    """Broadcast a scalar or (N,) parameter to (N,) float64."""
    a = np.asarray(value, np.float64).reshape(-1)
    if a.size == 1:
        return np.full(n, float(a[0]))
    if a.size != n:
        raise ValueError(f"{name} has {a.size} entries for {n} particles")
    return a.copy()


def lame(E: np.ndarray, nu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lamé (mu, lambda) = (E / 2(1+nu), E nu / ((1+nu)(1-2nu)))."""
    E, nu = np.asarray(E, np.float64), np.asarray(nu, np.float64)
    return E / (2.0 * (1.0 + nu)), E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu))


def recommend_substeps(params: MPMParams, fps: float, n: int = 1) -> int:
    """Substeps per frame so that dt <= cfl * dx / c_p, c_p = sqrt((lambda + 2 mu) / rho)."""
    _, dx, _ = grid_geometry(params)
    mu, la = lame(per_particle(params.E, n, "E"), per_particle(params.nu, n, "nu"))
    c = float(np.sqrt(np.max((la + 2.0 * mu) / per_particle(params.density, n, "density"))))
    dt = params.cfl * dx / max(c, 1e-12)
    return max(1, int(np.ceil(1.0 / (fps * dt))))


def validate(params: MPMParams, x0: np.ndarray) -> None:
    """Raise ValueError for bad materials, a ground inside the wall layer, or particles outside."""
    lo, dx, shape = grid_geometry(params)
    nu = np.asarray(params.nu, np.float64)
    if np.any(nu < 0) or np.any(nu >= 0.5):
        raise ValueError("nu must be in [0, 0.5)")
    if np.any(np.asarray(params.E, np.float64) <= 0) or np.any(np.asarray(params.density, np.float64) <= 0):
        raise ValueError("E and density must be positive")
    if params.ground not in ("sticky", "slip", "separate", "none"):
        raise ValueError(f"unknown ground collider {params.ground!r}")
    if params.ground != "none" and params.ground_height < lo[2] + params.boundary_cells * dx - 1e-9 * dx:
        raise ValueError(f"ground_height {params.ground_height} lies in the wall layer "
                         f"(needs >= {lo[2] + params.boundary_cells * dx:.4g}); lower domain_lo")
    g = (x0 - lo) / dx
    if np.any(g < 1.0) or np.any(g > np.asarray(shape) - 2.0):
        raise ValueError("initial particles lie outside the valid domain region")


def control_velocities(controls: np.ndarray, n_frames: int, fps: float, mode: str) -> np.ndarray:
    """(T-1, C, 3) per-frame control velocities from positions (T, C, 3) or velocities."""
    c = np.asarray(controls, np.float64)
    if c.ndim != 3 or c.shape[-1] != 3:
        raise ValueError("controls must be (T, C, 3)")
    if mode == "position":
        if c.shape[0] != n_frames:
            raise ValueError(f"controls have {c.shape[0]} frames, expected {n_frames}")
        return np.diff(c, axis=0) * fps
    if mode == "velocity":
        if c.shape[0] not in (n_frames, n_frames - 1):
            raise ValueError(f"control velocities have {c.shape[0]} frames, expected {n_frames - 1}")
        return c[: n_frames - 1]
    raise ValueError("control_mode must be 'position' or 'velocity'")


def control_assignment(
    x0: np.ndarray, controls0: np.ndarray | None, n_controls: int,
    control_index: np.ndarray | None, control_radius: float | None,
) -> np.ndarray:
    """(N,) int32: the control point each particle follows, -1 for free particles.

    Either explicit ``control_index`` (N,) or every particle within ``control_radius`` of a
    control point's frame-0 position (nearest control point wins).
    """
    n = x0.shape[0]
    if control_index is not None:
        idx = np.asarray(control_index, np.int64).reshape(-1)
        if idx.shape[0] != n or idx.max(initial=-1) >= n_controls or idx.min(initial=-1) < -1:
            raise ValueError("control_index must be (N,) with values in [-1, C)")
        return idx.astype(np.int32)
    if n_controls == 0:
        return np.full(n, -1, np.int32)
    if control_radius is None or controls0 is None:
        raise ValueError("controls need control_index or control_radius (with position controls)")
    d = np.linalg.norm(x0[:, None, :] - np.asarray(controls0, np.float64)[None], axis=-1)
    near = d.argmin(axis=1)
    return np.where(d.min(axis=1) <= control_radius, near, -1).astype(np.int32)
