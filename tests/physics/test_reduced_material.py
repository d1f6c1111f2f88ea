"""Stable neo-Hookean of physics.reduced.material against hand formulas and autograd (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physics.reduced import lame_parameters
from physics.reduced.material import energy_density, first_piola, snh_parameters, stress_derivative

E, NU = 2.0e5, 0.35


def test_lame_parameters():
    mu, lam = lame_parameters(E, NU)
    assert mu == pytest.approx(E / (2 * 1.35))
    assert lam == pytest.approx(E * NU / (1.35 * 0.3))
    assert snh_parameters(E, NU) == pytest.approx((mu, lam + mu))


def test_energy_and_stress_zero_at_identity():
    mu, lam = snh_parameters(E, NU)
    eye = torch.eye(3, dtype=torch.float64)
    assert float(energy_density(eye, mu, lam)) == 0.0
    assert torch.allclose(first_piola(eye, mu, lam), torch.zeros(3, 3, dtype=torch.float64), atol=1e-9)


@pytest.mark.parametrize("s", [0.7, 1.0, 1.3])
def test_uniaxial_stretch_matches_hand_formula(s):
    mu, lam = snh_parameters(E, NU)
    F = torch.diag(torch.tensor([s, 1.0, 1.0], dtype=torch.float64)).requires_grad_(True)
    psi = energy_density(F, mu, lam)
    # I_C = s^2 + 2, J = s:  Psi = mu/2 (s^2 - 1) - mu (s - 1) + lam_s/2 (s - 1)^2
    assert float(psi) == pytest.approx(0.5 * mu * (s * s - 1) - mu * (s - 1) + 0.5 * lam * (s - 1) ** 2, rel=1e-12, abs=1e-9)
    (P_auto,) = torch.autograd.grad(psi, F)
    # cof(F) = diag(1, s, s):  P = mu F + (lam_s (s - 1) - mu) cof(F)
    c = lam * (s - 1) - mu
    P_hand = np.diag([mu * s + c, mu + c * s, mu + c * s])
    np.testing.assert_allclose(P_auto.numpy(), P_hand, rtol=1e-12, atol=1e-7)
    np.testing.assert_allclose(first_piola(F.detach(), mu, lam).numpy(), P_hand, rtol=1e-12, atol=1e-7)


def test_linearisation_matches_linear_elasticity():
    """Small strain: Psi ~ mu |eps|^2 + lam/2 tr(eps)^2 with the *linear* Lamé lam (lam_s = lam + mu)."""
    mu, lam = lame_parameters(E, NU)
    mus, lams = snh_parameters(E, NU)
    g = torch.Generator().manual_seed(0)
    Hm = 1e-5 * torch.randn(3, 3, generator=g, dtype=torch.float64)
    eps = 0.5 * (Hm + Hm.T)
    lin = mu * (eps * eps).sum() + 0.5 * lam * torch.trace(eps) ** 2
    psi = energy_density(torch.eye(3, dtype=torch.float64) + Hm, mus, lams)
    assert float(psi) == pytest.approx(float(lin), rel=1e-3)


def test_stress_derivative_matches_autograd():
    mu, lam = snh_parameters(E, NU)
    g = torch.Generator().manual_seed(1)
    F = torch.eye(3, dtype=torch.float64) + 0.3 * torch.randn(4, 3, 3, generator=g, dtype=torch.float64)
    D = stress_derivative(F, mu, lam)
    for k in range(F.shape[0]):
        ref = torch.autograd.functional.jacobian(lambda f: first_piola(f, mu, lam).reshape(9), F[k]).reshape(9, 9)
        np.testing.assert_allclose(D[k].numpy(), ref.numpy(), rtol=1e-10, atol=1e-6)
        P_auto = torch.autograd.functional.jacobian(lambda f: energy_density(f, mu, lam), F[k])
        np.testing.assert_allclose(first_piola(F[k], mu, lam).numpy(), P_auto.numpy(), rtol=1e-10, atol=1e-6)
