"""`bench check`: validate a dataset or run directory against format v1 (files, hashes, shapes)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.dataset import DATASET_JSON, FAILURE_JSON, SampleDir, read_manifest
from core.errors import UserError
from core.frames import frame_name
from core.hashing import sha256_file
from core.jsonio import read_json
from core.rundir import STATUS_JSON


def check_sample(root: Path, rec: dict) -> list[str]:
    sid = rec["sample_id"]
    d = root / sid
    if rec["status"] != "ok":
        return [] if (d / FAILURE_JSON).exists() else [f"{sid}: failed in the manifest but no {FAILURE_JSON}"]
    problems = []
    for rel, digest in rec["files"].items():
        p = d / rel
        if not p.exists():
            problems.append(f"{sid}/{rel}: missing")
        elif sha256_file(p) != digest:
            problems.append(f"{sid}/{rel}: sha256 differs from the manifest")
    if problems:
        return problems
    s = SampleDir(d)
    T = s.n_frames
    pts, parts = s.points(), s.particles()
    if pts.ndim != 3 or pts.shape[0] != T or pts.shape[2] != 3:
        problems.append(f"{sid}/gt/points.npy: shape {pts.shape}, expected ({T}, M, 3)")
    if parts.ndim != 3 or parts.shape[0] != T or parts.shape[2] != 3:
        problems.append(f"{sid}/gt/particles.npy: shape {parts.shape}, expected ({T}, N, 3)")
    if not np.isfinite(pts).all() or not np.isfinite(parts).all():
        problems.append(f"{sid}/gt: non-finite values")
    for v in s.views:
        for t in range(T):
            if not (d / "rgb" / v / frame_name(t)).exists():
                problems.append(f"{sid}/rgb/{v}/{frame_name(t)}: missing")
                break
    meta = s.meta
    for key in ("seed", "physics", "time", "world", "render", "versions", "scenario"):
        if key not in meta:
            problems.append(f"{sid}/sample.json: missing key '{key}'")
    return problems


def check_dataset(root: Path) -> tuple[list[str], int]:
    recs = read_manifest(root)
    problems = [] if (root / DATASET_JSON).exists() else [f"{root}: missing {DATASET_JSON}"]
    for rec in recs:
        problems += check_sample(root, rec)
    listed = {r["sample_id"] for r in recs}
    stray = [p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in listed]
    problems += [f"{s}: directory not in the manifest" for s in stray]
    return problems, len(recs)


def check_run(root: Path) -> tuple[list[str], int]:
    run = read_json(root / "run.json")
    data = Path(run["dataset"])
    problems = []
    for sid in run["samples"]:
        st_path = root / sid / STATUS_JSON
        if not st_path.exists():
            problems.append(f"{sid}: no {STATUS_JSON} (not run yet? `bench run` resumes)")
            continue
        st = read_json(st_path)
        if st.get("status") not in ("ok", "failed", "not_applicable"):
            problems.append(f"{sid}/{STATUS_JSON}: status must be ok, failed or not_applicable")
        if st.get("status") in ("failed", "not_applicable") and not st.get("reason"):
            problems.append(f"{sid}/{STATUS_JSON}: failed without a reason")
        if st.get("status") == "ok" and (data / sid / "sample.json").exists():
            s = SampleDir(data / sid)
            for v in s.views:
                missing = [t for t in range(s.n_frames) if not (root / sid / "pred" / "rgb" / v / frame_name(t)).exists()]
                if missing and (root / sid / "pred" / "rgb" / v).exists():
                    problems.append(f"{sid}/pred/rgb/{v}: {len(missing)} frame(s) missing")
            pts = root / sid / "pred" / "points.npy"
            if pts.exists():
                a = np.load(pts)
                if a.ndim != 3 or a.shape[0] != s.n_frames or a.shape[2] != 3:
                    problems.append(f"{sid}/pred/points.npy: shape {a.shape}, expected ({s.n_frames}, P, 3)")
    return problems, len(run["samples"])


def check_path(path: Path) -> tuple[list[str], str, int]:
    if not path.exists():
        raise UserError(str(path), "does not exist", "pass a dataset directory (with manifest.jsonl) or a run directory (with run.json)")
    if (path / "manifest.jsonl").exists():
        problems, n = check_dataset(path)
        return problems, "dataset", n
    if (path / "run.json").exists():
        problems, n = check_run(path)
        return problems, "run", n
    raise UserError(str(path), "neither a dataset (manifest.jsonl) nor a run directory (run.json)", "pass the --out of `bench gen` or `bench run`")
