"""PhysInteract initialisation (§3.2, §3.5): contact points, initial trajectory, interior filling.

Stand-ins (no pretrained models run here):
- VLM + open-vocabulary grounding + SAM contact masks (§3.2) -> the recorded control points at
  frame 0 projected into the monocular view, plus Gaussian pixel noise, back-projected with the
  point's camera depth plus Gaussian depth noise (eq. 2: X_p = T_c^-1 pi^-1(x_p, d_p)).
- 4D-Humans 2D tracks lifted to 3D (trajectory T^(0)) -> the recorded control displacements
  c(t) - c(0) of the observed frames plus a Gaussian random walk (a drifting tracker).
Interior filling (§3.5) voxelises the canonical Gaussian centres and keeps every voxel enclosed
along all six axis directions (surface voxels included).
"""
from __future__ import annotations

from typing import Any

import numpy as np


def stand_in_contacts(controls: np.ndarray, cam: Any, rng: np.random.Generator, pixel_noise: float,
                      depth_noise_m: float, trajectory_noise_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(contact points (C,3), initial trajectory T^(0) (T_obs,C,3)) from observed controls (T_obs,C,3)."""
    from render.cameras import backproject_pixels, project_points

    c = np.asarray(controls, np.float64)
    uv, z = project_points(c[0], cam)
    uv = uv + rng.normal(0.0, pixel_noise, uv.shape)
    z = np.maximum(z + rng.normal(0.0, depth_noise_m, z.shape), 1e-3)
    contacts = backproject_pixels(uv, z, cam)  # eq. 2
    walk = np.cumsum(rng.normal(0.0, trajectory_noise_m, c.shape), axis=0)
    walk[0] = 0.0
    traj0 = contacts[None] + (c - c[:1]) + walk
    return contacts, traj0


def fill_gaussians(means: np.ndarray, n_target: int, min_pitch: float | None = None) -> tuple[np.ndarray, float]:
    """Interior filling of the shape outlined by Gaussian centres (§3.5): (particles (N,3), pitch h).

    The pitch is chosen from the convex-hull volume so that about ``n_target`` particles result, and is
    at least 1.5x the median centre spacing (so the voxelised surface is closed).
    """
    from scipy.spatial import ConvexHull, cKDTree

    m = np.asarray(means, np.float64)
    spacing = float(np.median(cKDTree(m).query(m, k=2)[0][:, 1]))
    vol = ConvexHull(m).volume
    h = max((vol / max(n_target, 1)) ** (1.0 / 3.0), 1.5 * spacing, min_pitch or 0.0)
    lo = m.min(0) - h
    dims = np.ceil((m.max(0) + h - lo) / h).astype(int) + 1
    occ = np.zeros(dims, bool)
    ijk = np.floor((m - lo) / h).astype(int)
    occ[ijk[:, 0], ijk[:, 1], ijk[:, 2]] = True
    inside = occ.copy()
    enclosed = np.ones_like(occ)
    for ax in range(3):
        fwd = np.maximum.accumulate(occ, axis=ax)
        bwd = np.flip(np.maximum.accumulate(np.flip(occ, axis=ax), axis=ax), axis=ax)
        enclosed &= fwd & bwd
    inside |= enclosed
    idx = np.argwhere(inside)
    return (lo + (idx + 0.5) * h).astype(np.float64), h


def knn_edges(x: np.ndarray, k: int) -> np.ndarray:
    """(E,2) undirected edges of the k-nearest-neighbour graph (for the smoothness term of eq. 5)."""
    from scipy.spatial import cKDTree

    kk = int(min(k + 1, len(x)))
    _, idx = cKDTree(x).query(x, k=kk)
    e = np.stack([np.repeat(np.arange(len(x)), kk - 1), idx[:, 1:].reshape(-1)], 1)
    e = np.sort(e, axis=1)
    return np.unique(e, axis=0)


def contact_index(particles: np.ndarray, contacts: np.ndarray, radius: float) -> np.ndarray:
    """(N,) control point each particle follows (-1 free): particles within ``radius`` of a contact;
    at least the nearest particle of every contact is attached."""
    d = np.linalg.norm(particles[:, None] - contacts[None], axis=-1)
    idx = np.where(d.min(1) <= radius, d.argmin(1), -1)
    for c in range(contacts.shape[0]):
        p = int(d[:, c].argmin())
        if idx[p] < 0:
            idx[p] = c
    return idx.astype(np.int64)
