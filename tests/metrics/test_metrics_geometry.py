"""Geometry metrics against brute-force O(PQ) numpy, exhaustive permutations and hand cases."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from metrics.geometry import (
    chamfer_l2sq_mean,
    chamfer_phystwin_l1,
    chamfer_reconphys,
    chamfer_springgaus_x1e6,
    emd,
    nearest_distances,
    subsample_pair,
    tracking_error,
)


def _pairwise(a: np.ndarray, b: np.ndarray, ord_: int = 2) -> np.ndarray:
    diff = a[:, None, :] - b[None, :, :]
    return np.abs(diff).sum(-1) if ord_ == 1 else np.sqrt((diff**2).sum(-1))


def _sets(seed: int, p: int = 53, q: int = 71) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gt = rng.random((q, 3))
    pred = rng.random((p, 3)) * 1.2 + 0.05
    return pred, gt


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chamfer_variants_vs_brute_force(seed):
    pred, gt = _sets(seed)
    d = _pairwise(pred, gt)
    fwd, bwd = (d.min(1) ** 2).mean(), (d.min(0) ** 2).mean()
    assert np.allclose(nearest_distances(pred, gt), d.min(1), atol=1e-12)
    assert chamfer_l2sq_mean(pred, gt) == pytest.approx(fwd + bwd, rel=1e-12)
    assert chamfer_reconphys(pred, gt) == pytest.approx(0.5 * (fwd + bwd), rel=1e-12)
    assert chamfer_springgaus_x1e6(pred, gt) == pytest.approx(1e6 * (fwd + bwd), rel=1e-12)
    # PhysTwin: one-sided GT -> prediction, not squared, L1 norm (pytorch3d norm=1)
    assert chamfer_phystwin_l1(pred, gt) == pytest.approx(_pairwise(gt, pred, 1).min(1).mean(), rel=1e-12)
    assert chamfer_phystwin_l1(pred, gt, norm=2) == pytest.approx(d.min(0).mean(), rel=1e-12)


def test_chamfer_hand_cases():
    a, b = np.array([[0.0, 0.0, 0.0]]), np.array([[3.0, 4.0, 0.0]])  # distance 5 (L1: 7)
    assert chamfer_l2sq_mean(a, b) == pytest.approx(50.0)
    assert chamfer_reconphys(a, b) == pytest.approx(25.0)
    assert chamfer_springgaus_x1e6(a, b) == pytest.approx(50e6)
    assert chamfer_springgaus_x1e6(a, b, scale=1e3) == pytest.approx(50e3)
    assert chamfer_phystwin_l1(a, b) == pytest.approx(7.0)
    assert chamfer_phystwin_l1(a, b, norm=2) == pytest.approx(5.0)
    # asymmetric: an extra predicted point 1 m away is invisible to the GT->pred one-sided CD
    pred = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    gt = np.array([[0.0, 0.0, 0.0]])
    assert chamfer_l2sq_mean(pred, gt) == pytest.approx(0.5)
    assert chamfer_reconphys(pred, gt) == pytest.approx(0.25)
    assert chamfer_phystwin_l1(pred, gt) == 0.0
    assert chamfer_phystwin_l1(gt, pred) == pytest.approx(0.5)


def test_subsample_reproducible():
    pred, gt = _sets(3, 400, 500)
    v1 = chamfer_l2sq_mean(pred, gt, n=50, seed=11)
    assert chamfer_l2sq_mean(pred, gt, n=50, seed=11) == v1
    assert chamfer_l2sq_mean(pred, gt, n=50, seed=12) != v1
    assert chamfer_l2sq_mean(pred, gt, n=1000, seed=11) == chamfer_l2sq_mean(pred, gt)
    p, g = subsample_pair(pred, gt, n=50, seed=11)
    assert p.shape == (50, 3) and g.shape == (50, 3)
    # subsample = rows of the originals, without replacement
    assert len({tuple(r) for r in p}) == 50 and all((pred == r).all(1).any() for r in p)
    d = _pairwise(p, g)
    assert v1 == pytest.approx((d.min(1) ** 2).mean() + (d.min(0) ** 2).mean(), rel=1e-12)
    with pytest.raises(ValueError):
        subsample_pair(pred, gt, n=0)


def _emd_exhaustive(a: np.ndarray, b: np.ndarray, squared: bool) -> float:
    d = _pairwise(a, b) ** (2 if squared else 1)
    idx = np.arange(len(a))
    return min(d[idx, list(perm)].mean() for perm in itertools.permutations(range(len(b))))


@pytest.mark.parametrize("n", [1, 3, 5, 7])
def test_emd_vs_exhaustive(n):
    rng = np.random.default_rng(n)
    for _ in range(2):
        a, b = rng.random((n, 3)), rng.random((n, 3)) + 0.3
        for sq in (False, True):
            assert emd(a, b, squared=sq) == pytest.approx(_emd_exhaustive(a, b, sq), rel=1e-12)


def test_emd_translation_and_identity():
    rng = np.random.default_rng(4)
    x = rng.random((200, 3))
    t = np.array([0.3, -0.2, 0.6])
    assert emd(x, x + t, n=None) == pytest.approx(np.linalg.norm(t), rel=1e-9)
    assert emd(x, x + t, n=None, squared=True) == pytest.approx(t @ t, rel=1e-9)
    assert emd(x, x[::-1].copy(), n=None) == pytest.approx(0.0, abs=1e-15)


def test_emd_subsample_and_unequal_sizes():
    rng = np.random.default_rng(8)
    a, b = rng.random((300, 3)), rng.random((120, 3))
    v = emd(a, b, n=64, seed=3)
    assert v == emd(a, b, n=64, seed=3) and v > 0
    assert emd(a, b, n=None, seed=3) == emd(a, b, n=None, seed=3)  # 300 -> 120 by the seeded rng
    # unequal sizes: the larger set is reduced to the smaller size; all-equal points stay exact
    c = np.zeros((9, 3))
    assert emd(c + 1.0, c[:4], n=None) == pytest.approx(math.sqrt(3.0))


def test_tracking_error_hand_case():
    gt = np.zeros((3, 2, 3))
    pred = gt.copy()
    pred[1, 0] = [3.0, 4.0, 0.0]  # frame 1: errors 5 and 0 -> 2.5
    pred[2] = [0.0, 0.0, 1.0]  # frame 2: errors 1, 1 -> 1
    assert np.allclose(tracking_error(pred, gt), [0.0, 2.5, 1.0])
    gt_nan = gt.copy()
    gt_nan[1, 1] = np.nan  # skipped -> frame 1 error is 5
    gt_nan[2, :] = np.nan  # nothing valid -> nan
    out = tracking_error(pred, gt_nan)
    assert out[1] == pytest.approx(5.0) and math.isnan(out[2])
    with pytest.raises(ValueError):
        tracking_error(pred[:, :1], gt)


def test_invalid_inputs():
    with pytest.raises(ValueError):
        chamfer_l2sq_mean(np.zeros((0, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError):
        chamfer_l2sq_mean(np.zeros((4, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError):
        chamfer_l2sq_mean(np.full((4, 3), np.nan), np.zeros((3, 3)))


def test_emd_of_corresponding_sets_pairs_their_subsamples():
    """Issue 21.1: EMD of identical point sets was 0.07 m because prediction and GT were subsampled
    independently; corresponding sets now share one index set, so identical sets score exactly 0."""
    from metrics.conventions import METRICS
    from metrics.evaluate import DEFAULT_EVAL

    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 0.5, (500, 3))
    assert emd(x, x, n=256, paired=True) == 0.0 and emd(x, x, n=256, paired=True, squared=True) == 0.0
    assert emd(x, x, n=256) > 0.03  # the independent convention keeps its floor (two samplings of one set)
    y = x + np.array([0.1, 0.0, 0.0])
    assert emd(x, y, n=256, paired=True) == pytest.approx(0.1, abs=1e-12)  # a translation: every point moves 0.1
    # the function's default n is the eval default the convention text states
    import inspect

    assert inspect.signature(emd).parameters["n"].default == DEFAULT_EVAL["emd_n"] == 256
    assert "n=256" in METRICS["emd"].convention and "one index set" in METRICS["emd"].convention
    with pytest.raises(ValueError):
        emd(x, x[:400], paired=True)
