"""Small IO helpers shared by every stage: atomic writes, JSON, hashing, PNG frames."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stable_seed(*parts: object) -> int:
    """A 63-bit seed derived from ``parts`` by sha256 (never Python's salted ``hash``)."""
    text = ":".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little") >> 1


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays and paths so ``json.dumps`` accepts them."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not np.isfinite(obj):
        return "inf" if obj > 0 else ("-inf" if obj < 0 else "nan")
    return obj


def dumps(obj: Any) -> str:
    """Deterministic JSON text (sorted keys, fixed indentation, trailing newline)."""
    return json.dumps(to_jsonable(obj), indent=2, sort_keys=True) + "\n"


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write JSON atomically (temp file + rename)."""
    write_text_atomic(path, dumps(obj))


def read_json(path: str | os.PathLike) -> Any:
    with open(path) as f:
        return json.load(f)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp dir beside ``final``; on success it replaces ``final`` in one rename.

    On error the temp dir is removed, so a half-written directory never looks whole.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_temps(parent: str | os.PathLike) -> int:
    """Delete ``.tmp-*`` leftovers of killed writers under ``parent``; return how many."""
    n = 0
    parent = Path(parent)
    if parent.exists():
        for p in parent.glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True)
            n += 1
    return n


def write_rgba_png(path: str | os.PathLike, rgb: np.ndarray, alpha: np.ndarray) -> None:
    """Save an RGBA frame: float [0,1] (H,W,3) + (H,W) -> 8-bit PNG (round half up)."""
    import imageio.v3 as iio

    rgba = np.concatenate([rgb, alpha[..., None]], axis=-1)
    q = np.clip(np.floor(np.asarray(rgba, dtype=np.float64) * 255.0 + 0.5), 0, 255).astype(np.uint8)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, q, extension=".png")


def read_rgba_png(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Load an RGBA PNG as float32 (rgb (H,W,3), alpha (H,W)) in [0, 1]."""
    import imageio.v3 as iio

    a = iio.imread(path).astype(np.float32) / 255.0
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.shape[-1] == 3:
        return a, np.ones(a.shape[:2], np.float32)
    return a[..., :3], a[..., 3]


def frame_name(t: int) -> str:
    return f"{t:04d}.png"
