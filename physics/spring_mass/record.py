"""The spring-mass GT record (sample.json ``physics``) <-> ``SpringMassParams``: written by datagen, read by methods."""
from __future__ import annotations

from typing import Any

from physics.spring_mass.params import SpringMassParams


def params_from_record(params: dict[str, Any], controls: dict[str, Any] | None = None) -> SpringMassParams:
    """``SpringMassParams`` of a sample.json ``physics.params`` block (+ its ``physics.controls`` block)."""
    p = SpringMassParams(
        force_law=params["force_law"], stiffness=params["stiffness"], damping=params["damping"],
        total_mass=params["mass_kg"], ground_model=params["ground_model"], ground_height=0.0,
        restitution=params["restitution"], friction=params["friction"],
    )
    if controls is not None:
        p.control_stiffness = float(controls["stiffness_n_per_m"])
    return p
