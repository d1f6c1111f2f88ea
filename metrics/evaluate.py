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

from core.dataset import SampleDir, read_manifest, require_intact
from core.errors import UserError
from core.hashing import digest, sha256_file
from core.jsonio import write_json
from core.rundir import RunDir, RunSample
from metrics.conventions import METRICS, MetricSpec

EVAL_FORMAT = "physrecon-metrics/1"
#: the metrics of each kind, in registry order (``metrics.conventions`` drives what is computed)
IMAGE_METRICS = tuple(n for n, m in METRICS.items() if m.kind == "image")
GEOMETRY_METRICS = tuple(n for n, m in METRICS.items() if m.kind == "points")
TRACK_METRICS = tuple(n for n, m in METRICS.items() if m.kind == "tracks")
DEFAULT_EVAL = {"emd_n": 256, "emd_seed": 0, "chamfer_n": None, "chamfer_seed": 0, "iou_threshold": 0.5, "lpips": True,
                "background": "plate"}
#: how a prediction meets the GT's background before the image metrics (eval config ``background``)
BACKGROUND_CONVENTIONS = {
    "plate": ("Image metrics see each predicted frame composited over the sample's background plate where the sample "
              "has one (Blender GT: background/<view>.png, the view rendered without the object): "
              "rgb' = rgb + (1 - alpha) * (plate - background), with the prediction's alpha and the flat colour "
              "sample.json render.background it was rendered over. The plate has no object shadow and the "
              "prediction is not Cycles-shaded: that is the renderer gap every method and the oracle keep. Samples "
              "without a plate (splat GT: flat background) are scored as rendered."),
    "flat": "Image metrics see each predicted frame as rendered, over the flat background colour (no plate).",
}
NOT_RUN = "not_run"
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


def _bound(names: tuple[str, ...], cfg: dict[str, Any]) -> list[tuple[str, MetricSpec, Any, dict[str, Any]]]:
    return [(n, METRICS[n], METRICS[n].resolve(), METRICS[n].call_kwargs(cfg)) for n in names]


