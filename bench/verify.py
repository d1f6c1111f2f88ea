"""`bench verify RUN` and `bench export RUN`: a score can be checked, and handed on, without rerunning the method.

verify: the run's config hash, the dataset's manifest hash and every dataset file the run was scored on,
the predictions' sha256 and each metrics.json's against results.json, the protocol id; then every metric is
recomputed from the stored predictions and GT and compared with metrics.json. The first mismatch is one
line (exit status 2). A run exported by `bench export` (a .tar.gz) is verified the same way.

export: one archive of the run (run.json, results.json, per sample status.json, metrics.json, pred/, and
the exported asset) with BUNDLE.json: the protocol id and the sha256 of every file in it.
"""
from __future__ import annotations

import contextlib
import json
import math
import tempfile
from pathlib import Path
from typing import Any, Iterator

from core.bundle import is_bundle, unpack_bundle, write_bundle
from core.dataset import read_manifest, require_intact
from core.errors import DataError, UserError
from core.hashing import digest, sha256_bytes, sha256_file
from core.jsonio import dumps, read_json
from core.rundir import RunDir


@contextlib.contextmanager
def opened_run(path: Path) -> Iterator[Path]:
    """A run directory, or an exported bundle (.tar.gz) unpacked into a temporary one."""
    if is_bundle(path):
        with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
            yield unpack_bundle(path, Path(tmp))
    else:
        yield path


def _same(a: Any, b: Any, where: str) -> None:
    """Exact equality of two JSON trees (floats compared as JSON writes them); a ``DataError`` at the first diff."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            raise DataError(where, f"keys differ ({sorted(a.keys() ^ b.keys())[:3]})")
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            raise DataError(where, f"length {len(a)} vs {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return
    elif a != b:
        raise DataError(where, f"stored {b!r}, recomputed {a!r}")


def verify_run(path: Path, data: Path | None = None) -> dict[str, Any]:
    """Every check of the module docstring; returns a summary, raises ``DataError`` on the first mismatch."""
    from metrics.evaluate import DEFAULT_EVAL, evaluate_sample, lpips_status
    from metrics.protocol import protocol_id

    with opened_run(Path(path)) as root:
        run_dir = RunDir(root)
        run = run_dir.meta()
        if not run_dir.results_json.exists():
            raise UserError(str(root), "not scored (no results.json)", f"run `bench eval {root}` first")
        res = read_json(run_dir.results_json)
        if sha256_bytes(dumps(run.get("config")).encode()) != run["config_sha256"]:
            raise DataError(str(run_dir.run_json), "config_sha256 does not match the recorded config")
        if res.get("config_sha256") != run["config_sha256"]:
            raise DataError(str(run_dir.results_json), "scored under another method config than run.json records")
        data = Path(data or run["dataset"])
        if not (data / "manifest.jsonl").exists():
            raise UserError("--data", f"dataset '{data}' not found", "pass --data pointing at the dataset the run used")
        manifest_sha = sha256_bytes((data / "manifest.jsonl").read_bytes())
        if manifest_sha != run.get("dataset_manifest_sha256"):
            raise DataError(str(data / "manifest.jsonl"), "sha256 differs from the one the run recorded (another dataset)")
        pin = res.get("protocol_inputs")
        if not pin or protocol_id(pin) != res.get("protocol_id"):
            raise DataError(str(run_dir.results_json), "protocol id missing or not the hash of its recorded inputs")
        manifest = {r["sample_id"]: r for r in read_manifest(data)}
        cfg = {**DEFAULT_EVAL, **(res.get("eval_config") or {})}
        lp = lpips_status(cfg) if res.get("lpips", {}).get("status") == "ok" else res.get("lpips") or lpips_status(cfg)
        n = 0
        for entry in res["samples"]:
            sid = entry["sample_id"]
            rs = run_dir.sample(sid)
            if entry["status"] == "not_run":
                continue
            require_intact(data, [manifest[sid]])
            stored = read_json(rs.metrics_json)
            if sha256_file(rs.metrics_json) != (entry.get("hashes") or {}).get("metrics_sha256"):
                raise DataError(str(rs.metrics_json), "sha256 differs from results.json")
            if entry["status"] == "ok":
                pred = {str(p.relative_to(rs.path)): sha256_file(p) for p in sorted(rs.pred_dir.rglob("*")) if p.is_file()}
                if digest(pred) != stored["hashes"]["predictions_sha256"]:
                    bad = next((k for k, v in pred.items() if stored["hashes"]["pred"].get(k) != v),
                               next(iter(set(stored["hashes"]["pred"]) - set(pred)), "?"))
                    raise DataError(str(rs.path / bad), "prediction file differs from the one that was scored")
            again = evaluate_sample(data / sid, rs.path, cfg, lp, run)
            for key in ("status", "summary", "per_frame", "params"):
                _same(json.loads(dumps(again.get(key))), json.loads(dumps(stored.get(key))), f"{rs.metrics_json}:{key}")
            n += 1
        return {"run": str(path), "samples_verified": n, "protocol_id": res["protocol_id"]}


def export_run(path: Path, out: Path | None = None) -> Path:
    """Write ``<run>.tar.gz`` (core.bundle)."""
    return write_bundle(path, out)
