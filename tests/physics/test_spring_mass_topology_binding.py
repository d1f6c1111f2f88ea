"""Spring topologies, eq. 15 IDW binding, and the import-cost contract."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from physics.binding import apply_binding, idw_binding
from physics.spring_mass import control_springs, knn_springs, radius_springs, soft_eta


def _rot(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ np.array([[1, 0, 0], [0, np.cos(0.5), -np.sin(0.5)], [0, np.sin(0.5), np.cos(0.5)]])


def test_knn_springs_brute_force():
    x = np.random.default_rng(0).uniform(size=(25, 3))
    e, r, rank = knn_springs(x, 4, return_rank=True)
    d = np.linalg.norm(x[:, None] - x[None], axis=2)
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1)[:, :4]
    truth = sorted({(min(i, j), max(i, j)) for i in range(25) for j in nn[i]})
    assert [tuple(p) for p in e.tolist()] == truth
    assert e.dtype == np.int32 and r.dtype == np.float32
    np.testing.assert_allclose(r, d[e[:, 0], e[:, 1]], rtol=1e-6)
    assert rank.min() >= 1 and rank.max() <= 4
    e2, r2 = knn_springs(x, 4)
    assert e2.tobytes() == e.tobytes() and r2.tobytes() == r.tobytes()


def test_radius_and_control_springs():
    x = np.array([[0, 0, 0], [0.1, 0, 0], [0.2, 0, 0], [1.0, 0, 0]], float)
    e, r = radius_springs(x, 0.15, 5)
    assert e.tolist() == [[0, 1], [1, 2]]
    ce, cr = control_springs(np.array([[0.0, 0, 0.05]]), x, 0.2, 2)
    assert ce.tolist() == [[0, 0], [0, 1]]
    np.testing.assert_allclose(cr, [0.05, np.hypot(0.1, 0.05)], rtol=1e-6)


def test_soft_eta_eq8():
    eta = soft_eta(np.array([1, 2, 3, 4, 5]), kappa=0.0, n_c=2)
    sp = np.log(2.0)
    np.testing.assert_allclose(eta, [1, 1, np.clip(2 - np.exp(sp), 0, 1), np.clip(2 - np.exp(2 * sp), 0, 1), 0])
    np.testing.assert_array_equal(soft_eta(np.arange(1, 4), None, 0), np.ones(3))


def test_idw_weights_and_exact_cases():
    rng = np.random.default_rng(2)
    anchors = rng.uniform(size=(40, 3))
    pts = np.concatenate([rng.uniform(size=(50, 3)), anchors[:3]])
    idx, w = idw_binding(pts, anchors, k=8, power=2.0)
    assert idx.shape == (53, 8) and idx.dtype == np.int64 and w.dtype == np.float32
    np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-6)
    moved = anchors + rng.normal(0, 0.1, anchors.shape)
    out = apply_binding(pts, anchors, moved, idx, w)
    np.testing.assert_allclose(out[-3:], moved[:3], atol=1e-6)  # coincident points follow exactly
    shift = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(apply_binding(pts, anchors, anchors + shift, idx, w),
                               apply_binding(pts, anchors, anchors, idx, w) + shift, atol=1e-5)
    # eq. 15 itself: weighted average of the k anchors with w ~ 1/d^2
    d = np.linalg.norm(pts[0] - anchors[idx[0]], axis=1)
    np.testing.assert_allclose(w[0], (1 / d**2) / (1 / d**2).sum(), rtol=1e-5)


def test_binding_rigid_rotation_lbs_exact_idw_bounded():
    rng = np.random.default_rng(4)
    anchors = rng.uniform(-0.5, 0.5, size=(60, 3))
    pts = rng.uniform(-0.4, 0.4, size=(30, 3))
    idx, w = idw_binding(pts, anchors, k=6)
    R, t = _rot(0.9), np.array([0.1, 0.2, 0.3])
    moved = anchors @ R.T + t
    truth = pts @ R.T + t
    lbs = apply_binding(pts, anchors, moved, idx, w, mode="lbs")
    np.testing.assert_allclose(lbs, truth, atol=1e-5)
    idw = apply_binding(pts, anchors, moved, idx, w)
    rest = apply_binding(pts, anchors, anchors, idx, w)
    # eq. 15 carries its rest-state interpolation error rigidly: |idw - truth| == |rest - pts|
    np.testing.assert_allclose(np.linalg.norm(idw - truth, axis=1), np.linalg.norm(rest - pts, axis=1), atol=1e-5)
    # torch path, batched over frames, differentiable
    at = torch.tensor(np.stack([anchors, moved]), requires_grad=True)
    out = apply_binding(pts, anchors, at, idx, w, mode="lbs")
    assert out.shape == (2, 30, 3)
    np.testing.assert_allclose(out[1].detach().numpy(), truth, atol=1e-6)
    out.sum().backward()
    assert torch.isfinite(at.grad).all()


def test_binding_idw_displacement_mode():
    """ReconPhys §3.2: mu_t = mu_0 + sum_j w_j (x_j^t - x_j^0) — exact at rest and for translations,
    equal to the blended anchor displacement, and identical on the numpy and torch paths."""
    rng = np.random.default_rng(5)
    anchors = rng.uniform(-0.5, 0.5, size=(20, 3))
    pts = rng.uniform(-0.6, 0.6, size=(25, 3))
    idx, w = idw_binding(pts, anchors, k=5)
    np.testing.assert_allclose(apply_binding(pts, anchors, anchors, idx, w, mode="idw_disp"), pts, atol=1e-6)
    assert np.abs(apply_binding(pts, anchors, anchors, idx, w) - pts).max() > 0.05  # eq. 15 shrinks at rest
    shift = np.array([0.3, -0.2, 0.7])
    np.testing.assert_allclose(apply_binding(pts, anchors, anchors + shift, idx, w, mode="idw_disp"), pts + shift,
                               atol=1e-6)
    moved = anchors + rng.normal(0, 0.05, anchors.shape)
    ref = pts + np.einsum("mk,mki->mi", w.astype(np.float64), moved[idx] - anchors[idx])  # explicit loop-free sum
    out = apply_binding(pts, anchors, moved, idx, w, mode="idw_disp")
    np.testing.assert_allclose(out, ref, atol=1e-6)
    at = torch.tensor(np.stack([anchors, moved]), requires_grad=True)
    tout = apply_binding(pts, anchors, at, idx, w, mode="idw_disp")
    np.testing.assert_allclose(tout[1].detach().numpy(), ref, atol=1e-6)
    tout.sum().backward()
    np.testing.assert_allclose(at.grad[1].sum(0).numpy(), np.full(3, len(pts)), atol=1e-9)  # weights sum to 1
    with pytest.raises(ValueError):
        apply_binding(pts, anchors, moved, idx, w, mode="bogus")


def test_importing_physics_is_light():
    code = ("import sys, physics, physics.spring_mass, physics.binding, physics.parameters, physics.spring_mass.record, physics.errors; "
            "bad = [m for m in ('warp', 'torch') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_stable_knn_is_rounding_proof_on_a_lattice():
    """A voxel lattice has 12 tied second neighbours; float32 and float64 copies must pick the same k
    (lowest index among ties), and untied neighbours must match a brute-force sort."""
    from physics.binding import anchor_neighbors, stable_knn

    g = np.arange(5) * 0.0575 - 0.11
    lat = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3) + np.array([0.013, -0.2, 0.61])
    n64 = anchor_neighbors(lat, 8)
    n32 = anchor_neighbors(lat.astype(np.float32).astype(np.float64), 8)
    np.testing.assert_array_equal(n64, n32)
    centre = 62  # interior point (2,2,2): 6 face neighbours, then the lowest-index 2 of the 12 edge ones
    d = np.linalg.norm(lat - lat[centre], axis=1)
    face = set(np.flatnonzero(np.isclose(d, 0.0575)))
    edge = sorted(np.flatnonzero(np.isclose(d, 0.0575 * np.sqrt(2))))
    assert set(n64[centre]) == face | set(edge[:2])
    rng = np.random.default_rng(0)
    a, p = rng.normal(size=(200, 3)), rng.normal(size=(30, 3))
    dist, idx = stable_knn(a, p, 7)
    ref = np.argsort(np.linalg.norm(p[:, None] - a[None], axis=2), axis=1)[:, :7]
    np.testing.assert_array_equal(idx, ref)
    np.testing.assert_allclose(dist, np.take_along_axis(np.linalg.norm(p[:, None] - a[None], axis=2), ref, 1))