def _exclude_manipulator(pred: tuple[np.ndarray, np.ndarray], gt: list[tuple[np.ndarray, np.ndarray]],
                         manip: list[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """The prediction with the GT's pixels (RGB and object mask) wherever the manipulator proxy covers any part
    of a pixel (render/manipulator.py): no method is scored on the hand it was not asked to render, nor on the
    object behind it."""
    if all(m is None for m in manip):
        return pred
    rgb, alpha = pred[0].copy(), pred[1].copy()
    for t, m in enumerate(manip):
        if m is not None:
            on = m > 0.0
            rgb[t][on] = gt[t][0][on]
            alpha[t][on] = gt[t][1][on]
    return rgb, alpha


def composite_over_plate(pred: tuple[np.ndarray, np.ndarray], plate: np.ndarray | None,
                         background: Any) -> tuple[np.ndarray, np.ndarray]:
    """``BACKGROUND_CONVENTIONS["plate"]``: predicted (rgb (T,H,W,3), alpha (T,H,W)) rendered over the flat
    ``background`` colour -> over ``plate`` (H, W, 3); unchanged when there is no plate."""
    from core.frames import replace_background

    if plate is None:
        return pred
    rgb, alpha = pred
    return replace_background(rgb, alpha, np.asarray(background, np.float32), plate), alpha


def _image_rows(pred: tuple[np.ndarray, np.ndarray], gt: list[tuple[np.ndarray, np.ndarray]], metrics) -> dict[str, list[float]]:
    """Per-frame values of every image metric of one view (rgb metrics on RGB, alpha metrics on alpha)."""
    out: dict[str, list[float]] = {n: [] for n, *_ in metrics}
    for t, (g_rgb, g_a) in enumerate(gt):
        for n, spec, fn, kw in metrics:
            p, g = (pred[0][t], g_rgb) if spec.reads == "rgb" else (pred[1][t], g_a)
            out[n].append(float(fn(p, g, **kw)))
    return out


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


def field_material_accuracy(sample_path: Path, run_sample: Path) -> dict[str, Any] | None:
    """MA (PhysInteract eq. 6) of a predicted per-particle E field against ``gt/fields.npz`` E.

    Predicted particles are mapped to GT particles by nearest neighbour at frame 0; a prediction
    with exactly one E per GT particle and no ``x0`` is taken as already aligned.
    """
    from metrics.physics_params import material_accuracy

    pf, gf = RunSample(run_sample).fields_npz, SampleDir(sample_path).gt_file("fields.npz")
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
    """Compute every metric of one sample (the kinds ``metrics.conventions`` declares); returns the
    metrics.json content. A sample without status.json is ``not_run`` (no metrics, not a failure)."""
    s = SampleDir(sample_path)
    rs = RunSample(run_sample)
    run = run or {}
    track = run.get("track")
    gt = s.track(track)
    lpips_info = lpips_info or {"status": "disabled", "reason": "not requested"}
    status = rs.status() or {"status": NOT_RUN, "reason": "no status.json: not run yet (`bench run` resumes)"}
    kind = s.meta["scenario"]["kind"]
    seen_views, views = s.seen_views, s.views
    out: dict[str, Any] = {"format": EVAL_FORMAT, "sample_id": s.sample_id, "object_id": s.meta["object_id"],
                           "category": s.meta["category"], "physics_model": s.meta["physics"]["model"],
                           "scenario": kind, "track": track_of(run, kind), "status": status["status"],
                           "reason": status.get("reason"), "eval_config": cfg, "cost": _cost(status),
                           "time": {"n_frames": s.n_frames, "n_observed": s.n_observed, "phases": PHASE_CONVENTION},
                           "views": {"seen": seen_views, "held_out": [v for v in views if v not in seen_views]}}
    if lpips_info["status"] != "ok":
        out["unavailable"] = {"lpips": lpips_info["reason"]}
    if status["status"] != "ok":
        return out
    T, n_obs = s.n_frames, s.n_observed
    seen = set(seen_views)
    image = _bound(IMAGE_METRICS, cfg)
    batch = _bound(("lpips",), cfg) if lpips_info["status"] == "ok" else []
    image_metrics = IMAGE_METRICS + tuple(n for n, *_ in batch)
    per_view: dict[str, dict[str, list[float]]] = {}
    for view in views:
        fr = rs.read_frames(view, T)
        if fr is None:
            continue
        gt_frames = [gt.frame(view, t) for t in range(T)]
        if cfg.get("background", "plate") == "plate":
            fr = composite_over_plate(fr, s.plate(view), s.meta["render"]["background"])
        fr = _exclude_manipulator(fr, gt_frames, [gt.manip(view, t) for t in range(T)])
        per_view[view] = _image_rows(fr, gt_frames, image)
        for n, _spec, fn, kw in batch:  # metrics that take every frame of the view at once (LPIPS)
            per_view[view][n] = [float(v) for v in fn(fr[0], np.stack([g[0] for g in gt_frames]), **kw)]
    geo: dict[str, list[float]] = {}
    pts, corr = rs.read_points()
    gt_pts = gt.points()
    if pts is not None:
        if pts.shape[0] != T:
            raise ValueError(f"{rs.points_path} has {pts.shape[0]} frames, expected {T}")
        paired = bool(corr and pts.shape[1] == gt_pts.shape[1])
        out["geometry_pairing"] = "shared_index" if paired else "independent"
        for n, _spec, fn, kw in _bound(GEOMETRY_METRICS, cfg):
            geo[n] = [float(fn(pts[t], gt_pts[t], paired=paired, **kw)) for t in range(T)]
        if paired:
            for n, _spec, fn, kw in _bound(TRACK_METRICS, cfg):
                geo[n] = [float(v) for v in fn(pts, gt_pts, **kw)]
    summary: dict[str, Any] = {}
    for phase, rng in _phase_slices(n_obs, T).items():
        groups = {"all": list(per_view), "seen": [v for v in per_view if v in seen], "held_out": [v for v in per_view if v not in seen]}
        summary[phase] = {g: {m: _mean([per_view[v][m][t] for v in vs for t in rng]) for m in image_metrics}
                          for g, vs in groups.items() if vs}
        summary[phase]["geometry"] = {m: _mean([vals[t] for t in rng]) for m, vals in geo.items()}
    from metrics.physics_params import compare_params

    phys = s.meta["physics"]
    params = compare_params(rs.read_params(), phys["model"], phys["params"],
                            n_particles=int(phys.get("n_particles", 1)), gt_per_particle=phys.get("per_particle"))
    ma = field_material_accuracy(sample_path, run_sample)
    if ma is not None:
        params["material_accuracy"] = ma
    out.update(per_frame={"image": per_view, "geometry": geo}, summary=summary, params=params,
               gt_source=str(gt.root.relative_to(s.path)) or ".", hashes=_hashes(sample_path, run_sample, run))
    return out


def _hashes(sample_path: Path, run_sample: Path, run: dict[str, Any]) -> dict[str, Any]:
    pred_dir = RunSample(run_sample).pred_dir
    pred = {str(p.relative_to(run_sample)): sha256_file(p) for p in sorted(pred_dir.rglob("*")) if p.is_file()}
    gt = {str(p.relative_to(sample_path)): sha256_file(p) for p in sorted(sample_path.rglob("*"))
          if p.is_file() and (p.parts[-3:-2] == ("rgb",) or p.parent.name in ("gt", "transfer", "background"))}
    return {"pred": pred, "gt": gt, "predictions_sha256": digest(pred), "ground_truth_sha256": digest(gt),
            "config_sha256": run.get("config_sha256")}


def protocol_of(manifest_sha256: str | None, split: str, track: str | None, cfg: dict[str, Any] | None = None,
                lp: dict[str, Any] | None = None) -> tuple[dict[str, str], dict[str, Any], str]:
    """(conventions, protocol inputs, protocol id) of an evaluation of ``split`` / ``track`` (None: each sample's own
    scenario) of the dataset whose manifest hashes to ``manifest_sha256``, under ``cfg`` (default DEFAULT_EVAL)."""
    from metrics.protocol import protocol_id, protocol_inputs

    cfg = {**DEFAULT_EVAL, **(cfg or {})}
    lp = lpips_status(cfg) if lp is None else lp
    used = [*IMAGE_METRICS, *(["lpips"] if lp["status"] == "ok" else []), *GEOMETRY_METRICS, *TRACK_METRICS,
            *(n for n, spec in METRICS.items() if spec.kind == "params")]
    if cfg.get("background", "plate") not in BACKGROUND_CONVENTIONS:
        raise UserError("eval config", f"background '{cfg.get('background')}' is not a known convention",
                        f"use one of {', '.join(BACKGROUND_CONVENTIONS)}")
    conventions = {"phases": PHASE_CONVENTION, "background": BACKGROUND_CONVENTIONS[cfg.get("background", "plate")],
                   **{n: METRICS[n].convention for n in used}}
    pin = protocol_inputs(manifest_sha256, split, track, cfg, conventions)
    return conventions, pin, protocol_id(pin)


def evaluate_run(run_root: Path, data_root: Path | None = None, cfg: dict[str, Any] | None = None,
                 on_progress: Callable[[int, int, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Score every sample of a run dir; writes metrics.json per sample and RUN/results.json."""
    run_dir = RunDir(run_root)
    run = run_dir.meta()
    sids = run_dir.sample_ids(run)
    data_root = Path(data_root or run["dataset"])
    if not (data_root / "manifest.jsonl").exists():
        raise UserError("--data", f"dataset '{data_root}' not found", "pass --data pointing at the dataset the run used")
    cfg = {**DEFAULT_EVAL, **(cfg or {})}
    lp = lpips_status(cfg)
    if lp["status"] == "unavailable":
        _notify_once(lp["reason"])
    manifest = {r["sample_id"]: r for r in read_manifest(data_root)}
    results = []
    for i, sid in enumerate(sids, 1):
        if sid not in manifest:
            raise UserError(str(run_dir.run_json), f"sample '{sid}' is not in the dataset {data_root}", "pass the --data the run used")
        rs = run_dir.sample(sid)
        require_intact(data_root, [manifest[sid]])  # a GT file that changed since the manifest is never scored
        m = evaluate_sample(data_root / sid, rs.path, cfg, lp, run)
        m["split"] = manifest[sid]["split"]
        m["hashes_gt_manifest"] = manifest[sid]["files"] and {k: v for k, v in manifest[sid]["files"].items() if k.startswith("gt/")}
        if m["status"] != NOT_RUN:
            write_json(rs.metrics_json, m)
        entry = {k: m.get(k) for k in ("sample_id", "object_id", "category", "split", "physics_model", "scenario", "track",
                                        "status", "reason", "summary", "params", "cost", "unavailable", "geometry_pairing")}
        h = m.get("hashes") or {}
        entry["hashes"] = {"metrics_sha256": sha256_file(rs.metrics_json) if rs.metrics_json.exists() and m["status"] != NOT_RUN else None,
                           "predictions_sha256": h.get("predictions_sha256"), "ground_truth_sha256": h.get("ground_truth_sha256")}
        results.append(entry)
        if on_progress:
            on_progress(i, len(sids), m)
    conventions, pin, pid = protocol_of(run.get("dataset_manifest_sha256"), run["split"], run.get("track"), cfg, lp)
    summary = {"format": EVAL_FORMAT, "method": run["method"], "method_spec": run["method_spec"], "split": run["split"],
               "track": run.get("track"), "config": run.get("config"), "budget": run.get("budget"),
               "config_sha256": run["config_sha256"],
               "dataset": str(data_root), "dataset_manifest_sha256": run.get("dataset_manifest_sha256"),
               "versions": run.get("versions"), "eval_config": cfg, "lpips": lp, "protocol": conventions,
               "protocol_inputs": pin, "protocol_id": pid, "seed_group": run.get("seed_group"),
               "samples": results}
    write_json(run_dir.results_json, summary)
    return summary
