"""`bench eval`: score a run dir against its dataset. Metrics are computed here, never by methods.

Per sample it writes ``RUN/<sample_id>/metrics.json``: per-frame values of every metric (per view
for image metrics), means per phase (observed / future) and view group (seen / held_out / all),
parameter errors, the conventions used, and sha256 of every prediction and GT file it read.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from bench.dataset_format import SampleDir, read_manifest
from bench.errors import UserError
from bench.io import read_json, sha256_file, write_json
from bench.run_format import STATUS_JSON, read_pred_frames, read_pred_params, read_pred_points

EVAL_FORMAT = "physrecon-metrics/1"
IMAGE_METRICS = ("psnr", "psnr_channel_mean", "ssim", "ssim_skimage7", "iou")
GEOMETRY_METRICS = ("chamfer", "chamfer_reconphys", "chamfer_springgaus_x1e6", "chamfer_phystwin_l1", "emd", "emd_sq")
DEFAULT_EVAL = {"emd_n": 256, "emd_seed": 0, "chamfer_n": None, "chamfer_seed": 0, "iou_threshold": 0.5}


def _image_metrics(pred_rgb, pred_a, gt_rgb, gt_a, thr: float) -> dict[str, float]:
    from metrics import image as im

    return {
        "psnr": im.psnr(pred_rgb, gt_rgb),
        "psnr_channel_mean": im.psnr_channel_mean(pred_rgb, gt_rgb),
        "ssim": im.ssim_gaussian11(pred_rgb, gt_rgb),
        "ssim_skimage7": im.ssim_skimage7(pred_rgb, gt_rgb),
        "iou": im.silhouette_iou(pred_a, gt_a, threshold=thr),
    }


def _geometry_metrics(pred: np.ndarray, gt: np.ndarray, cfg: dict[str, Any]) -> dict[str, float]:
    from metrics import geometry as g

    n, s = cfg["chamfer_n"], cfg["chamfer_seed"]
    return {
        "chamfer": g.chamfer_l2sq_mean(pred, gt, n=n, seed=s),
        "chamfer_reconphys": g.chamfer_reconphys(pred, gt, n=n, seed=s),
        "chamfer_springgaus_x1e6": g.chamfer_springgaus_x1e6(pred, gt, n=n, seed=s),
        "chamfer_phystwin_l1": g.chamfer_phystwin_l1(pred, gt, n=n, seed=s),
        "emd": g.emd(pred, gt, n=cfg["emd_n"], seed=cfg["emd_seed"], squared=False),
        "emd_sq": g.emd(pred, gt, n=cfg["emd_n"], seed=cfg["emd_seed"], squared=True),
    }


def _mean(values: list[float]) -> float | None:
    arr = np.asarray([v for v in values if v is not None and not np.isnan(v)], np.float64)
    return float(arr.mean()) if arr.size else None


def _phase_slices(n_obs: int, n_frames: int) -> dict[str, range]:
    return {"observed": range(0, n_obs), "future": range(n_obs, n_frames), "all": range(0, n_frames)}


def evaluate_sample(sample_path: Path, run_sample: Path, cfg: dict[str, Any]) -> dict[str, Any]:
    """Compute every metric of one sample; returns the metrics.json content."""
    s = SampleDir(sample_path)
    status = read_json(run_sample / STATUS_JSON) if (run_sample / STATUS_JSON).exists() else {"status": "failed", "reason": "no status.json (not run)"}
    out: dict[str, Any] = {"format": EVAL_FORMAT, "sample_id": s.sample_id, "object_id": s.meta["object_id"],
                           "category": s.meta["category"], "physics_model": s.meta["physics"]["model"],
                           "scenario": s.meta["scenario"]["kind"], "status": status["status"],
                           "reason": status.get("reason"), "eval_config": cfg,
                           "cost": {k: status.get(k) for k in ("fit_s", "predict_s", "peak_rss_mb", "device")}}
    if status["status"] != "ok":
        return out
    T, n_obs = s.n_frames, s.n_observed
    seen = set(s.meta["render"]["seen_views"])
    per_view: dict[str, dict[str, list[float]]] = {}
    for view in s.views:
        fr = read_pred_frames(run_sample, view, T)
        if fr is None:
            continue
        rows = [_image_metrics(fr[0][t], fr[1][t], *s.frame(view, t), cfg["iou_threshold"]) for t in range(T)]
        per_view[view] = {m: [r[m] for r in rows] for m in IMAGE_METRICS}
    geo: dict[str, list[float]] = {}
    pts, corr = read_pred_points(run_sample)
    gt_pts = s.points()
    if pts is not None:
        if pts.shape[0] != T:
            raise ValueError(f"{run_sample}/pred/points.npy has {pts.shape[0]} frames, expected {T}")
        rows = [_geometry_metrics(pts[t], gt_pts[t], cfg) for t in range(T)]
        geo = {m: [r[m] for r in rows] for m in GEOMETRY_METRICS}
        if corr and pts.shape[1] == gt_pts.shape[1]:
            from metrics.geometry import tracking_error

            geo["tracking_error"] = [float(v) for v in tracking_error(pts, gt_pts)]
    summary: dict[str, Any] = {}
    for phase, rng in _phase_slices(n_obs, T).items():
        groups = {"all": list(per_view), "seen": [v for v in per_view if v in seen], "held_out": [v for v in per_view if v not in seen]}
        summary[phase] = {g: {m: _mean([per_view[v][m][t] for v in views for t in rng]) for m in IMAGE_METRICS}
                          for g, views in groups.items() if views}
        summary[phase]["geometry"] = {m: _mean([vals[t] for t in rng]) for m, vals in geo.items()}
    out.update(per_frame={"image": per_view, "geometry": geo}, summary=summary,
               params=_param_block(s, read_pred_params(run_sample)),
               hashes=_hashes(sample_path, run_sample))
    return out


def _param_block(s: SampleDir, pred: dict[str, Any] | None) -> dict[str, Any]:
    """Parameter errors only where the method's model matches the GT model; otherwise n/a."""
    from metrics.physics_params import param_errors

    gt_model = s.meta["physics"]["model"]
    gt = {k: v for k, v in s.meta["physics"]["params"].items() if isinstance(v, (int, float)) and not k.startswith("log10_")}
    if pred is None:
        return {"status": "n/a", "why": "the method estimated no parameters", "gt_model": gt_model}
    if pred.get("model") != gt_model:
        return {"status": "n/a", "why": f"method model '{pred.get('model')}' differs from GT model '{gt_model}'", "gt_model": gt_model}
    return {"status": "ok", "gt_model": gt_model, "errors": param_errors(pred.get("params", {}), gt),
            "pred": pred.get("params", {}), "gt": gt}


