"""Run format v1: the one owner of the layout of what a method run writes (built-in or external) and eval reads.

    RUN/run.json                            method spec, config, dataset, split, versions, sample list
    RUN/results.json                        written by `bench eval`: per-sample summaries
    RUN/<sid>/status.json                   status ok|failed|not_applicable, reason, fit_s, predict_s, peak_rss_mb, device
    RUN/<sid>/pred/rgb/<view>/<t>.png       RGBA predicted frames for every frame and every view
    RUN/<sid>/pred/points.npy               T x P x 3 predicted surface points (optional)
    RUN/<sid>/pred/meta.json                {"points_correspond": bool} (P == M material points?)
    RUN/<sid>/pred/params.json              {"model": ..., "params": {...}} estimated physics (optional)
    RUN/<sid>/pred/fields.npz               per-particle material field E (P,), x0 (P, 3) (optional)
    RUN/<sid>/asset/...                     exported simulation-ready asset (optional)
    RUN/<sid>/work/                         an external program's working directory (optional)
    RUN/<sid>/metrics.json                  written by `bench eval` (per-frame values + hashes)

Sample ids and view names read from run.json / results.json are checked by ``core.names``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import DataError, UserError
from core.frames import frame_name, read_rgba_png, write_rgba_png
from core.jsonio import read_json, write_json
from core.names import child

RUN_FORMAT = "physrecon-run/1"
RUN_JSON = "run.json"
RESULTS_JSON = "results.json"
STATUS_JSON = "status.json"
METRICS_JSON = "metrics.json"


@dataclass
class RunSample:
    """One sample's folder in a run directory."""

    path: Path

    @property
    def status_json(self) -> Path:
        return self.path / STATUS_JSON

    @property
    def metrics_json(self) -> Path:
        return self.path / METRICS_JSON

    @property
    def pred_dir(self) -> Path:
        return self.path / "pred"

    def pred_rgb_dir(self, view: str) -> Path:
        return self.pred_dir / "rgb" / view

    def pred_rgb(self, view: str, t: int) -> Path:
        return self.pred_rgb_dir(view) / frame_name(t)

    @property
    def points_path(self) -> Path:
        return self.pred_dir / "points.npy"

    @property
    def pred_meta_json(self) -> Path:
        return self.pred_dir / "meta.json"

    @property
    def params_json(self) -> Path:
        return self.pred_dir / "params.json"

    @property
    def fields_npz(self) -> Path:
        return self.pred_dir / "fields.npz"

    @property
    def asset_dir(self) -> Path:
        return self.path / "asset"

    @property
    def work_dir(self) -> Path:
        return self.path / "work"

    def status(self) -> dict[str, Any] | None:
        """status.json, or None when the sample has not been run."""
        if not self.status_json.exists():
            return None
        try:
            return read_json(self.status_json)
        except ValueError:
            raise DataError(str(self.status_json), "malformed JSON", "re-run the sample with `bench run --force`") from None

    def read_frames(self, view: str, n_frames: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Predicted (rgb (T,H,W,3), alpha (T,H,W)) of a view, or None if the method wrote none."""
        if not self.pred_rgb_dir(view).exists():
            return None
        rgb, alpha = [], []
        for t in range(n_frames):
            p = self.pred_rgb(view, t)
            if not p.exists():
                raise FileNotFoundError(f"{p}: predicted frame missing (a method must write every frame 0..{n_frames - 1})")
            c, a = read_rgba_png(p)
            rgb.append(c)
            alpha.append(a)
        return np.stack(rgb), np.stack(alpha)

    def read_points(self) -> tuple[np.ndarray | None, bool]:
        corr = bool(read_json(self.pred_meta_json).get("points_correspond", False)) if self.pred_meta_json.exists() else False
        return (np.load(self.points_path) if self.points_path.exists() else None), corr

    def read_params(self) -> dict[str, Any] | None:
        return read_json(self.params_json) if self.params_json.exists() else None


def write_prediction(sample_out: Path, pred: Any) -> None:
    """Write a methods.base.Prediction under ``sample_out/pred``; extra files go below ``sample_out``."""
    from core.names import safe_relpath

    rs = RunSample(Path(sample_out))
    for view, rgb in pred.rgb.items():
        child(rs.pred_dir, view, "predicted view", "the method's prediction")
        alpha = pred.alpha.get(view, np.ones(rgb.shape[:-1], np.float32))
        for t in range(rgb.shape[0]):
            write_rgba_png(rs.pred_rgb(view, t), rgb[t], alpha[t])
    rs.pred_dir.mkdir(parents=True, exist_ok=True)
    if pred.points is not None:
        np.save(rs.points_path, np.asarray(pred.points, np.float32))
    write_json(rs.pred_meta_json, {"points_correspond": bool(pred.points_correspond)})
    if pred.params is not None:
        write_json(rs.params_json, pred.params)
    for rel, data in pred.extra_files.items():
        p = rs.path / safe_relpath(rel, "extra file", "the method's prediction")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


@dataclass
class RunDir:
    """A run directory: run.json, results.json and one ``RunSample`` per sample id."""

    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    @property
    def run_json(self) -> Path:
        return self.path / RUN_JSON

    @property
    def results_json(self) -> Path:
        return self.path / RESULTS_JSON

    def exists(self) -> bool:
        return self.run_json.exists()

    def meta(self) -> dict[str, Any]:
        if not self.run_json.exists():
            raise UserError(str(self.path), "not a run directory (no run.json)", "pass the --out of a `bench run`")
        try:
            return read_json(self.run_json)
        except ValueError:
            raise DataError(str(self.run_json), "malformed JSON") from None

    def sample_ids(self, meta: dict[str, Any] | None = None) -> list[str]:
        """run.json's sample list, each id checked to be a safe name."""
        meta = meta if meta is not None else self.meta()
        for sid in meta.get("samples", []):
            child(self.path, sid, "sample id", self.run_json)
        return list(meta.get("samples", []))

    def sample(self, sid: str) -> RunSample:
        return RunSample(child(self.path, sid, "sample id", self.run_json))


SEED_DIR = "seed-{k}"


def expand_runs(paths: list[Path]) -> list[Path]:
    """Run directories named on a command line: a run dir itself, or a `bench run --seeds K` folder whose
    ``seed-<k>/`` children are run dirs (in seed order). Bundles (.tar.gz) pass through."""
    out = []
    for p in map(Path, paths):
        seeds = sorted(p.glob("seed-*"), key=lambda d: int(d.name.split("-", 1)[1]) if d.name.split("-", 1)[1].isdigit() else -1)
        if not RunDir(p).exists() and p.is_dir() and any(RunDir(d).exists() for d in seeds):
            out += [d for d in seeds if RunDir(d).exists()]
        else:
            out.append(p)
    return out
