"""Run format v1: what a method run writes (built-in or external) — the contract with eval.

    RUN/run.json                          method spec, config, dataset, split, versions
    RUN/<sample_id>/status.json           status ok|failed, reason, fit_s, predict_s, peak_rss_mb, device
    RUN/<sample_id>/pred/rgb/<view>/<t>.png  RGBA predicted frames for every frame and every view
    RUN/<sample_id>/pred/points.npy       T x P x 3 predicted surface points (optional)
    RUN/<sample_id>/pred/meta.json        {"points_correspond": bool} (P == M material points?)
    RUN/<sample_id>/pred/params.json      {"model": ..., "params": {...}} estimated physics (optional)
    RUN/<sample_id>/asset/...             exported simulation-ready asset (optional)
    RUN/<sample_id>/metrics.json          written by `bench eval` (per-frame values + hashes)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.frames import frame_name, read_rgba_png, write_rgba_png
from core.jsonio import read_json, write_json

RUN_FORMAT = "physrecon-run/1"
STATUS_JSON = "status.json"


def write_prediction(sample_out: Path, pred: Any) -> None:
    """Write a methods.base.Prediction under ``sample_out/pred``."""
    pdir = sample_out / "pred"
    for view, rgb in pred.rgb.items():
        alpha = pred.alpha.get(view, np.ones(rgb.shape[:-1], np.float32))
        for t in range(rgb.shape[0]):
            write_rgba_png(pdir / "rgb" / view / frame_name(t), rgb[t], alpha[t])
    if pred.points is not None:
        np.save(pdir / "points.npy", np.asarray(pred.points, np.float32))
    write_json(pdir / "meta.json", {"points_correspond": bool(pred.points_correspond)})
    if pred.params is not None:
        write_json(pdir / "params.json", pred.params)
    for rel, data in pred.extra_files.items():
        p = sample_out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def read_pred_frames(sample_out: Path, view: str, n_frames: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Predicted (rgb (T,H,W,3), alpha (T,H,W)) of a view, or None if the method wrote none."""
    d = sample_out / "pred" / "rgb" / view
    if not d.exists():
        return None
    rgb, alpha = [], []
    for t in range(n_frames):
        p = d / frame_name(t)
        if not p.exists():
            raise FileNotFoundError(f"{p}: predicted frame missing (a method must write every frame 0..{n_frames - 1})")
        c, a = read_rgba_png(p)
        rgb.append(c)
        alpha.append(a)
    return np.stack(rgb), np.stack(alpha)


def read_pred_points(sample_out: Path) -> tuple[np.ndarray | None, bool]:
    p = sample_out / "pred" / "points.npy"
    meta = sample_out / "pred" / "meta.json"
    corr = bool(read_json(meta).get("points_correspond", False)) if meta.exists() else False
    return (np.load(p) if p.exists() else None), corr


def read_pred_params(sample_out: Path) -> dict[str, Any] | None:
    p = sample_out / "pred" / "params.json"
    return read_json(p) if p.exists() else None
