"""GT-vs-prediction animations and per-frame series for the per-sample pages."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np

from core.jsonio import read_json


def slug(text: str) -> str:
    """A file-name-safe slug; a short hash keeps distinct texts distinct (``<script>`` -> ``script-1a2b3c``)."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "x"
    return base if base == text else f"{base}-{hashlib.sha256(text.encode()).hexdigest()[:6]}"


PANEL_PX = 192  # each GT / prediction panel is upscaled (nearest) to at least this many pixels wide


def _labelled(img: np.ndarray, text: str, scale: int) -> np.ndarray:
    """``img`` (H, W, 3) in [0, 1] upscaled ``scale``x with ``text`` on a dark band at its top."""
    from PIL import Image, ImageDraw

    big = np.kron(np.clip(img, 0, 1), np.ones((scale, scale, 1)))
    pil = Image.fromarray((big * 255 + 0.5).astype(np.uint8))
    d = ImageDraw.Draw(pil)
    d.rectangle([0, 0, pil.width, 13], fill=(20, 20, 20))
    d.text((3, 1), text[:48], fill=(255, 255, 255))
    return np.asarray(pil, np.float32) / 255.0


def comparison_gif(dataset: Path, run_dir: Path, sample_id: str, out: Path, max_views: int = 3,
                   label: str = "prediction", over_plate: bool = True) -> str | None:
    """Write a GIF: each row one view (monocular first, held-out views next), left GT, right prediction, each
    panel upscaled to ``PANEL_PX`` and labelled in the image (view, GT / method, frame, observed / future).

    ``over_plate``: the prediction is shown as the run was scored, over the sample's background plate where it has
    one (eval config ``background: plate``; metrics.evaluate.composite_over_plate).
    Returns None (writes nothing) when the dataset or the predicted frames are not on this machine.
    """
    from metrics.evaluate import composite_over_plate

    from core.dataset import SampleDir
    from core.names import child
    from core.rundir import RunSample
    from render.video import write_gif

    sample = SampleDir(child(dataset, sample_id, "sample id", run_dir / "results.json"))
    if not sample.sample_json.exists():
        return None
    mono = sample.monocular_view
    views = [mono] + [v for v in sample.views if v != mono]
    rows = []
    run_sample = RunSample(child(run_dir, sample_id, "sample id", run_dir / "results.json"))
    for view in views[:max_views]:
        pred = run_sample.read_frames(view, sample.n_frames)
        if pred is None:
            continue
        if over_plate:
            pred = composite_over_plate(pred, sample.plate(view), sample.meta["render"]["background"])
        scale = max(1, PANEL_PX // sample.meta["render"]["width"])
        tag = "seen" if view in sample.seen_views else "held out"
        rows.append([np.concatenate([
            _labelled(sample.frame(view, t)[0], f"GT {view} ({tag}) t={t} {'obs' if t < sample.n_observed else 'future'}", scale),
            _labelled(pred[0][t], f"{label}", scale)], axis=1) for t in range(sample.n_frames)])
    if not rows:
        return None
    frames = [np.concatenate([r[t] for r in rows], axis=0) for t in range(sample.n_frames)]
    out.parent.mkdir(parents=True, exist_ok=True)
    write_gif(out, frames, fps=float(sample.meta["time"]["fps"]))
    return ", ".join(views[:len(rows)])


def _f(v: Any) -> float | None:
    if isinstance(v, str):
        return {"inf": float("inf"), "-inf": float("-inf")}.get(v, float("nan"))
    return None if v is None else float(v)


def frame_series(run_dir: Path, sample_id: str) -> dict[str, list[float | None]]:
    """Per-frame metric values of one sample from its metrics.json: image metrics averaged over the
    views (``psnr`` ...), geometry metrics as stored. Empty when the sample has no metrics."""
    from core.names import child
    from core.rundir import RunSample

    p = RunSample(child(run_dir, sample_id, "sample id", run_dir / "results.json")).metrics_json
    if not p.exists():
        return {}
    pf = read_json(p).get("per_frame") or {}
    out: dict[str, list[float | None]] = {}
    views = list((pf.get("image") or {}).values())
    for m in sorted({m for v in views for m in v}):
        cols = [[_f(x) for x in v[m]] for v in views if m in v]
        arr = np.array([[np.nan if x is None else x for x in c] for c in cols], dtype=float)
        with np.errstate(invalid="ignore"):
            out[m] = [float(x) for x in arr.mean(axis=0)]
    for m, vals in (pf.get("geometry") or {}).items():
        out[m] = [_f(x) for x in vals]
    return out
