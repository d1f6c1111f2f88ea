"""Implicit-differentiation gradients of simulate_reduced vs float64 central finite differences.

Loss: a fixed random projection of the final query positions (and F). Parameters: log E, nu,
one first-layer and one last-layer skinning-MLP weight, one initial handle velocity. Newton is
converged to 1e-12 so the FD of the forward map is accurate to ~1e-7 relative.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physics.reduced import ReducedParams, cubature_points, simulate_reduced
from physics.reduced.skinning import SkinningMLP

RTOL = 1e-5


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _scene(z_bottom: float):
    g = np.linspace(-0.1, 0.1, 5)
    pts = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3) + np.array([0, 0, 0.1 + z_bottom])
    Xc, Vc = cubature_points(pts, 30, 0.008, seed=0)
    model = SkinningMLP(2, pts.mean(0), 0.1, width=12, depth=2, seed=2, dtype=torch.float64)
    zd = 0.3 * torch.randn(model.n_total, 12, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    zd[0, 11] = -0.5  # moving down at 0.5 m/s
    return pts, Xc, Vc, model, zd


def _loss_fn(scene, ground: bool):
    pts, Xc, Vc, model, _ = scene
    p = ReducedParams(dt=0.02, ground=ground, newton_tol=1e-12, density=800.0)
    wx = torch.randn(len(pts), 3, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    wf = torch.randn(len(pts), 3, 3, generator=torch.Generator().manual_seed(8), dtype=torch.float64)

    def loss(logE, nu, zd):
        out = simulate_reduced(model, Xc, Vc, pts, p, n_frames=5, E=torch.exp(logE), nu=nu, zdot0=zd)
        return (wx * out.positions[-1]).sum() + 0.01 * (wf * out.F[-1]).sum()
    return loss


def _check(fd: float, ad: float, what: str) -> None:
    assert abs(ad - fd) <= RTOL * max(abs(fd), 1e-6), (what, ad, fd)


@pytest.mark.parametrize("ground", [False, True])
def test_gradients_match_finite_differences(ground):
    scene = _scene(0.002 if ground else 0.5)
    model, zd0 = scene[3], scene[4]
    loss = _loss_fn(scene, ground)
    logE = torch.tensor(np.log(3e4), dtype=torch.float64, requires_grad=True)
    nu = torch.tensor(0.35, dtype=torch.float64, requires_grad=True)
    zd = zd0.clone().requires_grad_(True)
    w_first, w_last = model.weights[0], model.weights[-1]
    L = loss(logE, nu, zd)
    L.backward()
    grads = {"logE": float(logE.grad), "nu": float(nu.grad), "zd": float(zd.grad[1, 5]),
             "w_first": float(w_first.grad[3, 1]), "w_last": float(w_last.grad[1, 4])}
    assert all(np.isfinite(list(grads.values())))
    assert abs(grads["logE"]) > 1e-4  # elasticity matters in this scene

    def fd(name: str, h: float) -> float:
        vals = []
        for s in (1.0, -1.0):
            with torch.no_grad():
                le, n_, z_ = logE.detach().clone(), nu.detach().clone(), zd0.clone()
                if name == "logE":
                    le += s * h
                elif name == "nu":
                    n_ += s * h
                elif name == "zd":
                    z_[1, 5] += s * h
                elif name == "w_first":
                    w_first[3, 1] += s * h
                else:
                    w_last[1, 4] += s * h
                vals.append(float(loss(le, n_, z_)))
                if name == "w_first":
                    w_first[3, 1] -= s * h
                elif name == "w_last":
                    w_last[1, 4] -= s * h
        return (vals[0] - vals[1]) / (2 * h)

    for name in grads:
        _check(fd(name, 1e-5), grads[name], name)
