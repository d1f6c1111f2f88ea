"""The manipulator proxy drawn in interaction videos: one sphere ("fingertip") per control point.

Both renderers draw it in the RGB frames and write its visible coverage as its own mask
(``manip/<view>/<t>.png``); the object's alpha is the object's *visible* coverage (the sphere may occlude
it). Metrics exclude the manipulator's pixels (as PhysTwin masks the hand): see ``metrics.evaluate``.
"""
from __future__ import annotations

import math

import numpy as np

RADIUS_M = 0.04
COLOR_SRGB = (0.22, 0.22, 0.26)  # dark grey: distinct from the textured objects and the ground
N_GAUSSIANS = 160  # splat renderer: Gaussians on each sphere


def sphere_points(n: int = N_GAUSSIANS) -> np.ndarray:
    """(n, 3) points evenly spread on the unit sphere (Fibonacci lattice)."""
    i = np.arange(n) + 0.5
    z = 1.0 - 2.0 * i / n
    r = np.sqrt(1.0 - z * z)
    phi = math.pi * (3.0 - math.sqrt(5.0)) * i
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def proxy_points(controls: np.ndarray, radius: float = RADIUS_M, n: int = N_GAUSSIANS) -> np.ndarray:
    """(T, C * n, 3) Gaussian centres of the spheres around the control points (T, C, 3)."""
    c = np.asarray(controls, np.float64)
    pts = c[:, :, None, :] + radius * sphere_points(n)[None, None]
    return pts.reshape(c.shape[0], -1, 3).astype(np.float32)


def record() -> dict:
    return {"proxy": "sphere per control point", "radius_m": RADIUS_M, "color_srgb": list(COLOR_SRGB),
            "mask": "manip/<view>/<t>.png: the manipulator's visible coverage in A (and RGB)",
            "metrics": "every image metric (IoU included) takes the GT's pixels and object mask wherever the "
                       "manipulator covers any part of a pixel, for the prediction too: excluded from the error"}
