"""`bench check`: validate a dataset or run directory against format v1 (names, files, hashes, shapes)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from core.dataset import DATASET_JSON, MANIFEST, SampleDir, verify_sample
from core.errors import DataError, UserError
from core.names import safe_name, safe_relpath
from core.rundir import RunDir


def _manifest(root: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The manifest's records whose names are safe, and one problem line for every other line."""
    recs, problems = [], []
    for i, line in enumerate((root / MANIFEST).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            safe_name(rec.get("sample_id") if isinstance(rec, dict) else None, "sample_id", f"{MANIFEST}:{i}")
            for rel in rec.get("files") or {}:
                safe_relpath(rel, "file path", f"{MANIFEST}:{i}")
        except json.JSONDecodeError:
            problems.append(f"{MANIFEST}:{i}: malformed JSON line")
            continue
        except DataError as err:
            problems.append(f"{err.where}: {err.reason}")
            continue
        recs.append(rec)
    return recs, problems


def check_sample(root: Path, rec: dict) -> list[str]:
    sid = rec["sample_id"]
    s = SampleDir(root / sid)
    if rec["status"] != "ok":
        return [] if s.failure_json.exists() else [f"{sid}: failed in the manifest but no {s.failure_json.name}"]
    problems = verify_sample(root, rec)
    if problems:
        return problems
    try:
        T = s.n_frames
        pts, parts = s.points(), s.particles()
        views = s.views
        s.camera_records()
    except DataError as err:
        return [f"{sid}: {err.where}: {err.reason}"]
    if pts.ndim != 3 or pts.shape[0] != T or pts.shape[2] != 3:
        problems.append(f"{sid}/gt/points.npy: shape {pts.shape}, expected ({T}, M, 3)")
    if parts.ndim != 3 or parts.shape[0] != T or parts.shape[2] != 3:
        problems.append(f"{sid}/gt/particles.npy: shape {parts.shape}, expected ({T}, N, 3)")
    if not np.isfinite(pts).all() or not np.isfinite(parts).all():
        problems.append(f"{sid}/gt: non-finite values")
    for v in views:
        missing = [t for t in range(T) if not s.rgb_path(v, t).exists()]
        if missing:
            problems.append(f"{sid}/rgb/{v}/{s.rgb_path(v, missing[0]).name}: missing")
    return problems


def check_dataset(root: Path) -> tuple[list[str], int]:
    recs, problems = _manifest(root)
    if not (root / DATASET_JSON).exists():
        problems.insert(0, f"{root}: missing {DATASET_JSON}")
    for rec in recs:
        problems += check_sample(root, rec)
    listed = {r["sample_id"] for r in recs}
    stray = [p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in listed]
    problems += [f"{s}: directory not in the manifest" for s in stray]
    return problems, len(recs) + len([p for p in problems if p.startswith(MANIFEST)])


def check_run(root: Path) -> tuple[list[str], int]:
    run = RunDir(root)
    meta = run.meta()
    problems: list[str] = []
    sids = []
    for sid in meta.get("samples", []):
        try:
            sids.append(safe_name(sid, "sample id", run.run_json))
        except DataError as err:
            problems.append(f"{err.where}: {err.reason}")
    data = Path(meta["dataset"])
    for sid in sids:
        rs = run.sample(sid)
        try:
            st = rs.status()
        except DataError as err:
            problems.append(f"{err.where}: {err.reason}")
            continue
        if st is None:
            problems.append(f"{sid}: no {rs.status_json.name} (not run yet? `bench run` resumes)")
            continue
        if st.get("status") not in ("ok", "failed", "not_applicable"):
            problems.append(f"{sid}/{rs.status_json.name}: status must be ok, failed or not_applicable")
        if st.get("status") in ("failed", "not_applicable") and not st.get("reason"):
            problems.append(f"{sid}/{rs.status_json.name}: failed without a reason")
        sample = SampleDir(data / sid)
        if st.get("status") == "ok" and sample.sample_json.exists():
            try:
                views, T = sample.views, sample.n_frames
            except DataError as err:
                problems.append(f"{sid}: {err.where}: {err.reason}")
                continue
            for v in views:
                missing = [t for t in range(T) if not rs.pred_rgb(v, t).exists()]
                if missing and rs.pred_rgb_dir(v).exists():
                    problems.append(f"{sid}/pred/rgb/{v}: {len(missing)} frame(s) missing")
            if rs.points_path.exists():
                a = np.load(rs.points_path)
                if a.ndim != 3 or a.shape[0] != T or a.shape[2] != 3:
                    problems.append(f"{sid}/pred/points.npy: shape {a.shape}, expected ({T}, P, 3)")
    return problems, len(meta.get("samples", []))


def check_path(path: Path) -> tuple[list[str], str, int]:
    if not path.exists():
        raise UserError(str(path), "does not exist", "pass a dataset directory (with manifest.jsonl) or a run directory (with run.json)")
    if (path / MANIFEST).exists():
        problems, n = check_dataset(path)
        return problems, "dataset", n
    if RunDir(path).exists():
        problems, n = check_run(path)
        return problems, "run", n
    raise UserError(str(path), "neither a dataset (manifest.jsonl) nor a run directory (run.json)", "pass the --out of `bench gen` or `bench run`")
