"""Consistent anchor sampling (ReconPhys §4.1): anchors of a spring-mass body drawn from the object's
canonical Gaussian centres with a seed hashed from the object id (``object_seed``, also the seed of the
procedural assets in ``datagen.assets.procedural``). The GT's ``object_hash`` anchor sampling and
ReconPhys both call it, so a method given the sample's canonical Gaussians and the GT's settings gets
the GT's anchors.
"""
from __future__ import annotations

import hashlib

import numpy as np


def object_seed(object_id: str) -> int:
    """Stable 64-bit seed from the object id (sha256; never Python's salted hash()): the anchor-sampling
    seed of §4.1 'consistent anchor sampling' and the procedural assets' seed."""
    return int.from_bytes(hashlib.sha256(object_id.encode()).digest()[:8], "little")


def sample_anchors(means: np.ndarray, n_anchors: int, seed: int, fill_res: int = 12, fill: str = "hull") -> np.ndarray:
    """Volume sampling of the canonical shape, then farthest-point sampling of ``n_anchors`` points from
    a seeded start (deterministic per object).

    ``fill``: ``hull``: the Gaussian centres + a ``fill_res``^3 grid inside their convex hull (FPS then
    takes mostly surface points, and concave parts are filled: a torus becomes a disc); ``volume``:
    20 n_anchors seeded uniform points in the voxel-filled occupancy of the centres (voxel size
    extent / (2 ``fill_res``), ``physics.volume_fill``; concave parts stay empty), as the datasets'
    spring-mass GT samples its mesh volume before FPS.

    Shared by ReconPhys (``methods.reconphys``) and the ``object_hash`` anchor sampling of the
    spring-mass GT (``datagen``): called on the same canonical Gaussian centres with the same
    arguments, both return the same bytes.
    """
    from scipy.spatial import ConvexHull

    p = np.asarray(means, np.float64)
    lo, hi = p.min(0), p.max(0)
    rng = np.random.default_rng(seed)
    if fill == "volume":
        from physics.volume_fill import voxel_interior

        vox = float(np.max(hi - lo)) / (2 * int(fill_res))
        cells = voxel_interior(p, vox)[0]
        pick = rng.integers(len(cells), size=20 * int(n_anchors))
        cand = cells[pick] + rng.uniform(-0.5, 0.5, (len(pick), 3)) * vox
    elif fill == "hull":
        axes = [np.linspace(a, b, fill_res) for a, b in zip(lo, hi)]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
        try:
            eq = ConvexHull(p).equations  # (F, 4): n·x + d <= 0 inside
            inside = np.all(grid @ eq[:, :3].T + eq[:, 3] <= 1e-9, axis=1)
            cand = np.concatenate([p, grid[inside]])
        except Exception:  # degenerate (flat) point set: surface points only
            cand = p
    else:
        raise ValueError(f"anchor fill: unknown mode {fill!r} (hull | volume)")
    # its own farthest-point loop on Euclidean distances: physics.point_sampling's squared distances pick
    # differently at the hull grid's near-ties (3 of 10 quick_consistent shapes at 120 anchors), which would move every
    # existing ReconPhys / Vid2Sim anchor set
    n = min(int(n_anchors), len(cand))
    sel = [int(rng.integers(len(cand)))]
    d = np.linalg.norm(cand - cand[sel[0]], axis=1)
    for _ in range(n - 1):
        j = int(np.argmax(d))
        sel.append(j)
        d = np.minimum(d, np.linalg.norm(cand - cand[j], axis=1))
    return cand[np.asarray(sel)].astype(np.float32)
