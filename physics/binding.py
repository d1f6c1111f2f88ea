"""Binding of surface points (Gaussian centres) to simulated anchors.

``idw_binding`` + ``apply_binding(mode="idw")`` implement Spring-Gaus eq. 6 and eq. 15: each
point moves with the inverse-distance-weighted average of its k nearest anchors,
``mu_t = sum_j w_j x_j^t``, weights from rest-state distances. This is exact for translations
but shrinks points towards anchors under rotation. ``mode="lbs"`` (option, PhysTwin-style
linear blend skinning) gives each anchor a local rotation R_j^t, the least-squares (Kabsch) fit
of its anchor neighbourhood, and blends ``R_j^t (p_0 - x_j^0) + x_j^t`` with the same weights;
it is exact for any rigid motion. It is evaluated in displacement form,
``p_0 + sum_j w_j ((R_j^t - I)(p_0 - x_j^0) + x_j^t - x_j^0)``, equal when the weights sum to 1 and
exact at rest even though float32 weights do not: frame 0 returns ``p_0`` bit for bit, so a
re-simulation that binds the recorded frame-0 points reproduces every later frame bit for bit too. ``mode="idw_disp"`` (ReconPhys §3.2: "the anchor displacements are
propagated to Gaussian centres") moves each point by the IDW blend of its anchors' displacements,
``mu_t = mu_0 + sum_j w_j (x_j^t - x_j^0)``: exact at rest and for translations, no shrink with
sparse anchors. Works on numpy arrays and torch tensors (differentiable).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from physics.rigid_fit import rotation_from_covariance


def _kdtree(points: np.ndarray):
    """scipy's cKDTree, imported lazily (keeps `import physics...` light)."""
    from scipy.spatial import cKDTree

    return cKDTree(points)


