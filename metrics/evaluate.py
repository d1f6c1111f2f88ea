"""`bench eval`: score a run dir against its dataset. Metrics are computed here, never by methods.

Per sample it writes ``RUN/<sample_id>/metrics.json``: per-frame values of every metric (per view
for image metrics), means per phase (observed / future) and view group (seen / held_out / all),
parameter errors (n/a where the models differ), cost, the conventions used, and sha256 of every
prediction and GT file it read plus the method config. ``RUN/results.json`` collects the
per-sample summaries with the sha256 of each metrics.json (NerfBaselines-style results file).

A transfer run (run.json ``"track": "transfer"``) is scored against the held-out interaction
``DATA/<sid>/transfer/`` (frames and points) instead of the main GT; the observed / future split
stays the sample's time split. A ``not_applicable`` sample keeps its status and has no metrics.
Material accuracy (PhysInteract eq. 6) uses ``pred/fields.npz`` when a method writes one (``E`` per
predicted particle and their frame-0 positions ``x0``; each GT particle of ``gt/fields.npz`` takes
the E of its nearest predicted particle).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.dataset import SampleDir, read_manifest
from core.errors import UserError
from core.hashing import digest, sha256_file
from core.jsonio import read_json, write_json
from core.rundir import STATUS_JSON, read_pred_frames, read_pred_params, read_pred_points

EVAL_FORMAT = "physrecon-metrics/1"
IMAGE_METRICS = ("psnr", "psnr_channel_mean", "ssim", "ssim_skimage7", "iou")
GEOMETRY_METRICS = ("chamfer", "chamfer_reconphys", "chamfer_springgaus_x1e6", "chamfer_phystwin_l1", "emd", "emd_sq")
DEFAULT_EVAL = {"emd_n": 256, "emd_seed": 0, "chamfer_n": None, "chamfer_seed": 0, "iou_threshold": 0.5, "lpips": True}
_TRACKS = {"freefall": "freefall", "interaction": "interaction", "transfer": "transfer"}
_warned: set[str] = set()


def track_of(run: dict[str, Any], scenario_kind: str) -> str:
    """Leaderboard track: run.json ``track`` if the run declares one (transfer runs), else the
    sample's ``scenario.kind`` (freefall / interaction)."""
    return str(run.get("track") or _TRACKS.get(scenario_kind, scenario_kind))


def lpips_status(cfg: dict[str, Any]) -> dict[str, Any]:
    """Whether LPIPS is computed in this evaluation: ``metrics.lpips.availability()`` or disabled."""
    if not cfg.get("lpips", True):
        return {"status": "disabled", "reason": "LPIPS disabled in the eval config"}
    from metrics.lpips import availability

    return availability()


def _notify_once(line: str) -> None:
    if line not in _warned:
        _warned.add(line)
        print(line, file=sys.stderr)


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


#: how the phase means are taken (written into results.json "protocol" and every metrics.json)
PHASE_CONVENTION = ("Phase means over frames: observed = frames 1..n_obs-1, future = n_obs..T-1, all = 1..T-1. "
                    "Frame 0 is the given initial state (canonical Gaussians posed at frame 0 are an input of "
                    "several methods) and is excluded: its +inf PSNR would make every mean +inf. Per-frame "
                    "arrays keep frame 0.")


def _phase_slices(n_obs: int, n_frames: int) -> dict[str, range]:
    """Frames of each phase; frame 0 (the initial state) is in none (``PHASE_CONVENTION``)."""
    return {"observed": range(1, n_obs), "future": range(n_obs, n_frames), "all": range(1, n_frames)}


def _cost(status: dict[str, Any]) -> dict[str, Any]:
    cost = {k: status.get(k) for k in ("fit_s", "predict_s", "peak_rss_mb", "device")}
    fit, pred = cost["fit_s"], cost["predict_s"]
    cost["runtime_s"] = fit + pred if status.get("status") == "ok" and fit is not None and pred is not None else None
    return cost


def gt_root(sample_path: Path, track: str | None) -> Path:
    """Where the GT frames / points of ``track`` live: ``transfer/`` for the transfer track."""
    return Path(sample_path) / "transfer" if track == "transfer" else Path(sample_path)


def _gt_frame(root: Path, view: str, t: int) -> tuple[np.ndarray, np.ndarray]:
    from core.frames import frame_name, read_rgba_png

    return read_rgba_png(root / "rgb" / view / frame_name(t))


