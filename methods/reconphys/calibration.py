"""Held-out shrinkage of the ReconPhys predictor's outputs (a bench addition; no GT physics labels).

Stage B regresses stage A's per-video targets (``curriculum.py``). Where those targets carry little
information about the parameter, the regression memorises them per training video and its outputs on
unseen objects are noise around the targets' mean: worse than predicting that mean (docs/RESULTS.md).

``calibrate: holdout`` measures this without labels. The training objects are split by a hash of the
object id (``calib_fraction`` of them held out); a second predictor is distilled on the rest with the same
settings, and on the held-out objects' videos each normalised output u_j is compared with the stage-A
target t_j. The least-squares shrinkage towards the targets' mean c_j,

    alpha_j = clip( sum_i (p_ij - c_j)(t_ij - c_j) / sum_i (p_ij - c_j)^2 , 0, 1 ),

is the factor that minimises the held-out squared error of c_j + alpha_j (p_ij - c_j) against the
targets; if stage A's error is independent of the predictor's, it is also the factor that minimises the
error against the true parameter (E[(t - theta)(p - c)] = 0). At inference the main predictor (trained on
all objects) is shrunk the same way, u_j -> c_j + alpha_j (u_j - c_j): alpha 1 keeps it, alpha 0 predicts
the targets' mean for every video. The main predictor has seen more objects than the one that was
measured, so alpha is conservative for it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from core.splits import object_unit_interval
from methods.reconphys.outputs import PARAM_NAMES

CALIBRATION_JSON = "calibration.json"
CALIBRATION_DIR = "calibration"  # the held-out predictor's checkpoints, under the main checkpoint dir
#: hash salt: the held-out objects are independent of the dataset's own train/val/test hash split
_SALT = "reconphys-calibration/"


def holdout_mask(object_ids: list[str], fraction: float) -> np.ndarray:
    """True for the videos whose object is held out (hash of the salted object id < ``fraction``); every
    video of an object falls on the same side. Refuses a split that leaves either side empty."""
    held = np.array([object_unit_interval(_SALT + o) < float(fraction) for o in object_ids], bool)
    if held.all() or not held.any():
        raise ValueError(f"reconphys calibration: calib_fraction {fraction} holds out {int(held.sum())} of "
                         f"{len(set(object_ids))} training objects; both sides need at least one object "
                         "(train on more objects or change calib_fraction)")
    return held


def shrinkage(pred: np.ndarray, target: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Per output, the least-squares alpha in [0, 1] of ``centre + alpha (pred - centre)`` against
    ``target`` (n, P) (module docstring); 0 where the predictions do not move away from the centre."""
    dp, dt = np.asarray(pred, np.float64) - centre, np.asarray(target, np.float64) - centre
    den = (dp * dp).sum(0)
    alpha = np.where(den > 1e-12, (dp * dt).sum(0) / np.maximum(den, 1e-12), 0.0)
    return np.clip(alpha, 0.0, 1.0)


def apply_shrinkage(u, calibration: dict[str, Any]):
    """Normalised outputs u (torch or numpy, (..., N_OUT)) -> c + alpha (u - c)."""
    alpha = [calibration["alpha"][n] for n in PARAM_NAMES]
    centre = [calibration["centre"][n] for n in PARAM_NAMES]
    if hasattr(u, "new_tensor"):
        return u.new_tensor(centre) + u.new_tensor(alpha) * (u - u.new_tensor(centre))
    return np.asarray(centre) + np.asarray(alpha) * (np.asarray(u) - np.asarray(centre))


def squashed_outputs(method, model, items: list[dict[str, Any]]) -> np.ndarray:
    """(n, N_OUT) normalised outputs sigmoid(raw) of ``model`` on ``items`` (no augmentation)."""
    import torch

    model.eval()
    with torch.no_grad():
        out = [torch.sigmoid(method.predictor_logits(model, it["obs"], it["motion"]))[0].numpy() for it in items]
    return np.asarray(out, np.float64)


def calibration_report(pred: np.ndarray, target: np.ndarray, centre: np.ndarray, alpha: np.ndarray,
                       n_objects: tuple[int, int]) -> dict[str, Any]:
    """calibration.json's content: alpha and centre per output, and the held-out squared errors (normalised
    units, against the stage-A targets) of the raw predictor, of the centre alone and of the shrunk one."""
    shrunk = centre + alpha * (pred - centre)
    mse = lambda x: {n: float(v) for n, v in zip(PARAM_NAMES, ((x - target) ** 2).mean(0))}  # noqa: E731
    return {"format": "reconphys-calibration/1", "estimator": "least-squares shrinkage towards the stage-A "
            "targets' mean, fitted on held-out training objects (methods/reconphys/calibration.py)",
            "alpha": {n: float(a) for n, a in zip(PARAM_NAMES, alpha)},
            "centre": {n: float(c) for n, c in zip(PARAM_NAMES, centre)},
            "n_fit_objects": int(n_objects[0]), "n_heldout_objects": int(n_objects[1]),
            "n_heldout_videos": int(len(target)),
            "heldout_mse": {"predictor": mse(pred), "centre": mse(np.broadcast_to(centre, pred.shape)),
                            "shrunk": mse(shrunk)}}


def load_calibration(ckpt_dir: Path) -> dict[str, Any] | None:
    """The checkpoint's calibration.json, or None when it has none."""
    path = Path(ckpt_dir) / CALIBRATION_JSON
    return json.loads(path.read_text()) if path.exists() else None
