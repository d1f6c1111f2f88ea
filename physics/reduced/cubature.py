"""Cubature points (Vid2Sim §3, Simplicits §4.3): farthest-point samples of the volume samples.

Each of the n cubature points carries the volume V_c = V_total / n, so sums sum_c V_c f(X_c)
approximate integrals over the object (numpy only).
"""

from __future__ import annotations

import numpy as np

from physics import point_sampling


def farthest_point_sampling(points: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Indices (n,) int64 of a greedy farthest-point subset; the first index is drawn from ``seed``."""
    p = np.asarray(points, np.float64).reshape(-1, 3)
    n = int(min(n, p.shape[0]))
    if n <= 0:
        return np.zeros(0, np.int64)
    return point_sampling.farthest_point_sampling(p, n, int(np.random.default_rng(seed).integers(p.shape[0])))


def cubature_points(points: np.ndarray, n: int, total_volume: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(X_c (n,3) float64, V_c (n,) float64): FPS subset of ``points`` with equal volumes V_total / n."""
    if total_volume <= 0:
        raise ValueError("total_volume must be positive")
    idx = farthest_point_sampling(points, n, seed)
    x = np.asarray(points, np.float64).reshape(-1, 3)[idx]
    return x, np.full(idx.shape[0], float(total_volume) / max(idx.shape[0], 1))