def _hashes(sample_path: Path, run_sample: Path) -> dict[str, Any]:
    pred = {str(p.relative_to(run_sample)): sha256_file(p) for p in sorted((run_sample / "pred").rglob("*")) if p.is_file()}
    gt = {str(p.relative_to(sample_path)): sha256_file(p) for p in sorted(sample_path.rglob("*"))
          if p.is_file() and (p.parts[-3:-2] == ("rgb",) or p.parent.name == "gt")}
    return {"pred": pred, "gt": gt}


def evaluate_run(run_root: Path, data_root: Path | None = None, cfg: dict[str, Any] | None = None,
                 on_progress: Callable[[int, int, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Score every sample of a run dir; writes metrics.json per sample and RUN/results.json."""
    run_json = run_root / "run.json"
    if not run_json.exists():
        raise UserError(str(run_root), "not a run directory (no run.json)", "pass the --out of a `bench run`")
    run = read_json(run_json)
    data_root = Path(data_root or run["dataset"])
    if not (data_root / "manifest.jsonl").exists():
        raise UserError("--data", f"dataset '{data_root}' not found", "pass --data pointing at the dataset the run used")
    cfg = {**DEFAULT_EVAL, **(cfg or {})}
    manifest = {r["sample_id"]: r for r in read_manifest(data_root)}
    results = []
    for i, sid in enumerate(run["samples"], 1):
        if sid not in manifest:
            raise UserError(str(run_json), f"sample '{sid}' is not in the dataset {data_root}", "pass the --data the run used")
        m = evaluate_sample(data_root / sid, run_root / sid, cfg)
        m["split"] = manifest[sid]["split"]
        m["hashes_gt_manifest"] = manifest[sid]["files"] and {k: v for k, v in manifest[sid]["files"].items() if k.startswith("gt/")}
        write_json(run_root / sid / "metrics.json", m)
        results.append({k: m.get(k) for k in ("sample_id", "object_id", "category", "split", "physics_model", "scenario",
                                               "status", "reason", "summary", "params", "cost")})
        if on_progress:
            on_progress(i, len(run["samples"]), m)
    summary = {"format": EVAL_FORMAT, "method": run["method"], "method_spec": run["method_spec"], "split": run["split"],
               "config_sha256": run["config_sha256"], "dataset": str(data_root), "eval_config": cfg, "samples": results}
    write_json(run_root / "results.json", summary)
    return summary
