"""Seeded procedural texture images (checker, stripes, dots, marble, gradient bands)."""
from __future__ import annotations

import colorsys

import numpy as np

KINDS = ("checker", "stripes", "dots", "marble", "gradient")


def palette(rng: np.random.Generator, k: int = 3) -> np.ndarray:
    """k distinct, saturated colours (k, 3) in [0, 1] with alternating dark / light values."""
    h0 = rng.random()
    hues = (h0 + np.arange(k) * rng.uniform(0.18, 0.45)) % 1.0
    out = []
    for i, h in enumerate(hues):
        s = rng.uniform(0.45, 0.95)
        v = rng.uniform(0.75, 0.98) if i % 2 == 0 else rng.uniform(0.25, 0.55)
        out.append(colorsys.hsv_to_rgb(h, s, v))
    return np.asarray(out)


def smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """(size, size) smooth value noise in [0, 1] (bicubic-upsampled random grid)."""
    from scipy.ndimage import zoom

    g = rng.random((cells + 3, cells + 3))
    z = zoom(g, size / cells, order=3, mode="grid-wrap")
    z = z[:size, :size]
    return (z - z.min()) / max(float(np.ptp(z)), 1e-12)


def make_texture(rng: np.random.Generator, size: int = 256,
                 kind: str | None = None) -> tuple[np.ndarray, dict]:
    """An (size, size, 3) uint8 texture and its description {kind, colors, frequency}."""
    kind = kind or KINDS[int(rng.integers(len(KINDS)))]
    cols = palette(rng, 3)
    freq = int(rng.integers(4, 11))
    y, x = (np.mgrid[0:size, 0:size] + 0.5) / size  # x ~ u, y ~ 1 - v
    if kind == "checker":
        fy = int(rng.integers(3, 9))
        idx = (np.floor(x * freq) + np.floor(y * fy)).astype(int) % 2
        img = cols[idx]
    elif kind == "stripes":
        ang = rng.choice([0.0, 0.5 * np.pi, 0.25 * np.pi, -0.25 * np.pi])
        t = x * np.cos(ang) + y * np.sin(ang)
        idx = np.floor(t * freq * 1.5).astype(int) % 3
        img = cols[idx]
    elif kind == "dots":
        cell = 1.0 / freq
        gx, gy = np.floor(x / cell), np.floor(y / cell)
        jit = rng.uniform(-0.15, 0.15, (freq + 1, freq + 1, 2)) * cell
        cx = (gx + 0.5) * cell + jit[gy.astype(int), gx.astype(int), 0]
        cy = (gy + 0.5) * cell + jit[gy.astype(int), gx.astype(int), 1]
        r = np.hypot(x - cx, y - cy)
        rad = rng.uniform(0.22, 0.38) * cell
        alt = ((gx + gy) % 2).astype(int)
        img = np.where((r < rad)[..., None], cols[1 + alt], cols[0])
    elif kind == "marble":
        n = smooth_noise(rng, size, int(rng.integers(3, 7)))
        t = 0.5 + 0.5 * np.sin(2 * np.pi * (freq * 0.5 * (x + y) + 2.5 * n))
        img = cols[0] * t[..., None] + cols[1] * (1 - t[..., None])
        img = np.where((np.abs(t - 0.5) < 0.06)[..., None], cols[2], img)
    elif kind == "gradient":
        t = y if rng.random() < 0.5 else x
        base = cols[0] * (1 - t[..., None]) + cols[2] * t[..., None]
        band = (np.floor(t * freq * 2) % 2 == 0)[..., None]
        img = np.where(band, base, 0.6 * base + 0.4 * cols[1])
    else:
        raise ValueError(f"unknown texture kind {kind!r}; choose from {KINDS}")
    grain = 0.04 * (smooth_noise(rng, size, 24) - 0.5)  # fine structure everywhere
    img = np.clip(img + grain[..., None], 0.0, 1.0)
    desc = {"kind": kind, "colors": np.round(cols, 4).tolist(), "frequency": freq}
    return (img * 255.0 + 0.5).astype(np.uint8), desc
