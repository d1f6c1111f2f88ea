"""Differentiable 3D MLS-MPM with fixed-corotated elasticity (taichi; PhysInteract §3.1, §3.5).

Importing this package needs numpy only; taichi is imported (and initialised once, cuda if
available else cpu) on the first simulation, torch inside ``rollout_mpm_torch``.

    simulate_mpm(x0, v0, vol0, params, n_frames, fps, substeps=None, controls=None,
                 control_index=None, control_radius=None, control_mode="position",
                 return_F=False) -> MPMResult(positions, velocities, F)
    rollout_mpm_torch(x0, v0, vol0, params, n_frames, fps, substeps=None, *, E=None, nu=None,
                      controls=None, ...) -> positions (T,N,3) [, velocities]   # autograd
    fill_mesh_particles(vertices, faces, spacing=None, n=None, rng=None, ...) -> FilledParticles

Details: ``params`` (units, colliders), ``kernels`` (MLS-MPM step, polar decomposition),
``engine`` (checkpointed adjoint), ``filling`` (voxel interior filling).
"""

from __future__ import annotations

from physics.errors import SimulationDiverged
from physics.mpm.filling import FilledParticles, fill_mesh_particles, mesh_volume, points_in_mesh
from physics.mpm.params import MPMParams, MPMResult, grid_geometry, lame, recommend_substeps
from physics.mpm.simulate import simulate_mpm


def rollout_mpm_torch(*args, **kwargs):
    """Differentiable rollout; see ``physics.mpm.torch_rollout.rollout_mpm_torch``."""
    from physics.mpm.torch_rollout import rollout_mpm_torch as _impl

    return _impl(*args, **kwargs)


__all__ = [
    "FilledParticles", "MPMParams", "MPMResult", "SimulationDiverged", "fill_mesh_particles",
    "grid_geometry", "lame", "mesh_volume", "points_in_mesh", "recommend_substeps",
    "rollout_mpm_torch", "simulate_mpm",
]
