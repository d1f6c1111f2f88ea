"""Finite-difference checks of the taichi-autodiff MPM gradients (float64 kernels).

Marked slow: the first reverse-mode compile of the MPM kernels takes ~2 min on 2 CPU cores.
Tolerance: relative 1e-5 against central differences (eps 1e-5 / 1e-4) in float64.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physics.mpm import MPMParams, rollout_mpm_torch

pytestmark = pytest.mark.slow

H = 0.04
G = (np.arange(4) - 1.5) * H
X0 = np.stack(np.meshgrid(G, G, G, indexing="ij"), -1).reshape(-1, 3) + [0.0, 0.0, 0.25]
V0 = 0.6 * (X0 - X0.mean(0)) + np.cross([0.0, 0.0, 1.5], X0 - X0.mean(0)) + [0.1, 0.0, 0.0]
P = MPMParams(n_grid=16, domain_lo=(-0.4, -0.4, -0.15), domain_hi=(0.4, 0.4, 0.65), E=2e4, nu=0.3,
              precision="float64", ground="sticky", gravity=(0.0, 0.0, -9.81))
W = torch.sin(torch.arange(X0.size, dtype=torch.float64)).reshape(X0.shape)
REGION = torch.as_tensor(X0[:, 0] > 0)
T, FPS, S = 5, 30.0, 8


def loss(log_scale, region_log, v0, ctrl=None):
    E = 2e4 * torch.exp(log_scale + region_log * REGION)
    kw = {} if ctrl is None else dict(controls=ctrl, control_index=np.where(X0[:, 0] < -0.05, 0, -1))
    xs = rollout_mpm_torch(torch.as_tensor(X0), v0, H ** 3, P, T, FPS, S, E=E, **kw)
    return (xs[-1] * W).sum() + 0.5 * (xs[2] ** 2).sum()


def _fd(f, eps):
    with torch.no_grad():
        return (f(eps) - f(-eps)) / (2 * eps)


def test_gradients_match_finite_differences():
    z = lambda: torch.zeros((), dtype=torch.float64, requires_grad=True)  # noqa: E731
    s, r = z(), z()
    v0 = torch.as_tensor(V0).clone().requires_grad_(True)
    ctrl = torch.zeros((T, 1, 3), dtype=torch.float64)
    ctrl[:, 0, 0] = torch.linspace(0, 0.05, T)
    ctrl.requires_grad_(True)
    L = loss(s, r, v0, ctrl)
    L.backward()
    zero = torch.zeros((), dtype=torch.float64)
    fd_s = _fd(lambda e: loss(zero + e, zero, torch.as_tensor(V0), ctrl.detach()), 1e-5)
    fd_r = _fd(lambda e: loss(zero, zero + e, torch.as_tensor(V0), ctrl.detach()), 1e-5)
    d = torch.as_tensor(np.random.default_rng(0).normal(size=V0.shape))
    fd_v = _fd(lambda e: loss(zero, zero, torch.as_tensor(V0) + e * d, ctrl.detach()), 1e-4)
    dc = torch.zeros_like(ctrl)
    dc[1:, 0, :] = torch.as_tensor(np.random.default_rng(1).normal(size=(T - 1, 3)))
    fd_c = _fd(lambda e: loss(zero, zero, torch.as_tensor(V0), ctrl.detach() + e * dc), 1e-4)
    for g, fd in ((s.grad, fd_s), (r.grad, fd_r), ((v0.grad * d).sum(), fd_v), ((ctrl.grad * dc).sum(), fd_c)):
        assert abs(float(g) - float(fd)) <= 1e-5 * abs(float(fd)) + 1e-9, (float(g), float(fd))
    assert abs(float(s.grad)) > 1e-6 and abs(float(r.grad)) > 1e-7  # E actually matters here
