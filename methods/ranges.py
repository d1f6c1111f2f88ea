"""Do a method's search ranges and fixed priors cover the parameters its dataset draws?

A method reports ``parameter_ranges()``: per GT model it estimates, each parameter's range in sample.json
units; a range with lo == hi is a fixed prior (a value the method assumes). A searched range must contain
the dataset's range, a fixed prior must lie inside it: otherwise part of the data is out of the method's
reach by construction, and its parameter errors (and the frames they drive) say nothing about the method.
``bench run`` refuses such a run in one line, naming the parameter and both ranges.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from core.dataset import gt_parameter_ranges
from core.errors import UserError

_REL = 1e-6  # rounding slack on the range ends (log10 / 10** round trips)


def range_misses(method_ranges: dict[str, dict[str, tuple[float, float]]],
                 data_ranges: dict[str, dict[str, tuple[float, float]]]) -> list[str]:
    """One line per parameter a method cannot reach (models the dataset does not hold are not checked)."""
    out = []
    for model, params in method_ranges.items():
        for name, (lo, hi) in params.items():
            if name not in data_ranges.get(model, {}):
                continue
            dlo, dhi = data_ranges[model][name]
            tol = _REL * max(abs(dlo), abs(dhi), 1e-12)
            if lo == hi:
                if not dlo - tol <= lo <= dhi + tol:
                    out.append(f"{model} {name}: the method assumes {lo:.4g}, outside the dataset's [{dlo:.4g}, {dhi:.4g}]")
            elif lo > dlo + tol or hi < dhi - tol:
                out.append(f"{model} {name}: the method searches [{lo:.4g}, {hi:.4g}], the dataset draws [{dlo:.4g}, {dhi:.4g}]")
    return out


def check_parameter_ranges(method: Any, data_root: Path) -> dict[str, Any]:
    """The range check of ``method`` on ``data_root`` (recorded in run.json); a ``UserError`` on a miss."""
    data = gt_parameter_ranges(data_root)
    mine = method.parameter_ranges()
    misses = range_misses(mine, data)
    if misses:
        more = f" (+{len(misses) - 1} more)" if len(misses) > 1 else ""
        raise UserError("--method-config", f"{method.name}'s parameter ranges miss the data: {misses[0]}{more}",
                        "widen the method's bounds (or its fixed value) in its config to cover the dataset's profile")
    checked = sorted(f"{m}.{p}" for m, ps in mine.items() for p in ps if p in data.get(m, {}))
    return {"status": "ok", "checked": checked}
