"""Test helper: an offline Objaverse cache laid out as the ``objaverse`` package expects it."""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any


def write_objaverse_cache_fixture(cache: Path, objects: dict[str, tuple[Path, dict[str, Any]]],
                                  lvis: dict[str, list[str]]) -> None:
    """Lay out an Objaverse cache (object-paths, metadata, LVIS, glbs) for offline tests/mirrors."""
    base = cache / "hf-objaverse-v1"
    paths = {}
    meta: dict[str, dict[str, Any]] = {}
    for uid, (glb, ann) in objects.items():
        rel = f"glbs/000-000/{uid}.glb"
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_bytes(glb.read_bytes())
        paths[uid] = rel
        meta[uid] = ann
    (base / "metadata").mkdir(parents=True, exist_ok=True)
    for name, obj in (("object-paths.json.gz", paths), ("lvis-annotations.json.gz", lvis), ("metadata/000-000.json.gz", meta)):
        with gzip.open(base / name, "wt") as f:
            json.dump(obj, f)
