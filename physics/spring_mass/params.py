"""Parameters, results and parameter resolution of the spring-mass model (numpy only).

Units. Both force laws are written per unit *strain*, so ``stiffness`` is in newtons:

- Spring-Gaus eq. 9 with eq. 16 (k_ij = k_i / l_ij) and p_k = 0:  |F| = k (|d| - l) / l
- PhysTwin spring:                                                |F| = Y (|d| / l - 1)

i.e. the same Hooke law with linear stiffness ``K / l`` (N/m). The dynamics depend on the ratio
``K / m`` (m = particle mass); Spring-Gaus and ReconPhys use a unit anchor mass m0, so their
``log10 k`` corresponds to our ``log10(K / m_particle)`` (see ``paper_log10_stiffness``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

ForceLaw = Literal["spring_gaus", "phystwin"]
GroundModel = Literal["phystwin", "spring_gaus", "none"]


@dataclass
class SpringMassParams:
    """Physical parameters; each field names the equation it enters.

    Spring-Gaus = Zhong et al. ECCV'24 §4.2; PhysTwin = Jiang et al. 2025, App. A.
    """

    force_law: ForceLaw = "spring_gaus"
    """"spring_gaus": eq. 9 (nonlinear, soft vector eta) + eq. 10 damping; "phystwin": Hooke + dashpot."""
    stiffness: float | np.ndarray = 1.0
    """N per unit strain. Scalar, per-anchor (N,) k_i (eq. 16: spring value = mean of its two
    anchors' k_i, divided by l_ij inside the force), or per-spring (S,). PhysTwin: Y."""
    stiffness_mode: Literal["auto", "global", "anchor", "spring"] = "auto"
    """How to read ``stiffness`` when N == S makes the shape ambiguous."""
    p_k: float = 0.0
    """Eq. 9 exponent: |F| = eta k/l |Δ| |Δ|^p_k with Δ = |d| - l (metres). 0 = Hooke's law (the
    paper: "when p_k is set to 0, Eq. (9) becomes the Hooke's law")."""
    soft_kappa: float | None = None
    """Eq. 8 kappa; None = soft vector off (eta = 1). Spring-Gaus only."""
    soft_nc: int = 0
    """Eq. 8 n_c: neighbour ranks <= n_c get eta = 1; eta_r = clamp(2 - exp(softplus(kappa))^(r-n_c), 0, 1)."""
    spring_rank: np.ndarray | None = None
    """(S,) 1-based neighbour rank per spring (``knn_springs(..., return_rank=True)``), for eq. 8."""
    damping: float | np.ndarray = 0.0
    """Spring-Gaus eq. 10/17: zeta_0 in N·s per unit strain rate (zeta_ij = zeta_0 / l_ij), force
    along the spring. PhysTwin: dashpot gamma in N·s/m, F = gamma ((v_j - v_i)·n) n (axial, as the
    official code) or gamma (v_j - v_i) (``dashpot_axial=False``, App. A text). Scalar or (S,)."""
    dashpot_axial: bool = True
    """PhysTwin dashpot projected on the spring direction (True) or full relative velocity."""
    drag: float = 0.0
    """PhysTwin drag delta: v <- v * exp(-drag * dt) after the force update (1/s)."""
    mass: float | np.ndarray = 1e-3
    """Per-particle mass in kg, scalar (broadcast) or (N,). Ignored when ``total_mass`` is set."""
    total_mass: float | None = None
    """If set, every particle gets ``total_mass / N`` kg."""
    ground_model: GroundModel = "spring_gaus"
    """"spring_gaus": eq. 14 BC (clamp z, zero normal velocity, Coulomb-scaled tangential
    velocity); "phystwin": impulse with restitution/friction and time of impact; "none"."""
    ground_height: float = 0.0
    """Ground plane z (m)."""
    restitution: float = 0.5
    """PhysTwin collision elasticity e in [0, 1]: v_n <- -e v_n."""
    friction: float = 0.3
    """Coulomb coefficient mu: tangential velocity scaled by max(0, 1 - mu |Δv_n| / |v_t|)."""
    control_stiffness: float = 1e3
    """Control springs (PhysTwin App. A): Hooke springs in N/m, F = k_c (|d| - l0) n."""
    max_speed: float = 100.0
    """Any particle faster than this (m/s) raises SimulationDiverged."""
    sanity_box: float = 100.0
    """Any coordinate farther than this (m) from the initial centroid raises SimulationDiverged."""


@dataclass
class SpringMassResult:
    """Rollout output. Frame t is time t / fps; frame 0 is the initial state."""

    positions: np.ndarray  # (T, N, 3) float32
    velocities: np.ndarray  # (T, N, 3) float32
    energy: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (T,) J: kinetic + gravity + springs
    dt: float = 0.0
    substeps: int = 0
    stable_dt: float = float("inf")  # the Gershgorin estimate used for the warning


def particle_masses(params: SpringMassParams, n: int) -> np.ndarray:
    """(N,) float64 particle masses from ``mass`` / ``total_mass``."""
    if params.total_mass is not None:
        return np.full(n, float(params.total_mass) / max(n, 1))
    m = np.asarray(params.mass, dtype=np.float64)
    m = np.full(n, float(m)) if m.ndim == 0 else m.reshape(-1)
    if m.shape[0] != n:
        raise ValueError(f"mass has {m.shape[0]} entries for {n} particles")
    if np.any(m <= 0):
        raise ValueError("particle masses must be positive")
    return m


def stiffness_kind(value_shape: tuple[int, ...], n: int, s: int, mode: str = "auto") -> str:
    """Classify a stiffness array as "global", "anchor" (N,) or "spring" (S,)."""
    if mode != "auto":
        return mode
    size = int(np.prod(value_shape)) if value_shape else 1
    if len(value_shape) == 0 or size == 1:
        return "global"
    if size == n and size == s:
        raise ValueError("stiffness length equals both N and S; set stiffness_mode")
    if size == n:
        return "anchor"
    if size == s:
        return "spring"
    raise ValueError(f"stiffness has {size} entries; expected 1, N={n} or S={s}")


def soft_eta(rank: np.ndarray, kappa: float | None, n_c: int) -> np.ndarray:
    """Spring-Gaus eq. 8 soft vector per spring (float64); ones when ``kappa`` is None."""
    rank = np.asarray(rank, dtype=np.float64)
    if kappa is None:
        return np.ones_like(rank)
    sp = np.logaddexp(0.0, float(kappa))  # softplus
    eta = np.clip(2.0 - np.exp(sp * (rank - n_c)), 0.0, 1.0)
    return np.where(rank <= n_c, 1.0, eta)


def spring_stiffness(params: SpringMassParams, edges: np.ndarray, n: int) -> np.ndarray:
    """Per-spring K (N per unit strain, float64) including eq. 8's eta for Spring-Gaus."""
    s = edges.shape[0]
    k = np.asarray(params.stiffness, dtype=np.float64)
    kind = stiffness_kind(k.shape, n, s, params.stiffness_mode)
    if kind == "global":
        ks = np.full(s, float(k.reshape(-1)[0]))
    elif kind == "anchor":
        k = k.reshape(-1)
        ks = 0.5 * (k[edges[:, 0]] + k[edges[:, 1]])
    else:
        ks = k.reshape(-1).copy()
    if params.force_law == "spring_gaus" and params.soft_kappa is not None:
        if params.spring_rank is None:
            raise ValueError("soft_kappa needs spring_rank (knn_springs(..., return_rank=True))")
        ks = ks * soft_eta(params.spring_rank, params.soft_kappa, params.soft_nc)
    return ks


def spring_damping(params: SpringMassParams, s: int) -> np.ndarray:
    """Per-spring damping coefficient (float64), zeta_0 (Spring-Gaus) or gamma (PhysTwin)."""
    c = np.asarray(params.damping, dtype=np.float64)
    if c.ndim == 0 or c.size == 1:
        return np.full(s, float(c.reshape(-1)[0]))
    if c.size != s:
        raise ValueError(f"damping has {c.size} entries for {s} springs")
    return c.reshape(-1).copy()


def stable_dt(
    edges: np.ndarray,
    rest: np.ndarray,
    params: SpringMassParams,
    n: int,
    control_edges: np.ndarray | None = None,
) -> float:
    """Largest stable semi-implicit Euler step (s), a conservative Gershgorin estimate.

    Per particle: w_i^2 = (2 sum_j K_ij / l_ij + sum_controls k_c) / m_i and damping rate
    g_i = 2 sum_j c_lin_ij / m_i. Symplectic Euler on x'' = -w^2 x - g x' is stable iff
    h^2 w^2 + 2 h g < 4, so h_max = (-g + sqrt(g^2 + 4 w^2)) / w^2 (= 2 / w without damping).
    For p_k > 0 the tangent stiffness is evaluated at a 10% strain.
    """
    m = particle_masses(params, n)
    rest = np.asarray(rest, dtype=np.float64)
    lin_k = spring_stiffness(params, edges, n) / rest
    if params.force_law == "spring_gaus" and params.p_k > 0:
        lin_k = lin_k * (1.0 + params.p_k) * (0.1 * rest) ** params.p_k
    c = spring_damping(params, edges.shape[0])
    lin_c = c / rest if params.force_law == "spring_gaus" else c
    w2 = np.zeros(n)
    g = np.zeros(n)
    for col in (0, 1):
        np.add.at(w2, edges[:, col], 2.0 * lin_k)
        np.add.at(g, edges[:, col], 2.0 * lin_c)
    if control_edges is not None and len(control_edges):
        np.add.at(w2, np.asarray(control_edges)[:, 1], float(params.control_stiffness))
    w2, g = w2 / m, g / m
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(w2 > 0, (-g + np.sqrt(g * g + 4.0 * w2)) / np.maximum(w2, 1e-300), np.where(g > 0, 2.0 / g, np.inf))
    return float(np.min(h)) if h.size else float("inf")


def recommend_substeps(
    edges: np.ndarray, rest: np.ndarray, params: SpringMassParams, n: int, fps: float,
    safety: float = 0.8, control_edges: np.ndarray | None = None,
) -> int:
    """Substeps per frame so that dt <= safety * stable_dt (rule of thumb, see module doc)."""
    h = stable_dt(edges, rest, params, n, control_edges)
    return max(1, int(np.ceil(1.0 / (fps * safety * h)))) if np.isfinite(h) else 1


def paper_log10_stiffness(stiffness: float, particle_mass: float, anchor_mass: float = 1.0) -> float:
    """Map our K (N/strain) at particle mass m to Spring-Gaus/ReconPhys log10 k at unit anchor mass."""
    return float(np.log10(stiffness * anchor_mass / particle_mass))
