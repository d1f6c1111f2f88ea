"""Image-space metrics: PSNR, SSIM (two conventions), silhouette IoU.

Inputs are float arrays in [0, 1]: colour frames H x W x 3 (H x W x C, or H x W for one
channel), masks / alpha H x W. All arithmetic is float64 whatever the input dtype, so results
are deterministic across callers. Pure numpy (+ scipy.ndimage for the Gaussian SSIM); no torch.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

__all__ = [
    "psnr",
    "psnr_channel_mean",
    "ssim_gaussian11",
    "ssim_skimage7",
    "silhouette_iou",
    "gaussian_window_1d",
    "per_frame",
]

# Wang et al. 2004 constants (K1, K2) for data_range = 1.
_K1, _K2 = 0.01, 0.03


def _pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(gt, dtype=np.float64)
    if p.shape != g.shape:
        raise ValueError(f"shape mismatch: pred {p.shape} vs gt {g.shape}")
    if p.ndim not in (2, 3):
        raise ValueError(f"expected H x W or H x W x C, got shape {p.shape}")
    return p, g


def _channels(x: np.ndarray) -> np.ndarray:
    """H x W -> H x W x 1; H x W x C unchanged."""
    return x[..., None] if x.ndim == 2 else x


def _psnr_from_mse(mse: float, data_range: float) -> float:
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range * data_range / mse)


def psnr(pred: np.ndarray, gt: np.ndarray, data_range: float = 1.0) -> float:
    """PSNR = 10 log10(R² / MSE), MSE averaged over *all* pixels and channels at once.

    This is the 3DGS / skimage ``peak_signal_noise_ratio`` convention. Identical images give
    ``math.inf`` (callers aggregating over frames must decide how to treat it; we never clip).
    """
    p, g = _pair(pred, gt)
    return _psnr_from_mse(float(np.mean((p - g) ** 2)), data_range)


def psnr_channel_mean(pred: np.ndarray, gt: np.ndarray, data_range: float = 1.0) -> float:
    """Mean over channels of per-channel PSNR (each channel's own MSE over its pixels).

    Differs from :func:`psnr` (log of the mean vs mean of the logs; this one is >= it by
    Jensen). A channel with zero error has PSNR ``inf``, so the mean is ``math.inf`` whenever
    any channel is identical — computed without division-by-zero warnings. H x W inputs are one
    channel (then equal to :func:`psnr`).
    """
    p, g = _pair(pred, gt)
    mses = np.mean((_channels(p) - _channels(g)) ** 2, axis=(0, 1))
    return float(np.mean([_psnr_from_mse(float(m), data_range) for m in mses]))


def gaussian_window_1d(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """Normalised 1-D Gaussian exp(-(x - size//2)² / 2σ²) / sum, as 3DGS ``gaussian()``."""
    x = np.arange(size, dtype=np.float64) - size // 2
    w = np.exp(-(x**2) / (2.0 * sigma**2))
    return w / w.sum()


def ssim_gaussian11(pred: np.ndarray, gt: np.ndarray) -> float:
    """SSIM in the 3DGS convention (``utils/loss_utils.py::ssim``; Wang et al. 2004 constants).

    Window: 11 x 11 separable Gaussian, σ = 1.5, normalised to sum 1. Local statistics are
    the *zero-padded 'same'* convolution (torch ``conv2d(padding=5)``: pixels outside the image
    count as 0 and the window is NOT renormalised at the border). σ² = E[x²] - μ², population
    (biased) covariance; C1 = 0.01², C2 = 0.03² (data_range 1). The SSIM map is computed per
    channel and averaged over every pixel (border included) and every channel.
    """
    from scipy.ndimage import correlate1d

    p, g = _pair(pred, gt)
    p, g = _channels(p), _channels(g)
    w = gaussian_window_1d(11, 1.5)

    def blur(x: np.ndarray) -> np.ndarray:
        # Symmetric kernel: correlation == convolution. mode="constant", cval=0 is zero padding.
        y = correlate1d(x, w, axis=0, mode="constant", cval=0.0)
        return correlate1d(y, w, axis=1, mode="constant", cval=0.0)

    mu1, mu2 = blur(p), blur(g)
    s11 = blur(p * p) - mu1 * mu1
    s22 = blur(g * g) - mu2 * mu2
    s12 = blur(p * g) - mu1 * mu2
    c1, c2 = _K1**2, _K2**2
    smap = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1**2 + mu2**2 + c1) * (s11 + s22 + c2))
    return float(smap.mean())


def _box_valid(x: np.ndarray, k: int) -> np.ndarray:
    """Mean over every k x k window fully inside the image (per channel), via an integral image."""
    s = np.zeros((x.shape[0] + 1, x.shape[1] + 1) + x.shape[2:], dtype=np.float64)
    s[1:, 1:] = x.cumsum(0).cumsum(1)
    tot = s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]
    return tot / (k * k)


def ssim_skimage7(pred: np.ndarray, gt: np.ndarray) -> float:
    """SSIM equal to ``skimage.metrics.structural_similarity(pred, gt, channel_axis=-1,
    data_range=1.0)`` (scikit-image defaults), reimplemented.

    Window: 7 x 7 uniform; sample covariance (× 49/48); C1 = 0.01², C2 = 0.03². skimage filters
    with 'reflect' borders and then crops 3 pixels on each side before averaging, so only windows
    fully inside the image matter: we compute exactly those ('valid' box means). Mean over the
    cropped map per channel, then over channels. Images smaller than 7 x 7 raise ValueError.
    (skimage computes in float32 for float32 inputs; we always use float64.)
    """
    p, g = _pair(pred, gt)
    p, g = _channels(p), _channels(g)
    k = 7
    if p.shape[0] < k or p.shape[1] < k:
        raise ValueError(f"image {p.shape[:2]} smaller than the 7x7 SSIM window")
    cov_norm = k * k / (k * k - 1.0)
    ux, uy = _box_valid(p, k), _box_valid(g, k)
    vx = cov_norm * (_box_valid(p * p, k) - ux * ux)
    vy = cov_norm * (_box_valid(g * g, k) - uy * uy)
    vxy = cov_norm * (_box_valid(p * g, k) - ux * uy)
    c1, c2 = _K1**2, _K2**2
    smap = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    return float(np.mean(smap.mean(axis=(0, 1))))


def silhouette_iou(pred_alpha: np.ndarray, gt_alpha: np.ndarray, threshold: float = 0.5) -> float:
    """IoU of the binarised silhouettes ``alpha >= threshold`` (PhysTwin "IoU").

    ``>=`` matches CONVENTIONS.md (background is alpha < 0.5). Both masks empty -> 1.0 (the
    prediction is exactly right); one empty -> 0.0.
    """
    a = np.asarray(pred_alpha) >= threshold
    b = np.asarray(gt_alpha) >= threshold
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: pred {a.shape} vs gt {b.shape}")
    union = int(np.count_nonzero(a | b))
    if union == 0:
        return 1.0
    return int(np.count_nonzero(a & b)) / union


def per_frame(
    fn: Callable[..., float],
    preds: Sequence[np.ndarray] | np.ndarray,
    gts: Sequence[np.ndarray] | np.ndarray,
    **kwargs: object,
) -> np.ndarray:
    """Apply a per-image metric to T paired frames -> float64 array (T,).

    No aggregation here: averaging (and what to do with ``inf`` PSNR) is the caller's choice.
    """
    if len(preds) != len(gts):
        raise ValueError(f"frame count mismatch: {len(preds)} vs {len(gts)}")
    return np.array([fn(p, g, **kwargs) for p, g in zip(preds, gts)], dtype=np.float64)
