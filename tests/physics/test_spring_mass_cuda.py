"""Spring-mass on warp's CUDA device agrees with its CPU device (runs only where warp sees CUDA).

The kernels have no atomics (two launches per substep), so in float64 the two devices should agree
to rounding: forward positions with springs, damping, PhysTwin ground contact (restitution,
friction) and control springs, and the reverse-mode gradients that ``rollout_torch`` returns.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch


def _cuda_usable() -> bool:
    try:
        from physics.spring_mass.kernels import init_warp

        init_warp()
        import warp as wp

        return bool(wp.is_cuda_available())
    except Exception:
        return False


def _scene():
    from physics.spring_mass import SpringMassParams, control_springs, knn_springs

    g = (np.arange(5) - 2.0) * 0.06
    x0 = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    c, s = np.cos(0.4), np.sin(0.4)
    x0 = x0 @ np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]).T + [0.0, 0.0, 0.3]
    edges, rest = knn_springs(x0, 8)
    p = SpringMassParams(force_law="spring_gaus", stiffness=80.0, damping=0.05, total_mass=1.0,
                         ground_model="phystwin", restitution=0.4, friction=0.3)
    ctrl = np.linspace([0.15, 0.0, 0.45], [0.35, 0.0, 0.6], 16)[:, None, :]
    cedges, _ = control_springs(ctrl[0], x0, 0.1, 4)
    p.control_stiffness = 200.0
    return x0, edges, rest, p, ctrl, cedges


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda_usable(), reason="needs warp with a CUDA device")
@pytest.mark.parametrize("controlled", [False, True])
def test_spring_mass_cuda_matches_cpu(controlled):
    from physics.spring_mass import simulate

    x0, edges, rest, p, ctrl, cedges = _scene()
    kw = dict(controls=ctrl, control_edges=cedges) if controlled else {}
    v0 = np.tile([0.4, 0.0, -1.0], (len(x0), 1))
    out = {d: simulate(x0, v0, edges, rest, p, n_frames=16, fps=24.0, substeps=80, device=d, precision="float64", **kw)
           for d in ("cpu", "cuda")}
    xc, xg = out["cpu"].positions, out["cuda"].positions
    if not controlled:  # it reached the ground: contact is compared too
        assert xc[:, :, 2].min() < 0.01
    assert np.linalg.norm(xc[-1].mean(0) - xc[0].mean(0)) > 0.1
    assert np.abs(xc - xg).max() < 1e-5


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda_usable(), reason="needs warp with a CUDA device")
def test_spring_mass_cuda_gradients_match_cpu():
    from physics.spring_mass import rollout_torch

    x0, edges, rest, p, _, _ = _scene()
    grads = {}
    for d in ("cpu", "cuda"):
        k = torch.tensor(80.0, dtype=torch.float64, requires_grad=True)
        mu = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
        v0 = torch.tensor([0.4, 0.0, -1.0], dtype=torch.float64, requires_grad=True)
        xs = rollout_torch(torch.as_tensor(x0), v0, edges, rest, p, 12, 24.0, 80, stiffness=k, friction=mu,
                           device=d)
        (xs[-1, :, 0].mean() + xs[-1, :, 2].std()).backward()
        grads[d] = np.array([k.grad.item(), mu.grad.item(), *v0.grad.tolist()])
    assert np.abs(grads["cpu"]).max() > 1e-4
    np.testing.assert_allclose(grads["cuda"], grads["cpu"], rtol=1e-6, atol=1e-9)
