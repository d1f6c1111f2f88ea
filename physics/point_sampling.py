"""Greedy farthest-point sampling, shared by the GT samplers (datagen), the spring-mass anchors
(``physics.spring_mass.anchors``), the reduced model's cubature points and the methods (numpy only)."""
from __future__ import annotations

import numpy as np


def farthest_point_sampling(points: np.ndarray, n: int, start_index: int = 0) -> np.ndarray:
    """Indices (n,) of a greedy farthest-point subset, starting at `start_index`.
    Deterministic (ties -> lowest index). O(n * P)."""
    pts = np.asarray(points, dtype=np.float64)
    m = len(pts)
    if n > m:
        raise ValueError(f"cannot pick {n} of {m} points")
    x, y, z = (np.ascontiguousarray(pts[:, k]) for k in range(3))
    out = np.empty(n, dtype=np.int64)
    dist = np.full(m, np.inf)
    tmp = np.empty(m)
    tmp2 = np.empty(m)
    i = int(start_index)
    for k in range(n):
        out[k] = i
        np.subtract(x, x[i], out=tmp)
        np.multiply(tmp, tmp, out=tmp)
        np.subtract(y, y[i], out=tmp2)
        np.multiply(tmp2, tmp2, out=tmp2)
        np.add(tmp, tmp2, out=tmp)
        np.subtract(z, z[i], out=tmp2)
        np.multiply(tmp2, tmp2, out=tmp2)
        np.add(tmp, tmp2, out=tmp)
        np.minimum(dist, tmp, out=dist)
        i = int(np.argmax(dist))
    return out