def _gt_points(sample_path: Path, track: str | None) -> np.ndarray:
    return np.load(gt_root(sample_path, track) / "points.npy") if track == "transfer" else SampleDir(sample_path).points()


def field_material_accuracy(sample_path: Path, run_sample: Path) -> dict[str, Any] | None:
    """MA (PhysInteract eq. 6) of a predicted per-particle E field against ``gt/fields.npz`` E.

    Predicted particles are mapped to GT particles by nearest neighbour at frame 0; a prediction
    with exactly one E per GT particle and no ``x0`` is taken as already aligned.
    """
    from metrics.physics_params import material_accuracy

    pf, gf = run_sample / "pred" / "fields.npz", sample_path / "gt" / "fields.npz"
    if not pf.exists() or not gf.exists():
        return None
    pred, gt = np.load(pf), np.load(gf)
    if "E" not in pred.files or "E" not in gt.files:
        return None
    ge, pe = np.asarray(gt["E"], np.float64), np.asarray(pred["E"], np.float64).reshape(-1)
    if "x0" in pred.files:
        from scipy.spatial import cKDTree

        x_gt = SampleDir(sample_path).particles()[0]
        _, nn = cKDTree(np.asarray(pred["x0"], np.float64).reshape(-1, 3)).query(x_gt)
        pe = pe[nn]
    elif pe.shape != ge.shape:
        raise ValueError(f"{pf}: E has {pe.size} entries for {ge.size} GT particles and no x0 to map them")
    return {"param": "E", "n_particles": int(ge.size), "value": material_accuracy(pe, ge), "source": "fields"}


def evaluate_sample(sample_path: Path, run_sample: Path, cfg: dict[str, Any],
                    lpips_info: dict[str, Any] | None = None, run: dict[str, Any] | None = None) -> dict[str, Any]:
    """Compute every metric of one sample; returns the metrics.json content."""
    s = SampleDir(sample_path)
    run = run or {}
    track = run.get("track")
    root = gt_root(sample_path, track)
    lpips_info = lpips_info or {"status": "disabled", "reason": "not requested"}
    status = read_json(run_sample / STATUS_JSON) if (run_sample / STATUS_JSON).exists() else {"status": "failed", "reason": "no status.json (not run)"}
    kind = s.meta["scenario"]["kind"]
    out: dict[str, Any] = {"format": EVAL_FORMAT, "sample_id": s.sample_id, "object_id": s.meta["object_id"],
                           "category": s.meta["category"], "physics_model": s.meta["physics"]["model"],
                           "scenario": kind, "track": track_of(run, kind), "status": status["status"],
                           "reason": status.get("reason"), "eval_config": cfg, "cost": _cost(status),
                           "time": {"n_frames": s.n_frames, "n_observed": s.n_observed, "phases": PHASE_CONVENTION},
                           "views": {"seen": list(s.meta["render"]["seen_views"]),
                                     "held_out": [v for v in s.views if v not in s.meta["render"]["seen_views"]]}}
    if lpips_info["status"] != "ok":
        out["unavailable"] = {"lpips": lpips_info["reason"]}
    if status["status"] != "ok":
        return out
    T, n_obs = s.n_frames, s.n_observed
    seen = set(s.meta["render"]["seen_views"])
    image_metrics = IMAGE_METRICS + (("lpips",) if lpips_info["status"] == "ok" else ())
    per_view: dict[str, dict[str, list[float]]] = {}
    for view in s.views:
        fr = read_pred_frames(run_sample, view, T)
        if fr is None:
            continue
        gt_frames = [_gt_frame(root, view, t) for t in range(T)]
        rows = [_image_metrics(fr[0][t], fr[1][t], *gt_frames[t], cfg["iou_threshold"]) for t in range(T)]
        per_view[view] = {m: [r[m] for r in rows] for m in IMAGE_METRICS}
        if "lpips" in image_metrics:
            from metrics.lpips import lpips_batch

            per_view[view]["lpips"] = [float(v) for v in lpips_batch(fr[0], np.stack([g[0] for g in gt_frames]))]
    geo: dict[str, list[float]] = {}
    pts, corr = read_pred_points(run_sample)
    gt_pts = _gt_points(sample_path, track)
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
        summary[phase] = {g: {m: _mean([per_view[v][m][t] for v in views for t in rng]) for m in image_metrics}
                          for g, views in groups.items() if views}
        summary[phase]["geometry"] = {m: _mean([vals[t] for t in rng]) for m, vals in geo.items()}
    from metrics.physics_params import compare_params

    phys = s.meta["physics"]
    params = compare_params(read_pred_params(run_sample), phys["model"], phys["params"],
                            n_particles=int(phys.get("n_particles", 1)), gt_per_particle=phys.get("per_particle"))
    ma = field_material_accuracy(sample_path, run_sample)
    if ma is not None:
        params["material_accuracy"] = ma
    out.update(per_frame={"image": per_view, "geometry": geo}, summary=summary, params=params,
               gt_source=str(root.relative_to(sample_path)) or ".", hashes=_hashes(sample_path, run_sample, run))
    return out


