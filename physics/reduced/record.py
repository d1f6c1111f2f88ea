"""The reduced-LBS GT record (sample.json ``physics``) <-> ``ReducedParams``: written by datagen, read by methods."""
from __future__ import annotations

from typing import Any

from physics.reduced.params import ReducedParams


def record_from_params(params: ReducedParams) -> dict[str, Any]:
    """The solver part of the sample.json physics block that ``params_from_record`` reads back."""
    return {"substeps": int(params.substeps), "dt": float(params.dt), "floor_stiffness": float(params.floor_stiffness)}


def params_from_record(physics: dict[str, Any]) -> ReducedParams:
    """``ReducedParams`` of a sample.json ``physics`` block (its ``controls`` block gives the penalty)."""
    p, ctl = physics["params"], physics.get("controls") or {}
    return ReducedParams(E=float(p["youngs_modulus"]), nu=float(p["poisson_ratio"]), density=float(p["density"]),
                         dt=float(physics["dt"]), substeps=int(physics["substeps"]), ground=True, ground_height=0.0,
                         friction=float(p["friction"]),
                         floor_stiffness=float(physics.get("floor_stiffness", ReducedParams.floor_stiffness)),
                         **({"control_stiffness": float(ctl["stiffness_per_kg"])} if "stiffness_per_kg" in ctl else {}))
