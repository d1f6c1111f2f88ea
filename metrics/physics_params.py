"""Physical-parameter metrics: per-parameter errors and PhysInteract material accuracy."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

__all__ = ["DEFAULT_LOG_PARAMS", "param_errors", "material_accuracy"]

#: Parameters spanning orders of magnitude; their error is also reported in log10 space.
DEFAULT_LOG_PARAMS: tuple[str, ...] = ("stiffness", "youngs_modulus", "E", "k", "Y")


def param_errors(
    pred: Mapping[str, float],
    gt: Mapping[str, float],
    log_params: Iterable[str] = DEFAULT_LOG_PARAMS,
) -> dict[str, dict[str, float]]:
    """Absolute error per parameter (the per-sample term of ReconPhys Tab. 3 "MAE").

    Returns ``{name: {"abs": |p - g|, "log10_abs": |log10 p - log10 g|}}`` for names present in
    *both* dicts; names missing from either are absent (the caller shows "n/a", never 0).
    ``log10_abs`` is present only for names in ``log_params`` (exact, case-sensitive match)
    and only when both values are > 0 (log undefined otherwise). A non-finite prediction gives
    a NaN/inf error rather than being dropped.
    """
    logs = set(log_params)
    out: dict[str, dict[str, float]] = {}
    for name in pred.keys() & gt.keys():
        p, g = float(pred[name]), float(gt[name])
        entry = {"abs": abs(p - g)}
        if name in logs and p > 0 and g > 0:
            entry["log10_abs"] = abs(math.log10(p) - math.log10(g))
        out[name] = entry
    return dict(sorted(out.items()))


def material_accuracy(
    pred_E: np.ndarray, gt_E: np.ndarray, delta: float = 0.2, inclusive: bool = True
) -> float:
    """PhysInteract Material Accuracy (physinteract.txt eq. 6), as a fraction in [0, 1]:

        MA = 1/P Σ_p 1( |E_p^pred - E_p^gt| / E_p^gt <= δ ),   δ = 0.2

    The paper's inequality is ``<=`` (``inclusive=True``); ``inclusive=False`` gives ``<``.
    The paper reports MA in percent (×100). GT moduli must be > 0; NaN predictions count as
    misses.
    """
    p = np.asarray(pred_E, dtype=np.float64).reshape(-1)
    g = np.asarray(gt_E, dtype=np.float64).reshape(-1)
    if p.shape != g.shape:
        raise ValueError(f"shape mismatch: pred {p.shape} vs gt {g.shape}")
    if p.size == 0:
        raise ValueError("empty particle set")
    if not np.all(g > 0):
        raise ValueError("ground-truth moduli must be > 0 for relative error")
    rel = np.abs(p - g) / g
    hit = rel <= delta if inclusive else rel < delta
    return float(np.mean(hit))
