"""Run bundles (`bench export`): one .tar.gz of a scored run with BUNDLE.json listing the sha256 of every file.

Unpacking refuses absolute paths and links out of the destination (tarfile's ``data`` filter) and checks
every file against the listing.
"""
from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path

from core.errors import DataError, UserError
from core.hashing import sha256_file
from core.jsonio import read_json, write_json
from core.rundir import RunDir

BUNDLE_JSON = "BUNDLE.json"
BUNDLE_FORMAT = "physrecon-bundle/1"


def is_bundle(path: Path) -> bool:
    return Path(path).is_file() and Path(path).name.endswith((".tar.gz", ".tgz"))


def write_bundle(path: Path, out: Path | None = None) -> Path:
    """``<run>.tar.gz``: run.json, results.json, per sample status.json, metrics.json, pred/ and asset/."""
    run_dir = RunDir(Path(path))
    run_dir.meta()
    if not run_dir.results_json.exists():
        raise UserError(str(path), "not scored (no results.json)", f"run `bench eval {path}` first")
    res = read_json(run_dir.results_json)
    root = run_dir.path
    keep = [run_dir.run_json, run_dir.results_json]
    for sid in run_dir.sample_ids():
        rs = run_dir.sample(sid)
        keep += [p for p in (rs.status_json, rs.metrics_json) if p.exists()]
        for d in (rs.pred_dir, rs.asset_dir):
            keep += sorted(p for p in d.rglob("*") if p.is_file()) if d.exists() else []
    files = {str(p.relative_to(root)): sha256_file(p) for p in keep}
    out = Path(out) if out else root.parent / f"{root.name}.tar.gz"
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / BUNDLE_JSON
        write_json(listing, {"format": BUNDLE_FORMAT, "protocol_id": res.get("protocol_id"), "method": res.get("method"),
                             "files": files})
        with tarfile.open(out, "w:gz") as tar:
            tar.add(listing, arcname=f"{root.name}/{BUNDLE_JSON}")
            for rel in sorted(files):
                tar.add(root / rel, arcname=f"{root.name}/{rel}")
    return out


def unpack_bundle(path: Path, dest: Path) -> Path:
    """Unpack a bundle into ``dest``; returns the run directory after checking every file against BUNDLE.json."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(path, "r:gz") as tar:
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise DataError(str(path), f"not a readable bundle ({exc})") from None
    roots = [p for p in dest.iterdir() if p.is_dir()]
    if len(roots) != 1 or not RunDir(roots[0]).exists() or not (roots[0] / BUNDLE_JSON).exists():
        raise DataError(str(path), "not a `bench export` bundle (one run directory with run.json and BUNDLE.json)")
    root = roots[0]
    for rel, want in read_json(root / BUNDLE_JSON)["files"].items():
        p = root / rel
        if not p.is_file() or sha256_file(p) != want:
            raise DataError(f"{path}:{rel}", "differs from the bundle's BUNDLE.json listing")
    return root
