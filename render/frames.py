"""Render a trajectory of isotropic Gaussians to every camera (shared by datagen and methods)."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def render_trajectory(
    points: np.ndarray,
    colors: np.ndarray,
    scales: np.ndarray | float,
    opacities: np.ndarray | float,
    cameras: Sequence["Camera"],
    background: Sequence[float],
) -> dict[str, dict[str, np.ndarray]]:
    """Render Gaussians whose centres follow ``points`` (T, M, 3) into each camera.

    Returns ``{view: {"rgb": (T,H,W,3), "alpha": (T,H,W), "depth": (T,H,W)}}`` as float32 numpy.
    """
    import torch

    from render.splat import render_gaussians

    pts = np.asarray(points, np.float32)
    m = pts.shape[1]
    col = torch.as_tensor(np.asarray(colors, np.float32))
    sc = torch.as_tensor(np.broadcast_to(np.asarray(scales, np.float32), (m,)).copy())
    op = torch.as_tensor(np.broadcast_to(np.asarray(opacities, np.float32), (m,)).copy())
    bg = tuple(float(c) for c in background)
    out: dict[str, dict[str, np.ndarray]] = {}
    with torch.no_grad():
        for cam in cameras:
            rgb, alpha, depth = [], [], []
            for t in range(pts.shape[0]):
                r = render_gaussians(torch.from_numpy(pts[t]), sc, col, op, cam, background=bg)
                rgb.append(r["rgb"].numpy())
                alpha.append(r["alpha"].numpy())
                depth.append(r["depth"].numpy())
            out[cam.name] = {"rgb": np.stack(rgb), "alpha": np.stack(alpha), "depth": np.stack(depth).astype(np.float32)}
    return out
