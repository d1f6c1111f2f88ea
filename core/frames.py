"""RGBA frames on disk: 8-bit PNG, round half up; ``frame_name`` spells frame t's file name."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np


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


#: how observed Blender frames reach a method that reads masks (methods.observation.matte; shown on the board)
MATTING = ("frames of samples with a background plate (Blender GT) reach a method that reads masks matted onto the "
           "flat background colour: rgb + (1 - alpha) * (background - plate), exactly the background where alpha = 0 "
           "(the scene and the object's shadow leave with the mask, as in the papers' segmented, plain-background "
           "inputs); the method renders over that colour and evaluation composites its frames over the plate")


def replace_background(rgb: np.ndarray, alpha: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Frames (..., H, W, 3) whose uncovered part shows ``old`` (a colour or an (H, W, 3) image) -> showing ``new``:
    ``rgb + (1 - alpha) * (new - old)``, clipped to [0, 1], float32 (the background term of "over" swapped)."""
    a = np.asarray(alpha, np.float32)[..., None]
    out = rgb + (1.0 - a) * (np.asarray(new, np.float32) - np.asarray(old, np.float32))
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def frame_name(t: int) -> str:
    return f"{t:04d}.png"
