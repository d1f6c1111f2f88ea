"""Dataset format v1: the one owner of the on-disk layout of a dataset and of each sample in it.

    DATA/dataset.json             format tag, profile name, resolved config and its sha256
    DATA/manifest.jsonl           one JSON line per sample (sorted by sample id), with its files' sha256
    DATA/<sid>/sample.json        scenario, physics model + GT parameters, seed, time split, world, render
    DATA/<sid>/cameras.json       OpenCV K + camera-to-world per view; transforms.json (NeRF/Blender)
    DATA/<sid>/rgb/<view>/<t>.png    RGBA, RGB over the background colour, A = coverage
    DATA/<sid>/depth/<view>/<t>.npy  float32 z-depth (m), 0 on background
    DATA/<sid>/background/<view>.png the view's object-free background plate (Blender GT; the splat GT's
                                     background is the flat colour and has none); transfer/ shares it
    DATA/<sid>/gt/points.npy      T x M x 3 surface material points; particles.npy T x N x 3 simulation particles
    DATA/<sid>/gt/springs.npz | fields.npz | reduced.npz   the GT model's own arrays; controls.npy (interaction)
    DATA/<sid>/transfer/          the held-out interaction: controls.npy, points.npy, particles.npy, rgb/, depth/
    DATA/<sid>/asset/gaussians.ply   canonical Gaussians at frame 0 (3DGS PLY); model.obj the normalized mesh
    DATA/<sid>/preview.gif        all views side by side over time

A failed sample is a directory holding only ``failure.json``; it appears in the manifest with status
``failed`` and its reason. Every name read from these files that becomes a path (sample ids, view names,
manifest file paths) is checked by ``core.names``; corrupt or missing files are ``DataError``s.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import DataError, UserError
from core.frames import frame_name, read_rgba_png
from core.hashing import sha256_file
from core.jsonio import read_json, write_text_atomic
from core.names import safe_name, safe_relpath
from core.splits import SPLITS

DATASET_FORMAT = "physrecon-dataset/1"
SAMPLE_FORMAT = "physrecon-sample/1"
MANIFEST = "manifest.jsonl"
DATASET_JSON = "dataset.json"
FAILURE_JSON = "failure.json"
SAMPLE_JSON = "sample.json"
CAMERAS_JSON = "cameras.json"
TRANSFORMS_JSON = "transforms.json"
PREVIEW_GIF = "preview.gif"
#: sample.json keys every reader relies on
SAMPLE_KEYS = ("sample_id", "object_id", "seed", "physics", "time", "world", "render", "versions", "scenario")


def write_manifest(root: Path, records: list[dict[str, Any]]) -> None:
    """Write ``manifest.jsonl`` atomically, sorted by sample id, deterministic bytes."""
    lines = [json.dumps(r, sort_keys=True) for r in sorted(records, key=lambda r: r["sample_id"])]
    write_text_atomic(Path(root) / MANIFEST, "".join(line + "\n" for line in lines))


def read_manifest(root: Path) -> list[dict[str, Any]]:
    """The manifest's records; every ``sample_id`` and file path is checked to be a safe name."""
    path = Path(root) / MANIFEST
    if not path.exists():
        raise UserError(str(root), "not a dataset (no manifest.jsonl)", "generate one with `bench gen --out DIR` or pass the right --data")
    out = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            raise DataError(f"{path}:{i}", "malformed JSON line", "regenerate the manifest with `bench gen` (it resumes)") from None
        if not isinstance(rec, dict) or "sample_id" not in rec:
            raise DataError(f"{path}:{i}", "a manifest line must be an object with a sample_id")
        safe_name(rec["sample_id"], "sample_id", f"{path}:{i}")
        for rel in rec.get("files") or {}:
            safe_relpath(rel, "file path", f"{path}:{i}")
        out.append(rec)
    return out


def check_split(split: str) -> str:
    if split not in SPLITS + ("all",):
        raise UserError("--split", f"unknown split '{split}'", f"use one of {', '.join(SPLITS)} or all")
    return split


def select_samples(root: Path, split: str, status: str | None = "ok") -> list[dict[str, Any]]:
    check_split(split)
    recs = read_manifest(root)
    return [r for r in recs if (split == "all" or r["split"] == split) and (status is None or r["status"] == status)]


def verify_sample(root: Path, rec: dict[str, Any]) -> list[str]:
    """Problems of a complete sample against its manifest record: missing files or sha256 mismatches."""
    d = Path(root) / rec["sample_id"]
    problems = []
    for rel, want in (rec.get("files") or {}).items():
        p = d / rel
        if not p.is_file():
            problems.append(f"{rec['sample_id']}/{rel}: missing")
        elif sha256_file(p) != want:
            problems.append(f"{rec['sample_id']}/{rel}: sha256 differs from the manifest")
    return problems


