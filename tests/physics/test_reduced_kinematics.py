"""LBS kinematics, skinning MLP and its data-free training, cubature (physics.reduced)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physics.reduced import cubature_points, farthest_point_sampling
from physics.reduced.kinematics import deform_covariances, deform_gaussian_frames, deform_points, deformation_gradient
from physics.reduced.material import energy_density, snh_parameters
from physics.reduced.skinning import SkinningMLP, orthogonality_loss, train_skinning_weights


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def block() -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.uniform(-0.1, 0.1, (120, 3)) + np.array([0.2, -0.1, 0.5])


def _model(block, n=3, seed=0):
    return SkinningMLP(n, block.mean(0), 0.1, width=16, depth=2, seed=seed, dtype=torch.float64)


def test_weight_gradient_matches_autograd(block):
    m = _model(block)
    X = torch.as_tensor(block[:10]).requires_grad_(True)
    W, dW = m.weights_and_grad(X)
    assert torch.all(W[:, 0] == 1) and torch.all(dW[:, 0] == 0)
    for h in range(W.shape[1]):
        (g,) = torch.autograd.grad(W[:, h].sum(), X, retain_graph=True)
        np.testing.assert_allclose(dW[:, h].detach().numpy(), g.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_deformation_gradient_matches_finite_differences(block):
    m = _model(block)
    z = 0.2 * torch.randn(m.n_total, 12, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    X = block[:5]
    F = deformation_gradient(m, X, z).detach().numpy()
    h = 1e-6
    for j in range(3):
        e = np.zeros(3)
        e[j] = h
        fd = (deform_points(m, X + e, z) - deform_points(m, X - e, z)).detach().numpy() / (2 * h)
        np.testing.assert_allclose(F[:, :, j], fd, rtol=1e-7, atol=1e-8)


def test_rigid_motion_of_constant_handle_has_zero_energy(block):
    """z_0 = [R - I | t], other handles 0: x = c + t + R (X - c), F = R, Psi = 0 (to round-off).

    Setting A_h = R - I on *every* handle is rigid only if sum_h W_h(X) = 1, which learned
    Simplicits weights do not satisfy; rigid motion lives in the constant handle by design.
    """
    m = _model(block)
    a = 0.7
    R = torch.tensor([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1.0]], dtype=torch.float64)
    R = R @ torch.tensor([[1, 0, 0], [0, np.cos(0.3), -np.sin(0.3)], [0, np.sin(0.3), np.cos(0.3)]], dtype=torch.float64)
    z = torch.zeros(m.n_total, 3, 4, dtype=torch.float64)
    z[0, :, :3] = R - torch.eye(3, dtype=torch.float64)
    z[0, :, 3] = torch.tensor([0.1, 0.2, -0.3], dtype=torch.float64)
    F = deformation_gradient(m, block, z.reshape(m.n_total, 12))
    np.testing.assert_allclose(F.detach().numpy(), np.broadcast_to(R.detach().numpy(), F.shape), atol=1e-12)
    mu, lam = snh_parameters(1e6, 0.45)
    assert float(energy_density(F, mu, lam).abs().max()) < 1e-6 * mu
    x = deform_points(m, block, z.reshape(m.n_total, 12)).detach().numpy()
    c = m.center.detach().numpy()
    np.testing.assert_allclose(x, c + np.array([0.1, 0.2, -0.3]) + (block - c) @ R.detach().numpy().T, atol=1e-12)


def test_gaussian_covariance_update(block):
    m = _model(block)
    z = 0.1 * torch.randn(m.n_total, 12, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    F = deformation_gradient(m, block[:4], z)
    R = torch.linalg.qr(torch.randn(4, 3, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64))[0]
    S = torch.rand(4, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64) + 0.1
    L = deform_gaussian_frames(F, R, S)
    cov0 = R @ torch.diag_embed(S * S) @ R.transpose(-1, -2)
    np.testing.assert_allclose((L @ L.transpose(-1, -2)).detach().numpy(), deform_covariances(cov0, F).detach().numpy(), atol=1e-12)


def test_cubature_fps(block):
    idx = farthest_point_sampling(block, 20, seed=0)
    assert len(set(idx.tolist())) == 20
    assert np.array_equal(idx, farthest_point_sampling(block, 20, seed=0))
    X, V = cubature_points(block, 20, 0.008)
    assert X.shape == (20, 3) and np.allclose(V, 0.008 / 20)
    # FPS covers the cloud better than the first 20 points: smaller max distance to the subset
    d_fps = np.min(np.linalg.norm(block[:, None] - X[None], axis=-1), axis=1).max()
    d_first = np.min(np.linalg.norm(block[:, None] - block[None, :20], axis=-1), axis=1).max()
    assert d_fps < d_first


def test_training_orthogonality_decreases_and_is_deterministic(block):
    kw = dict(steps=150, width=16, depth=2, lr=3e-3, batch=4)
    m1, h1 = train_skinning_weights(block, 3, E=1e5, nu=0.3, seed=5, **kw)
    m2, _ = train_skinning_weights(block, 3, E=1e5, nu=0.3, seed=5, **kw)
    m3, _ = train_skinning_weights(block, 3, E=1e5, nu=0.3, seed=6, **kw)
    orth = np.asarray(h1["orth"])
    assert orth[-10:].mean() < 0.2 * orth[:10].mean()
    X = torch.as_tensor(block)
    W1, W2, W3 = m1(X), m2(X), m3(X)
    assert torch.equal(W1, W2)
    assert not torch.allclose(W1, W3)
    assert float(orthogonality_loss(W1[:, 1:])) < 0.1
    # smooth: |grad W| L stays O(1) (L = half extent 0.1 m), no high-frequency weights
    _, dW = m1.weights_and_grad(X)
    assert float(dW.norm(dim=-1).max()) * 0.1 < 10.0