def stable_knn(anchors: np.ndarray, points: np.ndarray, k: int, skip_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """k nearest anchors of each point with rounding-proof ties: distances equal to 1e-6 of the anchors'
    extent count as equal and are ordered by anchor index, so float32 and float64 copies of the same
    points (e.g. a voxel-filled MPM lattice, where 12 second neighbours tie) select the same set.
    Returns distances (M,k) and indices (M,k); ``skip_self`` drops each point's own index (points = anchors)."""
    a = np.asarray(anchors, np.float64).reshape(-1, 3)
    p = np.asarray(points, np.float64).reshape(-1, 3)
    kk = int(min(k + int(skip_self) + 16, a.shape[0]))
    d, idx = _kdtree(a).query(p, k=kk)
    d, idx = np.asarray(d, np.float64).reshape(len(p), kk), np.asarray(idx).reshape(len(p), kk)
    quantum = 1e-6 * max(float(np.ptp(a, axis=0).max()), 1e-12)  # > float32 rounding (6e-8 relative)
    # sort by (quantised distance, index); with skip_self the point's own index goes last first
    keys = (idx, np.round(d / quantum)) + ((idx == np.arange(len(p))[:, None],) if skip_self else ())
    order = np.lexsort(keys, axis=1)[:, :k]
    return np.take_along_axis(d, order, 1), np.take_along_axis(idx, order, 1)


def idw_binding(points: np.ndarray, anchors: np.ndarray, k: int = 8, power: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Spring-Gaus eq. 6/15 weights: ``idx (M,k) int64`` of nearest anchors, ``w (M,k) float32``.

    w_ij = d_ij^-p / sum_j d_ij^-p; a point on an anchor (d = 0) gets weight 1 on it. Rows sum to 1.
    """
    p = np.asarray(points, np.float64).reshape(-1, 3)
    a = np.asarray(anchors, np.float64).reshape(-1, 3)
    k = int(min(k, a.shape[0]))
    d, idx = stable_knn(a, p, k)
    tiny = 1e-12
    on = d < tiny
    with np.errstate(divide="ignore"):
        inv = np.where(on, 0.0, 1.0 / np.maximum(d, tiny) ** power)
    hit = on.any(axis=1)
    inv[hit] = on[hit].astype(np.float64)  # exact coincidence: all weight on the coincident anchor(s)
    w = inv / inv.sum(axis=1, keepdims=True)
    return idx.astype(np.int64), w.astype(np.float32)


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def anchor_rotations(anchors0: Any, anchors_t: Any, neighbors: np.ndarray) -> Any:
    """Per-anchor least-squares rotation (..., N, 3, 3) mapping rest to current neighbourhoods."""
    if _is_torch(anchors_t):
        import torch

        a0 = torch.as_tensor(np.asarray(anchors0), dtype=anchors_t.dtype, device=anchors_t.device) \
            if not _is_torch(anchors0) else anchors0.to(anchors_t)
        nb = torch.as_tensor(neighbors, dtype=torch.long, device=anchors_t.device)
        p = a0[nb] - a0[:, None, :]  # (N,K,3)
        q = anchors_t[..., nb, :] - anchors_t[..., :, None, :]  # (...,N,K,3)
        return rotation_from_covariance(torch.einsum("...nki,nkj->...nij", q, p))
    a0 = np.asarray(anchors0, np.float64)
    at = np.asarray(anchors_t, np.float64)
    p = a0[neighbors] - a0[:, None, :]
    q = at[..., neighbors, :] - at[..., :, None, :]
    return rotation_from_covariance(np.einsum("...nki,nkj->...nij", q, p))


def anchor_neighbors(anchors0: Any, k: int = 8) -> np.ndarray:
    """(N, k) indices of each anchor's nearest other anchors at rest (for ``mode="lbs"``)."""
    a = np.asarray(anchors0.detach().cpu() if _is_torch(anchors0) else anchors0, np.float64)
    return stable_knn(a, a, int(min(k, a.shape[0] - 1)), skip_self=True)[1]


def apply_binding(
    points0: Any, anchors0: Any, anchors_t: Any, idx: Any, w: Any,
    mode: Literal["idw", "idw_disp", "lbs"] = "idw", neighbors: np.ndarray | None = None,
) -> Any:
    """Move bound points with the anchors: (..., N, 3) anchors -> (..., M, 3) points.

    ``mode="idw"`` (default) is Spring-Gaus eq. 15: sum_j w_j x_j^t; ``"idw_disp"`` adds the blended
    displacements to the rest points (ReconPhys eq. 10 as described in §3.2). ``mode="lbs"`` blends
    per-anchor rigid transforms (see module doc; ``neighbors`` defaults to 8 rest-state
    neighbours). numpy in -> numpy out (float32); torch in -> torch out (autograd-friendly).
    """
    if mode not in ("idw", "idw_disp", "lbs"):
        raise ValueError(f"unknown binding mode {mode!r} (idw, idw_disp, lbs)")
    if _is_torch(anchors_t):
        import torch

        to = lambda a, dt=anchors_t.dtype: (a.to(device=anchors_t.device, dtype=dt) if _is_torch(a)  # noqa: E731
                                          else torch.as_tensor(np.asarray(a), device=anchors_t.device, dtype=dt))
        ii, ww = to(idx, torch.long), to(w)
        xt = anchors_t[..., ii, :]  # (...,M,k,3)
        if mode == "idw":
            return (ww[..., None] * xt).sum(dim=-2)
        if mode == "idw_disp":
            return to(points0) + (ww[..., None] * (xt - to(anchors0)[ii])).sum(dim=-2)
        nb = anchor_neighbors(anchors0) if neighbors is None else neighbors
        a0 = to(anchors0)
        rot = anchor_rotations(anchors0, anchors_t, nb)[..., ii, :, :]  # (...,M,k,3,3)
        rel = to(points0)[:, None, :] - a0[ii]  # (M,k,3)
        eye = torch.eye(3, dtype=rot.dtype, device=rot.device)
        disp = torch.einsum("...mkij,mkj->...mki", rot - eye, rel) + (xt - a0[ii])
        return to(points0) + (ww[..., None] * disp).sum(dim=-2)
    at = np.asarray(anchors_t, np.float64)
    ii, ww = np.asarray(idx, np.int64), np.asarray(w, np.float64)
    xt = at[..., ii, :]
    if mode == "idw":
        return (ww[..., None] * xt).sum(axis=-2).astype(np.float32)
    if mode == "idw_disp":
        disp = (ww[..., None] * (xt - np.asarray(anchors0, np.float64)[ii])).sum(axis=-2)
        return (np.asarray(points0, np.float64) + disp).astype(np.float32)
    nb = anchor_neighbors(anchors0) if neighbors is None else neighbors
    a0 = np.asarray(anchors0, np.float64)
    rot = anchor_rotations(anchors0, at, nb)[..., ii, :, :]
    rel = np.asarray(points0, np.float64)[:, None, :] - a0[ii]
    disp = np.einsum("...mkij,mkj->...mki", rot - np.eye(3), rel) + (xt - a0[ii])
    return (np.asarray(points0, np.float64) + (ww[..., None] * disp).sum(axis=-2)).astype(np.float32)
