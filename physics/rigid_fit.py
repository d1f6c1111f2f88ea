"""Least-squares rigid fits (Kabsch): the proper rotation of a cross-covariance, and what a rigid motion
cannot explain of a point trajectory. Shared by the LBS binding (``physics.binding.anchor_rotations``)
and the deformation probe (``probes/linear_probe.py``). Works on numpy arrays and torch tensors.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def rotation_from_covariance(cov: Any) -> Any:
    """(..., 3, 3) cross-covariance sum_k q_k p_k^T -> the proper rotation R (det +1) maximising
    tr(R^T cov), i.e. the least-squares R with q_k ~ R p_k (Kabsch: U diag(1, 1, det(U V^T)) V^T)."""
    if type(cov).__module__.startswith("torch"):
        import torch

        u, _, vh = torch.linalg.svd(cov)
        det = torch.det(u @ vh)
        ones = torch.ones_like(det)
        return u @ torch.diag_embed(torch.stack([ones, ones, det], dim=-1)) @ vh
    u, _, vh = np.linalg.svd(np.asarray(cov, np.float64))
    d = np.ones(u.shape[:-1])
    d[..., 2] = np.linalg.det(u @ vh)
    return (u * d[..., None, :]) @ vh


def nonrigid_residuals(points: np.ndarray) -> np.ndarray:
    """(T,N,3) -> per frame, the RMS distance left after the best rigid (Kabsch) alignment of frame 0 onto
    frame t, relative to frame 0's RMS radius: the deformation with the object's motion and rotation removed."""
    pts = np.asarray(points, np.float64)
    x0 = pts[0] - pts[0].mean(0)
    xc = pts - pts.mean(1, keepdims=True)
    rot = rotation_from_covariance(np.einsum("tni,nj->tij", xc, x0))  # x0 -> frame t
    res = np.sqrt(((np.einsum("tij,nj->tni", rot, x0) - xc) ** 2).sum(-1).mean(-1))
    return res / np.sqrt((x0 ** 2).sum(1).mean())
