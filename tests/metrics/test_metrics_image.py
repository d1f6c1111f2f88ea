"""Image metrics against independent references (skimage, explicit loops, torch conv2d)."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

from metrics.image import (
    per_frame,
    psnr,
    psnr_channel_mean,
    silhouette_iou,
    ssim_gaussian11,
    ssim_skimage7,
)

skm = pytest.importorskip("skimage.metrics")


def _structured(h: int, w: int) -> dict[str, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    grad = np.stack([xx / (w - 1), yy / (h - 1), (xx + yy) / (h + w - 2)], axis=-1)
    checker = (((yy // 4) + (xx // 4)) % 2).astype(np.float64)
    checker = np.repeat(checker[..., None], 3, axis=-1) * np.array([1.0, 0.5, 0.25])
    rng = np.random.default_rng(7)
    return {
        "random": rng.random((h, w, 3)),
        "gradient": grad,
        "checker": checker,
        "smooth": np.clip(grad + 0.05 * rng.standard_normal((h, w, 3)), 0, 1),
    }


# ---------------------------------------------------------------- PSNR


def test_psnr_matches_skimage_random():
    rng = np.random.default_rng(0)
    for _ in range(3):
        a, b = rng.random((20, 30, 3)), rng.random((20, 30, 3))
        ref = skm.peak_signal_noise_ratio(b, a, data_range=1.0)
        assert psnr(a, b) == pytest.approx(ref, abs=1e-10)


def test_psnr_constant_offset_is_20db():
    gt = np.full((8, 9, 3), 0.4)
    assert psnr(gt + 0.1, gt) == pytest.approx(20.0, abs=1e-9)
    assert psnr_channel_mean(gt + 0.1, gt) == pytest.approx(20.0, abs=1e-9)


def test_psnr_identical_is_inf_without_warnings():
    x = np.random.default_rng(1).random((5, 6, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert psnr(x, x) == math.inf
        assert psnr_channel_mean(x, x) == math.inf
        y = x.copy()
        y[..., 0] += 0.1  # one channel differs, two identical -> mean is inf
        assert psnr_channel_mean(y, x) == math.inf


def test_psnr_channel_mean_hand_value():
    gt = np.zeros((4, 4, 3))
    pred = gt + np.array([0.1, 0.01, 0.001])  # per-channel PSNR 20, 40, 60
    assert psnr_channel_mean(pred, gt) == pytest.approx(40.0, abs=1e-9)
    mse = (0.1**2 + 0.01**2 + 0.001**2) / 3
    assert psnr(pred, gt) == pytest.approx(10 * math.log10(1 / mse), abs=1e-9)
    assert psnr_channel_mean(pred, gt) > psnr(pred, gt)


# ---------------------------------------------------------------- SSIM (skimage convention)


@pytest.mark.parametrize("shape", [(32, 48), (24, 24), (7, 9)])
def test_ssim_skimage7_equals_skimage(shape):
    imgs = _structured(*shape)
    rng = np.random.default_rng(3)
    for name, gt in imgs.items():
        for pred in (np.clip(gt + 0.1 * rng.standard_normal(gt.shape), 0, 1), imgs["random"], 1 - gt):
            ref = skm.structural_similarity(pred, gt, channel_axis=-1, data_range=1.0)
            assert ssim_skimage7(pred, gt) == pytest.approx(ref, abs=1e-6), name


def test_ssim_skimage7_float32_and_gray():
    imgs = _structured(32, 48)
    gt, pred = imgs["smooth"], imgs["random"]
    ref = skm.structural_similarity(pred[..., 0], gt[..., 0], data_range=1.0)
    assert ssim_skimage7(pred[..., 0], gt[..., 0]) == pytest.approx(ref, abs=1e-6)
    ref32 = skm.structural_similarity(
        pred.astype(np.float32), gt.astype(np.float32), channel_axis=-1, data_range=1.0
    )  # skimage runs in float32 here; we run in float64
    assert ssim_skimage7(pred.astype(np.float32), gt.astype(np.float32)) == pytest.approx(ref32, abs=1e-5)


def test_ssim_skimage7_too_small():
    with pytest.raises(ValueError):
        ssim_skimage7(np.zeros((6, 10, 3)), np.zeros((6, 10, 3)))


# ---------------------------------------------------------------- SSIM (3DGS convention)


def _ssim_loops(x: np.ndarray, y: np.ndarray) -> float:
    """Direct formula: zero-padded 11x11 Gaussian windows, explicit loops, no convolution calls."""
    g = [math.exp(-((i - 5) ** 2) / (2 * 1.5**2)) for i in range(11)]
    s = sum(g)
    g = [v / s for v in g]
    h, w, c = x.shape
    c1, c2 = 0.01**2, 0.03**2
    total = 0.0
    for ch in range(c):
        for i in range(h):
            for j in range(w):
                mx = my = sxx = syy = sxy = 0.0
                for u in range(-5, 6):
                    for v in range(-5, 6):
                        ii, jj = i + u, j + v
                        if 0 <= ii < h and 0 <= jj < w:  # outside: zero, weight still counted
                            wt = g[u + 5] * g[v + 5]
                            a, b = x[ii, jj, ch], y[ii, jj, ch]
                            mx += wt * a
                            my += wt * b
                            sxx += wt * a * a
                            syy += wt * b * b
                            sxy += wt * a * b
                vx, vy, vxy = sxx - mx * mx, syy - my * my, sxy - mx * my
                total += ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return total / (h * w * c)


def test_ssim_gaussian11_matches_explicit_loops():
    rng = np.random.default_rng(5)
    imgs = _structured(16, 16)
    pairs = [
        (rng.random((16, 16, 3)), rng.random((16, 16, 3))),
        (np.clip(imgs["gradient"] + 0.05 * rng.standard_normal((16, 16, 3)), 0, 1), imgs["gradient"]),
    ]
    for pred, gt in pairs:
        assert ssim_gaussian11(pred, gt) == pytest.approx(_ssim_loops(pred, gt), abs=1e-6)


def test_ssim_gaussian11_matches_3dgs_conv2d():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(6)
    pred, gt = rng.random((24, 40, 3)), _structured(24, 40)["smooth"]
    g = torch.tensor([math.exp(-((x - 5) ** 2) / (2 * 1.5**2)) for x in range(11)], dtype=torch.float64)
    g = g / g.sum()
    win = (g[:, None] @ g[None, :]).expand(3, 1, 11, 11).contiguous()
    a = torch.tensor(pred).permute(2, 0, 1)[None]
    b = torch.tensor(gt).permute(2, 0, 1)[None]
    conv = lambda t: F.conv2d(t, win, padding=5, groups=3)  # noqa: E731  (3DGS loss_utils.ssim)
    mu1, mu2 = conv(a), conv(b)
    s1, s2, s12 = conv(a * a) - mu1**2, conv(b * b) - mu2**2, conv(a * b) - mu1 * mu2
    m = ((2 * mu1 * mu2 + 1e-4) * (2 * s12 + 9e-4)) / ((mu1**2 + mu2**2 + 1e-4) * (s1 + s2 + 9e-4))
    assert ssim_gaussian11(pred, gt) == pytest.approx(float(m.mean()), abs=1e-9)


def test_ssim_identical_and_negative():
    for img in _structured(20, 28).values():
        assert ssim_gaussian11(img, img) == pytest.approx(1.0, abs=1e-12)
        assert ssim_skimage7(img, img) == pytest.approx(1.0, abs=1e-12)
    rnd = _structured(20, 28)["random"]
    assert ssim_gaussian11(1 - rnd, rnd) < 0.0
    assert ssim_skimage7(1 - rnd, rnd) < 0.0
    grad = _structured(20, 28)["smooth"]
    assert ssim_gaussian11(1 - grad, grad) < 0.3


# ---------------------------------------------------------------- IoU, batching


def test_silhouette_iou_hand_cases():
    z = np.zeros((4, 4))
    assert silhouette_iou(z, z) == 1.0
    a = z.copy()
    a[0, :] = 1.0
    assert silhouette_iou(a, z) == 0.0
    b = z.copy()
    b[0, :2] = 0.9
    b[1, :2] = 0.7
    assert silhouette_iou(a, b) == pytest.approx(2 / 6)
    c = z.copy()
    c[0, :] = 0.5  # threshold is inclusive: alpha >= 0.5 is foreground
    assert silhouette_iou(c, a) == 1.0
    assert silhouette_iou(c, a, threshold=0.6) == 0.0


def test_per_frame():
    rng = np.random.default_rng(2)
    gts = rng.random((3, 8, 8, 3))
    preds = gts.copy()
    preds[1] += 0.1
    out = per_frame(psnr, preds, gts)
    assert out.shape == (3,)
    assert out[0] == math.inf and out[1] == pytest.approx(20.0)
    with pytest.raises(ValueError):
        per_frame(psnr, preds[:2], gts)


def test_import_metrics_stays_light():
    code = (
        "import sys, metrics; assert 'numpy' not in sys.modules, 'numpy'; "
        "import metrics.image, metrics.geometry, metrics.physics_params; "
        "assert 'torch' not in sys.modules, 'torch'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