def require_intact(root: Path, records: list[dict[str, Any]]) -> None:
    """A ``DataError`` naming the first file of ``records`` that is missing or differs from the manifest."""
    for rec in records:
        problems = verify_sample(root, rec)
        if problems:
            more = f" (+{len(problems) - 1} more in this sample)" if len(problems) > 1 else ""
            raise DataError(f"{Path(root) / problems[0].split(':')[0]}", problems[0].split(": ", 1)[1] + more)


def require_readable(root: Path, records: list[dict[str, Any]]) -> None:
    """A ``DataError`` for the first sample whose metadata is unreadable or holds an unsafe name (view names
    in sample.json and cameras.json), checked before anything is written for it."""
    for rec in records:
        s = SampleDir(Path(root) / rec["sample_id"])
        s.views, s.seen_views, s.monocular_view  # noqa: B018  (each access validates)
        s.camera_records()


@dataclass
class GTTrack:
    """The GT of one track of a sample: frames, surface points, particles and controls.

    The sample's own GT lives at the sample root (``rgb/``, ``gt/``); the transfer track's held-out
    interaction in ``transfer/`` (same names, flat).
    """

    root: Path
    gt: str = "gt"  # folder of points.npy / particles.npy / controls.npy relative to root ("" = root)

    def _gt(self, name: str) -> Path:
        return self.root / self.gt / name if self.gt else self.root / name

    def rgb_path(self, view: str, t: int) -> Path:
        return self.root / "rgb" / view / frame_name(t)

    def depth_path(self, view: str, t: int) -> Path:
        return self.root / "depth" / view / f"{t:04d}.npy"

    def normal_path(self, view: str, t: int) -> Path:
        return self.root / "normal" / view / frame_name(t)

    def manip_path(self, view: str, t: int) -> Path:
        return self.root / "manip" / view / frame_name(t)

    def manip(self, view: str, t: int) -> np.ndarray | None:
        """The manipulator's visible coverage (H, W) in this frame, or None (no manipulator drawn)."""
        p = self.manip_path(view, t)
        return _load(p, read_rgba_png)[1] if p.exists() else None

    @property
    def points_path(self) -> Path:
        return self._gt("points.npy")

    @property
    def particles_path(self) -> Path:
        return self._gt("particles.npy")

    @property
    def controls_path(self) -> Path:
        return self._gt("controls.npy")

    def frame(self, view: str, t: int) -> tuple[np.ndarray, np.ndarray]:
        return _load(self.rgb_path(view, t), read_rgba_png)

    def depth(self, view: str, t: int) -> np.ndarray:
        return _load(self.depth_path(view, t), np.load)

    def points(self) -> np.ndarray:
        return _load(self.points_path, np.load)

    def particles(self) -> np.ndarray:
        return _load(self.particles_path, np.load)

    def controls(self) -> np.ndarray | None:
        return _load(self.controls_path, np.load) if self.controls_path.exists() else None


def _load(path: Path, reader: Any) -> Any:
    """``reader(path)``; an unreadable or missing dataset file is a ``DataError`` naming it."""
    try:
        return reader(path)
    except FileNotFoundError:
        raise DataError(str(path), "missing") from None
    except Exception as exc:  # truncated PNG / npy, bad zip, ...
        raise DataError(str(path), f"unreadable ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})") from None


