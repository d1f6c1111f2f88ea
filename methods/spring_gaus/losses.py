"""Image losses of Spring-Gaus eq. 18: L = (1 - λ) L1 + λ D-SSIM, with D-SSIM = 1 - SSIM.

``ssim_torch`` is the 3DGS ``utils/loss_utils.py::ssim`` convention, i.e. the torch twin of
``metrics.image.ssim_gaussian11``: 11x11 separable Gaussian window (σ = 1.5, normalised), zero
padding ('same' conv2d, window not renormalised at borders), population variances, C1 = 0.01²,
C2 = 0.03², map averaged over all pixels and channels. Differentiable.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

_C1, _C2 = 0.01**2, 0.03**2


def _window(size: int = 11, sigma: float = 1.5, dtype=torch.float32, device=None) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64, device=device) - size // 2
    w = torch.exp(-(x**2) / (2.0 * sigma**2))
    return (w / w.sum()).to(dtype)


def ssim_torch(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of (H,W), (H,W,C) or (B,H,W,C) images in [0, 1] (3DGS Gaussian-11 convention)."""
    if pred.shape != gt.shape:
        raise ValueError(f"shape mismatch: {tuple(pred.shape)} vs {tuple(gt.shape)}")
    p, g = pred, gt
    if p.ndim == 2:
        p, g = p[..., None], g[..., None]
    if p.ndim == 3:
        p, g = p[None], g[None]
    p = p.permute(0, 3, 1, 2)  # B,C,H,W
    g = g.permute(0, 3, 1, 2)
    c = p.shape[1]
    w = _window(dtype=p.dtype, device=p.device)
    kx = w.reshape(1, 1, 1, -1).expand(c, 1, 1, w.numel())
    ky = w.reshape(1, 1, -1, 1).expand(c, 1, w.numel(), 1)
    r = w.numel() // 2

    def blur(x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, kx, padding=(0, r), groups=c)
        return F.conv2d(x, ky, padding=(r, 0), groups=c)

    mu1, mu2 = blur(p), blur(g)
    s11 = blur(p * p) - mu1 * mu1
    s22 = blur(g * g) - mu2 * mu2
    s12 = blur(p * g) - mu1 * mu2
    smap = ((2 * mu1 * mu2 + _C1) * (2 * s12 + _C2)) / ((mu1**2 + mu2**2 + _C1) * (s11 + s22 + _C2))
    return smap.mean()


def l1_dssim(pred: torch.Tensor, gt: torch.Tensor, lambda_dssim: float) -> torch.Tensor:
    """Spring-Gaus eq. 18 (and 3DGS): (1 - λ) |pred - gt|_1 + λ (1 - SSIM)."""
    l1 = (pred - gt).abs().mean()
    if lambda_dssim <= 0:
        return l1
    return (1.0 - lambda_dssim) * l1 + lambda_dssim * (1.0 - ssim_torch(pred, gt))
