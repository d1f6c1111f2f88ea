"""The locked protocol a score was made under: one sha256 over everything that fixes what a number means.

Inputs (``protocol_inputs``): the dataset's manifest sha256 (which samples, which GT bytes), the split, the
track, the eval settings (subsample sizes and seeds, IoU threshold, LPIPS on/off), the convention text of
every metric used and of the phase means (a changed formula is a changed text), and the harness version.
Two runs share a board table only when their protocol ids are equal; `bench verify` recomputes it.
"""
from __future__ import annotations

from importlib import metadata
from typing import Any

from core.hashing import sha256_bytes
from core.jsonio import dumps

PROTOCOL_FORMAT = "physrecon-protocol/1"


def harness_version() -> str:
    try:
        return metadata.version("physrecon-bench")
    except metadata.PackageNotFoundError:
        return "unknown"


def protocol_inputs(dataset_manifest_sha256: str | None, split: str, track: str | None, eval_config: dict[str, Any],
                    conventions: dict[str, str], harness: str | None = None) -> dict[str, Any]:
    """The record the protocol id hashes (written to results.json as ``protocol_inputs``)."""
    return {"format": PROTOCOL_FORMAT, "dataset_manifest_sha256": dataset_manifest_sha256, "split": split,
            "track": track or "default", "eval_config": dict(sorted(eval_config.items())),
            "conventions_sha256": sha256_bytes(dumps(conventions).encode()),
            "harness_version": harness or harness_version()}


def protocol_id(inputs: dict[str, Any]) -> str:
    """sha256 of the deterministic JSON of ``protocol_inputs``."""
    return sha256_bytes(dumps(inputs).encode())
