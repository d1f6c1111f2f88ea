"""Render a predicted surface-point trajectory with the canonical Gaussians (shared by baselines and methods)."""
from __future__ import annotations

import numpy as np

from methods.base import Prediction, Query


def render_prediction(points: np.ndarray, canonical: dict[str, np.ndarray], query: Query, background) -> Prediction:
    """Render canonical Gaussians moved to ``points`` (T, M, 3) into every queried camera."""
    from render.frames import render_trajectory

    fr = render_trajectory(points, canonical["colors"], canonical["scales"], canonical["opacities"],
                           query.cameras, background)
    return Prediction(rgb={v: f["rgb"] for v, f in fr.items()}, alpha={v: f["alpha"] for v, f in fr.items()},
                      points=np.asarray(points, np.float32), points_correspond=True)


def isotropic_scales(canonical: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The canonical Gaussians with one scale per Gaussian (the mean of its axes)."""
    s = np.asarray(canonical["scales"])
    return {**canonical, "scales": s.mean(axis=-1) if s.ndim == 2 else s}
