"""`bench board`: a self-contained static HTML leaderboard (jinja2, autoescaped) + CSV/JSON exports."""
from __future__ import annotations

import math
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from leaderboards.aggregate import failures, load_results, method_table, sample_table

# (column, header text, metric-convention name, decimals)
COLUMNS = [
    ("psnr/observed", "PSNR↑ obs", "psnr", 2), ("psnr/future", "PSNR↑ fut", "psnr", 2),
    ("ssim/observed", "SSIM↑ obs", "ssim", 4), ("ssim/future", "SSIM↑ fut", "ssim", 4),
    ("iou/observed", "IoU↑ obs", "iou", 4), ("iou/future", "IoU↑ fut", "iou", 4),
    ("chamfer/observed", "CD↓ obs", "chamfer", 6), ("chamfer/future", "CD↓ fut", "chamfer", 6),
    ("emd/future", "EMD↓ fut", "emd", 4), ("tracking_error/future", "Track↓ fut", "tracking_error", 4),
    ("param_log10_abs/stiffness", "|Δlog10 k|↓", "param_log10_abs", 3),
    ("runtime_s", "time (s)", None, 2), ("peak_mem_mb", "peak RSS (MB)", None, 0),
]


def fmt(mean: float, std: float | None = None, decimals: int = 3) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "—"
    if math.isinf(mean):
        return "∞" if mean > 0 else "-∞"
    s = f"{mean:.{decimals}f}"
    if std is not None and not math.isnan(std) and not math.isinf(std):
        s += f" ± {std:.{decimals}f}"
    return s


def _gallery(results: list[dict[str, Any]], media: Path) -> list[dict[str, Any]]:
    """One GT | prediction GIF (monocular view) for the first successful sample of each run."""
    from bench.dataset_format import SampleDir
    from bench.run_format import read_pred_frames
    from render.video import write_gif

    out = []
    for res in results:
        ok = [s for s in res["samples"] if s["status"] == "ok"]
        if not ok:
            continue
        sid = ok[0]["sample_id"]
        sample = SampleDir(Path(res["dataset"]) / sid)
        view = sample.meta["render"]["monocular_view"]
        pred = read_pred_frames(Path(res["run_dir"]) / sid, view, sample.n_frames)
        if pred is None:
            continue
        frames = [np.concatenate([sample.frame(view, t)[0], pred[0][t]], axis=1) for t in range(sample.n_frames)]
        name = f"{res['method_spec']['name']}-{sid}.gif".replace("/", "_")
        write_gif(media / name, frames, fps=float(sample.meta["time"]["fps"]))
        w = frames[0].shape[1]
        out.append({"src": f"media/{name}", "width": max(2 * w, 256),
                    "caption": f"{res['method_spec']['label']} · {sid} ({sample.meta['object_id']}) · left GT, right prediction"})
    return out


def build_site(run_dirs: list[Path], out: Path, title: str = "physrecon-bench leaderboard") -> Path:
    import jinja2

    from metrics.conventions import METRICS

    results = load_results(run_dirs)
    samples = sample_table(results)
    table = method_table(samples)
    out.mkdir(parents=True, exist_ok=True)
    (out / "media").mkdir(exist_ok=True)
    table.to_csv(out / "leaderboard.csv", index=False)
    table.to_json(out / "leaderboard.json", orient="records", indent=1)
    samples.to_csv(out / "samples.csv", index=False)

    notes: list[str] = []
    header = [{"text": "Method", "tip": "", "note": None}, {"text": "Inputs", "tip": "", "note": None},
              {"text": "ok / n", "tip": "successful samples / samples", "note": None},
              {"text": "failed", "tip": "failures count; reasons below", "note": None}]
    for col, text, metric, _ in COLUMNS:
        note = None
        if metric:
            spec = METRICS[metric]
            line = f"{spec.label} [{spec.unit or 'unitless'}]: {spec.convention}"
            if line not in notes:
                notes.append(line)
            note = notes.index(line) + 1
        header.append({"text": text, "tip": col, "note": note})
    notes.append("time: fit + predict wall-clock seconds per sample on the run's device; peak RSS: the sample's process peak resident memory.")
    specs = {r["method_spec"]["name"]: r["method_spec"] for r in results}
    rows = []
    for _, r in table.iterrows():
        spec = specs[r["method"]]
        cells = [r["label"], spec["inputs_text"], f"{r['ok']} / {r['n']}", str(r["failed"])]
        for col, _, _, dec in COLUMNS:
            cells.append(fmt(r.get(col, math.nan), r.get(f"{col}:std", math.nan), dec))
        rows.append({"kind": r["kind"], "cells": cells})
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)
    html = env.get_template("index.html.j2").render(
        title=title, header=header, rows=rows, notes=notes, methods=list(specs.values()),
        failures=failures(samples).to_dict("records"), gallery=_gallery(results, out / "media"),
        datasets=sorted({r["dataset"] for r in results}), splits=sorted({r["split"] for r in results}),
        version=metadata.version("physrecon-bench"))
    index = out / "index.html"
    index.write_text(html)
    return index
