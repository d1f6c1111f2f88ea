"""The MPM GT record (sample.json ``physics`` + gt/fields.npz) <-> ``MPMParams``: written by datagen, read by methods."""
from __future__ import annotations

from typing import Any

import numpy as np

from physics.mpm.params import MPMParams


def record_from_params(params: MPMParams) -> dict[str, Any]:
    """The grid / domain part of the sample.json physics block that ``params_from_record`` reads back."""
    return {"n_grid": int(params.n_grid), "domain": {"lo": list(params.domain_lo), "hi": list(params.domain_hi)}}


def params_from_record(physics: dict[str, Any], fields: dict[str, np.ndarray]) -> MPMParams:
    """``MPMParams`` of a sample.json ``physics`` block and its gt/fields.npz (per-particle E, nu)."""
    p = physics["params"]
    return MPMParams(n_grid=int(physics["n_grid"]), domain_lo=tuple(physics["domain"]["lo"]),
                     domain_hi=tuple(physics["domain"]["hi"]), density=float(p["density"]),
                     E=np.asarray(fields["E"], np.float64), nu=np.asarray(fields["nu"], np.float64),
                     ground=p["ground"], friction=float(p["friction"]), ground_height=0.0)
