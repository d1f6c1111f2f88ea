"""Spring topologies: k-nearest-neighbour (Spring-Gaus eq. 5) and radius graphs (PhysTwin).

All builders return undirected, deduplicated springs ``(i, j)`` with ``i < j``, sorted
lexicographically, as ``int32`` indices and ``float32`` rest lengths (initial distances).
Zero-length pairs (duplicate points) are dropped because the strain-based force laws divide
by the rest length. Everything is deterministic (scipy cKDTree, stable sorts).
"""

from __future__ import annotations

import numpy as np


def _kdtree(points: np.ndarray):
    """scipy's cKDTree, imported lazily (keeps `import physics...` light)."""
    from scipy.spatial import cKDTree

    return cKDTree(points)


_MIN_REST = 1e-9


def _finish(x: np.ndarray, i: np.ndarray, j: np.ndarray, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Make pairs undirected (i<j), dedupe keeping the smallest neighbour rank, sort, drop zero length."""
    a = np.minimum(i, j).astype(np.int64)
    b = np.maximum(i, j).astype(np.int64)
    keep = a != b
    a, b, rank = a[keep], b[keep], rank[keep]
    n = max(int(x.shape[0]), 1)
    key = a * n + b
    order = np.lexsort((rank, key))  # by key, then by rank (smallest first)
    key, a, b, rank = key[order], a[order], b[order], rank[order]
    first = np.ones(key.shape[0], dtype=bool)
    first[1:] = key[1:] != key[:-1]
    a, b, rank = a[first], b[first], rank[first]
    rest = np.linalg.norm(x[b].astype(np.float64) - x[a].astype(np.float64), axis=1)
    ok = rest > _MIN_REST
    edges = np.stack([a[ok], b[ok]], axis=1).astype(np.int32)
    return edges, rest[ok].astype(np.float32), rank[ok].astype(np.int32)


def knn_springs(
    x: np.ndarray, k: int, return_rank: bool = False
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Connect each anchor to its ``k`` nearest neighbours (Spring-Gaus eq. 5, ReconPhys).

    Returns ``edges (S,2) int32``, ``rest (S,) float32`` and, with ``return_rank``, the
    1-based neighbour rank of each spring (the smaller of the two directions), which the
    soft vector eta of Spring-Gaus eq. 8 is indexed by.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n < 2 or k < 1:
        e, r, rk = np.zeros((0, 2), np.int32), np.zeros(0, np.float32), np.zeros(0, np.int32)
        return (e, r, rk) if return_rank else (e, r)
    kk = min(k + 1, n)
    _, idx = _kdtree(x).query(x, k=kk)
    idx = np.asarray(idx).reshape(n, kk)
    rows = np.repeat(np.arange(n), kk)
    ranks = np.tile(np.arange(kk), n)  # rank 0 is (normally) the point itself; dropped as i == j
    cols = idx.reshape(-1)
    # If duplicates displaced "self" from slot 0, self pairs are dropped anyway; clamp rank >= 1.
    edges, rest, rank = _finish(x, rows, cols, np.maximum(ranks, 1))
    return (edges, rest, rank) if return_rank else (edges, rest)


def radius_springs(x: np.ndarray, radius: float, max_neighbors: int) -> tuple[np.ndarray, np.ndarray]:
    """PhysTwin topology: each point to at most ``max_neighbors`` closest points within ``radius``."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n < 2 or max_neighbors < 1:
        return np.zeros((0, 2), np.int32), np.zeros(0, np.float32)
    kk = min(max_neighbors + 1, n)
    dist, idx = _kdtree(x).query(x, k=kk, distance_upper_bound=float(radius))
    dist = np.asarray(dist).reshape(n, kk)
    idx = np.asarray(idx).reshape(n, kk)
    valid = np.isfinite(dist) & (idx < n)
    rows = np.repeat(np.arange(n), kk).reshape(n, kk)[valid]
    ranks = np.tile(np.arange(kk), (n, 1))[valid]
    edges, rest, _ = _finish(x, rows, idx[valid], np.maximum(ranks, 1))
    return edges, rest


def control_springs(
    controls0: np.ndarray, x: np.ndarray, radius: float, max_neighbors: int
) -> tuple[np.ndarray, np.ndarray]:
    """PhysTwin control springs: each control point to its closest object points within ``radius``.

    Returns ``control_edges (E,2) int32`` as ``(control_index, particle_index)`` rows (sorted)
    and their rest lengths (initial distances, may be 0) as float32.
    """
    c = np.asarray(controls0, dtype=np.float64).reshape(-1, 3)
    x = np.asarray(x, dtype=np.float64)
    if c.shape[0] == 0 or x.shape[0] == 0 or max_neighbors < 1:
        return np.zeros((0, 2), np.int32), np.zeros(0, np.float32)
    kk = min(max_neighbors, x.shape[0])
    dist, idx = _kdtree(x).query(c, k=kk, distance_upper_bound=float(radius))
    dist = np.asarray(dist).reshape(c.shape[0], kk)
    idx = np.asarray(idx).reshape(c.shape[0], kk)
    valid = np.isfinite(dist) & (idx < x.shape[0])
    ci = np.repeat(np.arange(c.shape[0]), kk).reshape(c.shape[0], kk)[valid]
    pi = idx[valid]
    order = np.lexsort((pi, ci))
    edges = np.stack([ci[order], pi[order]], axis=1).astype(np.int32)
    rest = np.linalg.norm(x[edges[:, 1]] - c[edges[:, 0]], axis=1).astype(np.float32)
    return edges, rest
