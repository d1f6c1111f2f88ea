"""Physical-parameter metrics: per-parameter errors and PhysInteract material accuracy."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from physics.parameters import LOG_SCALE_PARAMS

__all__ = ["DEFAULT_LOG_PARAMS", "MODULUS_PARAMS", "param_errors", "material_accuracy", "compare_params"]

#: Parameters spanning orders of magnitude; their error is also reported in log10 space.
DEFAULT_LOG_PARAMS: tuple[str, ...] = LOG_SCALE_PARAMS
#: Parameters playing the role of PhysInteract's E in material accuracy (first one present wins).
MODULUS_PARAMS: tuple[str, ...] = ("youngs_modulus", "E", "Y", "stiffness", "k")


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


def _numeric(params: Mapping[str, object]) -> dict[str, float]:
    return {k: float(v) for k, v in params.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not k.startswith("log10_")}


def compare_params(
    pred: Mapping[str, object] | None,
    gt_model: str,
    gt_params: Mapping[str, object],
    n_particles: int = 1,
    gt_per_particle: Mapping[str, Sequence[float]] | None = None,
) -> dict[str, object]:
    """Parameter block of metrics.json: errors where both models have the parameter, else n/a.

    ``pred`` is a method's ``pred/params.json`` (``{"model", "params", "per_particle"?}``) or None.
    Errors are computed only when ``pred["model"] == gt_model`` and only for numeric parameters
    present in both; every other parameter of either side is listed under ``na`` with the reason
    (never 0). Material accuracy (:func:`material_accuracy`) uses the first of
    :data:`MODULUS_PARAMS` present in both, per particle when ``per_particle`` arrays are given
    (a scalar is broadcast to ``n_particles``).
    """
    gt = _numeric(gt_params)
    if pred is None:
        return {"status": "n/a", "why": "the method estimated no parameters", "gt_model": gt_model,
                "errors": {}, "na": {k: "not estimated by the method" for k in sorted(gt)}}
    model = pred.get("model")
    if model != gt_model:
        why = f"method model '{model}' differs from GT model '{gt_model}'"
        return {"status": "n/a", "why": why, "gt_model": gt_model, "pred_model": model,
                "errors": {}, "na": {k: why for k in sorted(gt)}}
    p = _numeric(pred.get("params") or {})  # type: ignore[arg-type]
    na = {k: "not estimated by the method" for k in gt.keys() - p.keys()}
    na.update({k: "not a parameter of the GT model" for k in p.keys() - gt.keys()})
    out: dict[str, object] = {"status": "ok", "gt_model": gt_model, "pred_model": model,
                              "errors": param_errors(p, gt), "na": dict(sorted(na.items())), "pred": p, "gt": gt}
    name = next((m for m in MODULUS_PARAMS if m in p and m in gt), None)
    if name is not None:
        pp = (pred.get("per_particle") or {}).get(name)  # type: ignore[union-attr]
        gp = (gt_per_particle or {}).get(name)
        pe = np.asarray(pp if pp is not None else [p[name]], np.float64)
        ge = np.asarray(gp if gp is not None else [gt[name]], np.float64)
        n = n_particles if pp is None and gp is None else max(len(pe), len(ge))
        out["material_accuracy"] = {"param": name, "n_particles": int(n),
                                    "value": material_accuracy(np.broadcast_to(pe, (n,)), np.broadcast_to(ge, (n,)))}
    return out
