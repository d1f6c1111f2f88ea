"""Mesh-free reduced-order elastic simulator (Vid2Sim §3 eq. 1-2, Simplicits), differentiable, torch.

Handles are 3x4 affine transforms (12 DoF each); handle 0 has constant weight 1 (rigid/affine
body motion), the others have weights W_theta(X) from a small ELU MLP trained data-free with
Simplicits' elastic + orthogonality loss. Stable neo-Hookean (Smith et al. 2018) integrated over
farthest-point cubature points, gravity, floor penalty (+ optional lagged friction), implicit Euler
solved by Newton + line search, gradients by implicit differentiation of each converged step.

Importing this package is cheap (numpy only); the torch parts load on first use of these names:

    from physics.reduced import train_skinning_weights, cubature_points, simulate_reduced, ReducedParams
    model, _ = train_skinning_weights(samples, n_handles=10, E=1e5, nu=0.3, steps=1000, seed=0)
    Xc, Vc = cubature_points(samples, 500, total_volume)
    out = simulate_reduced(model, Xc, Vc, surface_points, ReducedParams(E=1e5, nu=0.3), n_frames=60)

Modules: ``params`` (ReducedParams, ReducedResult), ``cubature`` (FPS), ``material`` (energy,
stress), ``skinning`` (MLP + training), ``kinematics`` (LBS, F, covariances), ``solver``
(incremental potential, Newton, adjoint), ``simulate`` (rollout).
"""

from __future__ import annotations

import importlib

from physics.errors import SimulationDiverged
from physics.reduced.cubature import cubature_points, farthest_point_sampling
from physics.reduced.params import ReducedParams, ReducedResult, lame_parameters

_LAZY = {
    "SkinningMLP": "skinning", "train_skinning_weights": "skinning", "orthogonality_loss": "skinning",
    "energy_density": "material", "first_piola": "material", "snh_parameters": "material",
    "stress_derivative": "material",
    "deform_points": "kinematics", "deformation_gradient": "kinematics", "deform_covariances": "kinematics",
    "deform_gaussian_frames": "kinematics", "lbs_operators": "kinematics", "translation_velocity": "kinematics",
    "simulate_reduced": "simulate", "rollout_positions": "simulate",
}


def __getattr__(name: str):
    """Load torch-backed names on first access (PEP 562)."""
    if name in _LAZY:
        return getattr(importlib.import_module(f"physics.reduced.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'physics.reduced' has no attribute {name!r}")


__all__ = [
    "ReducedParams", "ReducedResult", "SimulationDiverged", "cubature_points", "farthest_point_sampling",
    "lame_parameters", *sorted(_LAZY),
]