@dataclass
class SampleDir:
    """One sample directory: its layout (every path into it is spelled here) and its readers."""

    path: Path
    _meta: dict[str, Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    # ------------------------------------------------------------------ layout
    @property
    def sample_json(self) -> Path:
        return self.path / SAMPLE_JSON

    @property
    def cameras_json(self) -> Path:
        return self.path / CAMERAS_JSON

    @property
    def transforms_json(self) -> Path:
        return self.path / TRANSFORMS_JSON

    @property
    def failure_json(self) -> Path:
        return self.path / FAILURE_JSON

    @property
    def preview_gif(self) -> Path:
        return self.path / PREVIEW_GIF

    @property
    def gt_dir(self) -> Path:
        return self.path / "gt"

    def gt_file(self, name: str) -> Path:
        """``gt/<name>``: points.npy, particles.npy, springs.npz, fields.npz, reduced.npz, controls.npy."""
        return self.gt_dir / name

    @property
    def asset_dir(self) -> Path:
        return self.path / "asset"

    @property
    def gaussians_ply(self) -> Path:
        return self.asset_dir / "gaussians.ply"

    @property
    def main(self) -> GTTrack:
        return GTTrack(self.path, "gt")

    @property
    def transfer(self) -> GTTrack:
        return GTTrack(self.path / "transfer", "")

    def track(self, track: str | None) -> GTTrack:
        """The GT a track is scored against: ``transfer/`` for the transfer track, else the sample's own."""
        return self.transfer if track == "transfer" else self.main

    def rgb_path(self, view: str, t: int) -> Path:
        return self.main.rgb_path(view, t)

    def plate_path(self, view: str) -> Path:
        """``background/<view>.png``: the view's object-free background plate (same cameras in ``transfer/``)."""
        return self.path / "background" / f"{view}.png"

    def plate(self, view: str) -> np.ndarray | None:
        """The view's background plate (H, W, 3) float32, or None when the sample has none (flat background)."""
        p = self.plate_path(view)
        return _load(p, read_rgba_png)[0] if p.exists() else None

    def depth_path(self, view: str, t: int) -> Path:
        return self.main.depth_path(view, t)

    # ------------------------------------------------------------------ metadata
    @property
    def meta(self) -> dict[str, Any]:
        if self._meta is None:
            meta = _load(self.sample_json, read_json)
            missing = [k for k in SAMPLE_KEYS if k not in meta] if isinstance(meta, dict) else list(SAMPLE_KEYS)
            if missing:
                raise DataError(str(self.sample_json), f"missing key(s) {', '.join(missing)}")
            self._meta = meta
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

    def _views(self, key: str) -> list[str]:
        return [safe_name(v, f"render.{key} entry", self.sample_json) for v in self.meta["render"][key]]

    @property
    def views(self) -> list[str]:
        return self._views("views")

    @property
    def seen_views(self) -> list[str]:
        return self._views("seen_views")

    @property
    def held_out_views(self) -> list[str]:
        seen = set(self.seen_views)
        return [v for v in self.views if v not in seen]

    @property
    def monocular_view(self) -> str:
        return safe_name(self.meta["render"]["monocular_view"], "render.monocular_view", self.sample_json)

    def camera_records(self) -> list[dict[str, Any]]:
        """cameras.json's camera entries (name, width, height, K, c2w), names checked
        (``render.cameras.Camera.from_json`` turns one into a camera)."""
        cams = _load(self.cameras_json, read_json)["cameras"]
        for c in cams:
            safe_name(c.get("name"), "camera name", self.cameras_json)
        return cams

    # ------------------------------------------------------------------ GT arrays
    def frame(self, view: str, t: int) -> tuple[np.ndarray, np.ndarray]:
        return self.main.frame(view, t)

    def depth(self, view: str, t: int) -> np.ndarray:
        return self.main.depth(view, t)

    def points(self) -> np.ndarray:
        return self.main.points()

    def particles(self) -> np.ndarray:
        return self.main.particles()

    def controls(self) -> np.ndarray | None:
        return self.main.controls()

    @property
    def is_interaction(self) -> bool:
        return self.main.controls_path.exists()

    @property
    def has_transfer(self) -> bool:
        return self.transfer.controls_path.exists()

    def gt_npz(self, name: str) -> dict[str, np.ndarray] | None:
        """The arrays of ``gt/<name>.npz`` (springs, fields, reduced), or None when the sample has none."""
        p = self.gt_file(f"{name}.npz")
        return _load(p, lambda f: dict(np.load(f).items())) if p.exists() else None


def gt_parameter_ranges(root: Path) -> dict[str, dict[str, tuple[float, float]]]:
    """The ranges a dataset's profile draws each GT parameter from, per GT model, in sample.json units
    (``physics.params`` names), read from dataset.json's resolved config. An MPM two-region field
    widens the Young's modulus range by its stiffer region's ratio."""
    ds = Path(root) / DATASET_JSON
    if not ds.exists():
        return {}
    ph = _load(ds, read_json).get("config", {}).get("physics", {})
    models = ph.get("mixed_models", []) if ph.get("model") == "mixed" else [ph.get("model")]
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for m in models:
        c = ph.get(m) or {}
        if m == "spring_mass":
            out[m] = {"stiffness": tuple(10.0 ** float(v) for v in c["log10_stiffness"]),
                      **{k: tuple(map(float, c[k])) for k in ("damping", "friction", "restitution")}}
        elif m in ("reduced", "mpm"):
            e = [10.0 ** float(v) for v in c["log10_youngs_modulus"]]
            if m == "mpm" and float(c.get("two_region_probability", 0.0)) > 0:
                e[1] *= 10.0 ** float(c["region_log10_ratio"][1])
            out[m] = {"youngs_modulus": (e[0], e[1]), "poisson_ratio": tuple(map(float, c["poisson_ratio"])),
                      "friction": tuple(map(float, c["friction"]))}
    return out
