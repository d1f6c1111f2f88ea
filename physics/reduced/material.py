"""Stable neo-Hookean elasticity (Smith, de Goes, Kim 2018, eq. 14 without the log term).

    Psi(F) = mu/2 (I_C - 3) - mu (J - 1) + lam_s/2 (J - 1)^2,   I_C = tr(F^T F), J = det F,

the form Simplicits uses. It is zero and stress-free at F = I, finite for J <= 0 (no log barrier,
so Newton never sees inverted elements as NaN), and with lam_s = lam + mu it linearises to linear
elasticity with the Lamé parameters (mu, lam) of (E, nu) (Smith et al. §3.4). Stress:

    P = dPsi/dF = mu F + (lam_s (J - 1) - mu) C,   C = dJ/dF = cof(F) = J F^{-T},
    dP/dF = mu I_9 + lam_s vec(C) vec(C)^T + (lam_s (J - 1) - mu) d2J/dF2   (row-major vec).
"""

from __future__ import annotations

from typing import Any

import torch

from physics.reduced.params import lame_parameters


def snh_parameters(E: Any, nu: Any) -> tuple[Any, Any]:
    """(mu, lam_s) of the stable neo-Hookean from Young's modulus and Poisson's ratio."""
    mu, lam = lame_parameters(E, nu)
    return mu, lam + mu


def cofactor(F: torch.Tensor) -> torch.Tensor:
    """cof(F) = dJ/dF (..., 3, 3); rows r0, r1, r2 of F give rows r1 x r2, r2 x r0, r0 x r1."""
    r0, r1, r2 = F[..., 0, :], F[..., 1, :], F[..., 2, :]
    return torch.stack([torch.cross(r1, r2, dim=-1), torch.cross(r2, r0, dim=-1), torch.cross(r0, r1, dim=-1)], dim=-2)


def energy_density(F: torch.Tensor, mu: Any, lam_s: Any) -> torch.Tensor:
    """Psi(F) (...,) in J/m^3."""
    ic = (F * F).sum(dim=(-2, -1))
    j = (F[..., 0, :] * torch.cross(F[..., 1, :], F[..., 2, :], dim=-1)).sum(-1)
    return 0.5 * mu * (ic - 3.0) - mu * (j - 1.0) + 0.5 * lam_s * (j - 1.0) ** 2


def first_piola(F: torch.Tensor, mu: Any, lam_s: Any) -> torch.Tensor:
    """P = mu F + (lam_s (J - 1) - mu) cof(F)  (..., 3, 3) in Pa."""
    c = cofactor(F)
    j = (F[..., 0, :] * c[..., 0, :]).sum(-1)
    return mu * F + (lam_s * (j - 1.0) - mu)[..., None, None] * c


def _skew(a: torch.Tensor) -> torch.Tensor:
    """[a]x with [a]x b = a x b, (..., 3, 3)."""
    z = torch.zeros_like(a[..., 0])
    return torch.stack([
        torch.stack([z, -a[..., 2], a[..., 1]], -1),
        torch.stack([a[..., 2], z, -a[..., 0]], -1),
        torch.stack([-a[..., 1], a[..., 0], z], -1),
    ], dim=-2)


def det_hessian(F: torch.Tensor) -> torch.Tensor:
    """d2(det F)/dF2 (..., 9, 9) in row-major vec(F) = [r0; r1; r2]."""
    s0, s1, s2 = _skew(F[..., 0, :]), _skew(F[..., 1, :]), _skew(F[..., 2, :])
    z = torch.zeros_like(s0)
    rows = [torch.cat([z, -s2, s1], -1), torch.cat([s2, z, -s0], -1), torch.cat([-s1, s0, z], -1)]
    return torch.cat(rows, dim=-2)


def stress_derivative(F: torch.Tensor, mu: Any, lam_s: Any) -> torch.Tensor:
    """dP/dF (..., 9, 9) row-major; symmetric, indefinite for large compression (projected by the solver)."""
    cm = cofactor(F)
    j = (F[..., 0, :] * cm[..., 0, :]).sum(-1)
    c = cm.reshape(F.shape[:-2] + (9,))
    eye = torch.eye(9, dtype=F.dtype, device=F.device)
    return (mu * eye + lam_s * c[..., :, None] * c[..., None, :]
            + (lam_s * (j - 1.0) - mu)[..., None, None] * det_hessian(F))