def _hashes(sample_path: Path, run_sample: Path, run: dict[str, Any]) -> dict[str, Any]:
    pred = {str(p.relative_to(run_sample)): sha256_file(p) for p in sorted((run_sample / "pred").rglob("*")) if p.is_file()}
    gt = {str(p.relative_to(sample_path)): sha256_file(p) for p in sorted(sample_path.rglob("*"))
          if p.is_file() and (p.parts[-3:-2] == ("rgb",) or p.parent.name in ("gt", "transfer"))}
    return {"pred": pred, "gt": gt, "predictions_sha256": digest(pred), "ground_truth_sha256": digest(gt),
            "config_sha256": run.get("config_sha256")}


def evaluate_run(run_root: Path, data_root: Path | None = None, cfg: dict[str, Any] | None = None,
                 on_progress: Callable[[int, int, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Score every sample of a run dir; writes metrics.json per sample and RUN/results.json."""
    from metrics.conventions import METRICS

    run_json = run_root / "run.json"
    if not run_json.exists():
        raise UserError(str(run_root), "not a run directory (no run.json)", "pass the --out of a `bench run`")
    run = read_json(run_json)
    data_root = Path(data_root or run["dataset"])
    if not (data_root / "manifest.jsonl").exists():
        raise UserError("--data", f"dataset '{data_root}' not found", "pass --data pointing at the dataset the run used")
    cfg = {**DEFAULT_EVAL, **(cfg or {})}
    lp = lpips_status(cfg)
    if lp["status"] == "unavailable":
        _notify_once(lp["reason"])
    manifest = {r["sample_id"]: r for r in read_manifest(data_root)}
    results = []
    for i, sid in enumerate(run["samples"], 1):
        if sid not in manifest:
            raise UserError(str(run_json), f"sample '{sid}' is not in the dataset {data_root}", "pass the --data the run used")
        m = evaluate_sample(data_root / sid, run_root / sid, cfg, lp, run)
        m["split"] = manifest[sid]["split"]
        m["hashes_gt_manifest"] = manifest[sid]["files"] and {k: v for k, v in manifest[sid]["files"].items() if k.startswith("gt/")}
        write_json(run_root / sid / "metrics.json", m)
        entry = {k: m.get(k) for k in ("sample_id", "object_id", "category", "split", "physics_model", "scenario", "track",
                                        "status", "reason", "summary", "params", "cost", "unavailable")}
        h = m.get("hashes") or {}
        entry["hashes"] = {"metrics_sha256": sha256_file(run_root / sid / "metrics.json"),
                           "predictions_sha256": h.get("predictions_sha256"), "ground_truth_sha256": h.get("ground_truth_sha256")}
        results.append(entry)
        if on_progress:
            on_progress(i, len(run["samples"]), m)
    used = [*IMAGE_METRICS, *(["lpips"] if lp["status"] == "ok" else []), *GEOMETRY_METRICS, "tracking_error",
            "param_abs", "param_log10_abs", "material_accuracy"]
    summary = {"format": EVAL_FORMAT, "method": run["method"], "method_spec": run["method_spec"], "split": run["split"],
               "track": run.get("track"), "config": run.get("config"), "config_sha256": run["config_sha256"],
               "dataset": str(data_root), "dataset_manifest_sha256": run.get("dataset_manifest_sha256"),
               "versions": run.get("versions"), "eval_config": cfg, "lpips": lp,
               "protocol": {"phases": PHASE_CONVENTION, **{n: METRICS[n].convention for n in used}},
               "samples": results}
    write_json(run_root / "results.json", summary)
    return summary
