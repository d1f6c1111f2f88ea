"""Differentiable spring-mass simulator (Spring-Gaus §4.2 eq. 5-17, PhysTwin App. A).

Importing this package needs numpy/scipy only; warp is imported inside ``simulate`` and torch
inside ``rollout_torch``. See ``params`` for units and the substep rule of thumb.
"""

from __future__ import annotations

from physics.errors import SimulationDiverged
from physics.spring_mass.anchors import object_seed, sample_anchors
from physics.spring_mass.controls import ControlDrive, attach_controls, drive_edges, drive_kwargs
from physics.spring_mass.params import (
    SpringMassParams,
    SpringMassResult,
    paper_log10_stiffness,
    particle_masses,
    recommend_substeps,
    soft_eta,
    spring_damping,
    spring_stiffness,
    stable_dt,
)
from physics.spring_mass.simulate import StabilityWarning, simulate
from physics.spring_mass.topology import control_springs, knn_springs, radius_springs


def rollout_torch(*args, **kwargs):
    """Differentiable rollout; see ``physics.spring_mass.torch_rollout.rollout_torch``."""
    from physics.spring_mass.torch_rollout import rollout_torch as _impl

    return _impl(*args, **kwargs)


__all__ = [
    "ControlDrive", "SimulationDiverged", "SpringMassParams", "SpringMassResult", "StabilityWarning",
    "attach_controls", "control_springs", "object_seed", "sample_anchors", "drive_edges", "drive_kwargs", "knn_springs",
    "paper_log10_stiffness", "particle_masses", "radius_springs",
    "recommend_substeps", "rollout_torch", "simulate", "soft_eta", "spring_damping",
    "spring_stiffness", "stable_dt",
]
