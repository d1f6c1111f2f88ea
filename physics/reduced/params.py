"""Parameters and results of the reduced-order LBS simulator (no torch import here).

Units are SI (CONVENTIONS.md): E in Pa, density in kg/m^3, lengths in m, z up, gravity
(0, 0, -9.81). ``lame_parameters`` works on floats and on torch tensors (plain arithmetic).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def lame_parameters(E: Any, nu: Any) -> tuple[Any, Any]:
    """Lamé (mu, lambda) of linear elasticity: mu = E / (2(1+nu)), lambda = E nu / ((1+nu)(1-2nu))."""
    mu = E / (2.0 * (1.0 + nu))
    lam = E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu))
    return mu, lam


@dataclass
class ReducedParams:
    """Physical and solver parameters of ``simulate_reduced`` (Vid2Sim eq. 1-2, Simplicits §4)."""

    E: float = 1e5
    """Young's modulus (Pa); overridden by a tensor passed to ``simulate_reduced(E=...)``."""
    nu: float = 0.3
    """Poisson's ratio in (-1, 0.5); overridden by ``simulate_reduced(nu=...)``."""
    density: float = 1000.0
    """rho (kg/m^3). Cubature point c has mass rho * V_c with V_c = total volume / n_cubature."""
    gravity: tuple[float, float, float] = (0.0, 0.0, -9.81)
    dt: float = 1.0 / 60.0
    """Implicit-Euler step (s)."""
    substeps: int = 1
    """Implicit-Euler steps per output frame; frame f is time f * substeps * dt."""
    ground: bool = True
    """Floor penalty on cubature points below ``ground_height`` (quadratic, see ``floor_stiffness``)."""
    ground_height: float = 0.0
    floor_stiffness: float = 1e5
    """kappa (1/s^2): E_floor = kappa sum_c m_c psi(d_c), d_c = min(0, x_c,z - h), psi ~ d^2/2 (quadratic
    penalty, C^2-blended over ``floor_smoothing``). Resting penetration ~ |g| / kappa + floor_smoothing / 2."""
    floor_smoothing: float = 2e-4
    """delta (m): width of the cubic blend at the contact kink (0 = plain quadratic, Newton may stall)."""
    friction: float = 0.0
    """Coulomb mu of the optional lagged, C^2-smoothed floor friction (0 = off); IPC-style, see ``solver``."""
    friction_eps_v: float = 1e-3
    """Velocity (m/s) below which friction is a viscous quadratic (static-friction smoothing)."""
    control_stiffness: float = 1e4
    """kappa_c (1/s^2) of the control penalty E_ctrl = kappa_c/2 sum_{c attached} m_c |x_c(z) - y_c(t)|^2
    that pulls the cubature points attached to a control point along c(t) - c(0) (interaction)."""
    newton_tol: float = 1e-9
    """Converged when |grad| / force_scale < tol (force_scale = max(|grad_0|, m g L))."""
    newton_max_iter: int = 30
    line_search_max: int = 40
    max_speed: float = 100.0
    """Any cubature point faster than this (m/s) raises SimulationDiverged."""
    sanity_box: float = 100.0
    """Any cubature point farther than this (m) from the rest centroid raises SimulationDiverged."""


@dataclass
class ReducedResult:
    """Output of ``simulate_reduced``; tensors keep the autograd graph when inputs require grad.

    T = n_frames (frame 0 is the initial state, as in spring_mass), P query points, H handles (constant one first).
    """

    positions: Any  # (T, P, 3) torch tensor, world positions of the query points
    F: Any  # (T, P, 3, 3) deformation gradient at the query points (Gaussian update L' = F R S)
    z: Any  # (T, H, 12) handle DoFs, row-major flatten of the 3x4 affine A_h
    zdot: Any  # (T, H, 12) handle velocities
    newton_residuals: list = field(default_factory=list)  # per substep: np.ndarray of |g_k| / force_scale
    dt: float = 0.0
    substeps: int = 1
