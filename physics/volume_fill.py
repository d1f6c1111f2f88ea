"""Interior of a shape outlined by Gaussian centres (surface samples), for volume-sampled anchors.

Shared by Spring-Gaus (eq. 4, V(X)) and ReconPhys (§4.1 volume sampling). Unlike a convex-hull fill,
the voxel fill keeps concave parts empty (a torus's or tube's hole, a star prism's notches).
"""
from __future__ import annotations

import numpy as np


def voxel_interior(means: np.ndarray, vox: float) -> tuple[np.ndarray, bool]:
    """(candidate points (P,3): voxel centres of the filled shape, enclosed).

    Occupancy = voxels holding a centre, dilated once, closed (2 iterations) and hole-filled, then
    eroded once (the dilation only bridges gaps between centres; it must not inflate the volume);
    the occupied surface voxels are always kept. ``enclosed`` is False when the fill added less than
    30 % to the closed shell (an open surface: the caller decides on a fallback).
    """
    from scipy.ndimage import binary_closing, binary_dilation, binary_erosion, binary_fill_holes

    m = np.asarray(means)  # keep the caller's dtype: float32 vs float64 voxel indices differ at cell borders
    lo = m.min(0) - 3 * vox
    shape = np.ceil((m.max(0) + 3 * vox - lo) / vox).astype(int) + 1
    occ = np.zeros(shape, bool)
    occ[tuple(np.floor((m - lo) / vox).astype(int).T)] = True
    closed = binary_closing(binary_dilation(occ, iterations=1), iterations=2)
    filled = binary_fill_holes(closed)
    cand = lo + vox * (np.argwhere(binary_erosion(filled, iterations=1) | occ) + 0.5)
    return cand, bool(filled.sum() >= 1.3 * closed.sum())
