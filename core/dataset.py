"""Dataset format v1: paths, manifest, and readers. The on-disk layout is the contract.

    DATA/dataset.json            format tag, profile name, resolved config and its sha256
    DATA/manifest.jsonl          one JSON line per sample (sorted by sample id)
    DATA/<sample_id>/sample.json  scenario, physics model + GT parameters, seed, time split, world, render
    DATA/<sample_id>/cameras.json OpenCV K + camera-to-world per view; transforms.json (NeRF/Blender)
    DATA/<sample_id>/rgb/<view>/<t>.png   RGBA, RGB over the background colour, A = coverage
    DATA/<sample_id>/depth/<view>/<t>.npy float32 z-depth (m), 0 on background
    DATA/<sample_id>/gt/points.npy        T x M x 3 surface material points
    DATA/<sample_id>/gt/particles.npy     T x N x 3 simulation particles
    DATA/<sample_id>/gt/springs.npz       spring edges + rest lengths of the GT spring-mass
    DATA/<sample_id>/asset/gaussians.ply  canonical Gaussians at frame 0 (3DGS PLY)
    DATA/<sample_id>/asset/mesh.obj       the normalized canonical mesh (object frame)
    DATA/<sample_id>/preview.gif          all views side by side over time
A failed sample is a directory holding only ``failure.json``; it appears in the manifest with
status ``failed`` and its reason.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import UserError
from core.frames import read_rgba_png, frame_name
from core.jsonio import read_json, write_text_atomic
from core.splits import SPLITS

DATASET_FORMAT = "physrecon-dataset/1"
SAMPLE_FORMAT = "physrecon-sample/1"
MANIFEST = "manifest.jsonl"
DATASET_JSON = "dataset.json"
FAILURE_JSON = "failure.json"


def write_manifest(root: Path, records: list[dict[str, Any]]) -> None:
    """Write ``manifest.jsonl`` atomically, sorted by sample id, deterministic bytes."""
    lines = [json.dumps(r, sort_keys=True) for r in sorted(records, key=lambda r: r["sample_id"])]
    write_text_atomic(root / MANIFEST, "".join(line + "\n" for line in lines))


def read_manifest(root: Path) -> list[dict[str, Any]]:
    path = Path(root) / MANIFEST
    if not path.exists():
        raise UserError(str(root), "not a dataset (no manifest.jsonl)", "generate one with `bench gen --out DIR` or pass the right --data")
    out = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                raise UserError(f"{path}:{i}", "malformed JSON line", "regenerate the manifest with `bench gen` (it resumes)") from None
    return out


def check_split(split: str) -> str:
    if split not in SPLITS + ("all",):
        raise UserError("--split", f"unknown split '{split}'", f"use one of {', '.join(SPLITS)} or all")
    return split


def select_samples(root: Path, split: str, status: str | None = "ok") -> list[dict[str, Any]]:
    check_split(split)
    recs = read_manifest(root)
    return [r for r in recs if (split == "all" or r["split"] == split) and (status is None or r["status"] == status)]


@dataclass
class SampleDir:
    """Read access to one sample directory (GT included: for datagen, eval and privileged baselines)."""

    path: Path

    @property
    def meta(self) -> dict[str, Any]:
        if not hasattr(self, "_meta"):
            self._meta = read_json(self.path / "sample.json")
        return self._meta

    @property
    def sample_id(self) -> str:
        return self.meta["sample_id"]

    @property
    def n_frames(self) -> int:
        return int(self.meta["time"]["n_frames"])

    @property
    def n_observed(self) -> int:
        return int(self.meta["time"]["n_observed"])

    @property
    def views(self) -> list[str]:
        return list(self.meta["render"]["views"])

    def cameras(self) -> list[Any]:
        from render.cameras import Camera

        return [Camera.from_json(c) for c in read_json(self.path / "cameras.json")["cameras"]]

    def frame(self, view: str, t: int) -> tuple[np.ndarray, np.ndarray]:
        return read_rgba_png(self.path / "rgb" / view / frame_name(t))

    def depth(self, view: str, t: int) -> np.ndarray:
        return np.load(self.path / "depth" / view / f"{t:04d}.npy")

    def points(self) -> np.ndarray:
        return np.load(self.path / "gt" / "points.npy")

    def particles(self) -> np.ndarray:
        return np.load(self.path / "gt" / "particles.npy")
