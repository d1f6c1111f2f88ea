"""Implicit-Euler dynamics of physics.reduced: free fall, Newton, floor contact, divergence, determinism."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from physics.errors import SimulationDiverged
from physics.reduced import ReducedParams, cubature_points, simulate_reduced
from physics.reduced.skinning import SkinningMLP
from physics.reduced.solver import build_operators, evaluate, make_context
from physics.reduced.kinematics import lbs_operators
from physics.reduced.material import snh_parameters

SIZE = 0.2  # block edge (m)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def scene():
    """A 0.2 m block, bottom 5 cm above the ground: samples, 40 cubature points, 3 + 1 handles."""
    g = np.linspace(-0.1, 0.1, 6)
    pts = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3) + np.array([0, 0, 0.15])
    Xc, Vc = cubature_points(pts, 40, SIZE ** 3, seed=0)
    model = SkinningMLP(3, pts.mean(0), 0.1, width=16, depth=2, seed=1, dtype=torch.float64)
    for prm in model.parameters():
        prm.requires_grad_(False)
    return pts, Xc, Vc, model


def test_free_fall_matches_implicit_euler_recurrence(scene):
    pts, Xc, Vc, model = scene
    p = ReducedParams(E=1e5, nu=0.3, dt=0.01, ground=False)
    n = 25
    out = simulate_reduced(model, Xc, Vc, pts, p, n_frames=n)
    com = out.positions.mean(1).numpy()
    k = np.arange(n)
    assert com.shape[0] == n  # n_frames counts frame 0, as in spring_mass.simulate
    g = -9.81
    # implicit Euler: v_{k+1} = v_k + dt g, x_{k+1} = x_k + dt v_{k+1}  =>  x_k - x_0 = g dt^2 k (k+1) / 2
    np.testing.assert_allclose(com[:, 2] - com[0, 2], g * p.dt ** 2 * k * (k + 1) / 2, atol=1e-10)
    np.testing.assert_allclose(com[:, :2] - com[0, :2], 0.0, atol=1e-12)
    t = k * p.dt  # continuous 1/2 g t^2 within the O(dt) discretisation error 1/2 |g| t dt
    assert np.all(np.abs(com[:, 2] - com[0, 2] - 0.5 * g * t ** 2) <= 0.5 * abs(g) * t * p.dt + 1e-10)
    # pure translation: the shape does not change, F = I
    np.testing.assert_allclose(out.positions[-1].numpy() - out.positions[0].numpy(), np.broadcast_to(com[-1] - com[0], (len(pts), 3)), atol=1e-10)
    np.testing.assert_allclose(out.F.numpy(), np.broadcast_to(np.eye(3), out.F.shape), atol=1e-10)


def _ops(Xc, Vc, model, E=1e5, nu=0.3, p=None):
    X, B, J, G = lbs_operators(model, Xc, return_coefficients=True)
    mu, lam = snh_parameters(E, nu)
    return build_operators(X, B, J, torch.as_tensor(Vc), p.density, p.gravity, mu, lam, G)


def test_analytic_gradient_and_hessian_match_autograd(scene):
    _, Xc, Vc, model = scene
    p = ReducedParams(dt=0.01, ground=True, ground_height=0.1, friction=0.5)  # some points below "ground"
    ops = _ops(Xc, Vc, model, p=p)
    n = 12 * model.n_total
    gen = torch.Generator().manual_seed(0)
    z_t = 0.05 * torch.randn(n, generator=gen, dtype=torch.float64)
    ctx = make_context(ops, z_t, 0.1 * torch.randn(n, generator=gen, dtype=torch.float64), p)
    z = z_t + 0.03 * torch.randn(n, generator=gen, dtype=torch.float64)
    _, g, H = evaluate(ops, z, ctx, p)
    g_ref = torch.func.grad(lambda zz: evaluate(ops, zz, ctx, p, order=0)[0])(z)
    np.testing.assert_allclose(g.numpy(), g_ref.numpy(), rtol=1e-9, atol=1e-9 * float(g_ref.abs().max()))
    p0, ctx0 = p, ctx
    H0 = evaluate(ops, z, ctx0, p0)[2]
    H_ref = torch.func.hessian(lambda zz: evaluate(ops, zz, ctx0, p0, order=0)[0])(z)
    np.testing.assert_allclose(H0.numpy(), H_ref.numpy(), rtol=1e-8, atol=1e-8 * float(H_ref.abs().max()))
    H_dense = evaluate(replace(ops, G=None), z, ctx0, p0)[2]  # generic J^T D J path
    np.testing.assert_allclose(H_dense.numpy(), H0.numpy(), rtol=1e-10, atol=1e-10 * float(H0.abs().max()))


def test_newton_converges_on_compressed_block(scene):
    pts, Xc, Vc, model = scene
    p = ReducedParams(E=5e4, nu=0.4, dt=0.02, gravity=(0.0, 0.0, 0.0), ground=False, newton_tol=1e-10)
    z0 = torch.zeros(model.n_total, 12, dtype=torch.float64)
    z0[0, 0] = -0.3  # A_0 = diag(-0.3, 0, 0): 30 % compression along x
    z0[0, 10] = -0.1
    out = simulate_reduced(model, Xc, Vc, pts, p, n_frames=3, z0=z0)
    for res in out.newton_residuals:
        assert res[-1] < p.newton_tol and len(res) <= 10
        assert res[0] > 1e-3  # a real solve, not a trivial step
        # monotone-ish: |grad| may bump (Newton descends Phi, not |grad|) but ends in a quadratic phase
        assert np.all(res[1:] <= 3.0 * res[:-1])
        assert np.all(np.diff(res[-3:]) < 0) and res[-1] <= max(10.0 * res[-2] ** 2, 1e-13)  # quadratic (or round-off)
    # the block springs back: its x extent grows
    w = out.positions[:, :, 0].max(1).values - out.positions[:, :, 0].min(1).values
    assert float(w[-1]) > float(w[0])


def _drop(scene, E):
    pts, Xc, Vc, model = scene
    p = ReducedParams(E=E, nu=0.3, dt=1 / 60, density=500.0)
    return p, simulate_reduced(model, Xc, Xc.shape[0] * Vc, Xc, p, n_frames=120)  # query = cubature points


def test_floor_rest_and_stiffer_block_compresses_less(scene):
    heights = {}
    for E in (1e4, 1e6):
        p, out = _drop(scene, E)
        x = out.positions.numpy()
        # no penetration beyond the penalty tolerance (resting depth ~ |g| / kappa = 1e-4 m)
        assert x[:, :, 2].min() > -5e-3
        assert x[-1, :, 2].min() > -20 * 9.81 / p.floor_stiffness
        v = (x[-1] - x[-2]) / p.dt
        assert np.abs(v).max() < 0.05  # at rest
        heights[E] = x[-1, :, 2].max() - x[-1, :, 2].min()
    assert heights[1e6] > heights[1e4]  # the stiffer block compresses less
    assert heights[1e6] == pytest.approx(SIZE, rel=0.01)
    assert heights[1e4] < 0.99 * SIZE


def test_divergence_raises(scene):
    pts, Xc, Vc, model = scene
    p = ReducedParams(E=1e5, dt=0.01, ground=False, newton_max_iter=1, newton_tol=1e-14)
    z0 = torch.zeros(model.n_total, 12, dtype=torch.float64)
    z0[0, 0] = -0.5
    with pytest.raises(SimulationDiverged) as err:
        simulate_reduced(model, Xc, Vc, pts, p, n_frames=2, z0=z0)
    assert err.value.step == 0 and "Newton" in err.value.reason
    p2 = ReducedParams(E=1e5, dt=0.01, ground=False, max_speed=1.0)
    zd = torch.zeros(model.n_total, 12, dtype=torch.float64)
    zd[0, 11] = -5.0  # 5 m/s downwards
    with pytest.raises(SimulationDiverged, match="max_speed"):
        simulate_reduced(model, Xc, Vc, pts, p2, n_frames=2, zdot0=zd)
    with pytest.raises(SimulationDiverged, match="NaN|non-finite"):
        simulate_reduced(model, Xc, Vc, pts, p2, n_frames=2, z0=torch.full((model.n_total, 12), float("nan")))


def test_deterministic(scene):
    a = _drop(scene, 3e4)[1]
    b = _drop(scene, 3e4)[1]
    assert torch.equal(a.positions, b.positions) and torch.equal(a.z, b.z)


def test_floor_friction_slows_sliding(scene):
    """A block resting on the floor, launched sideways at 1 m/s: Coulomb friction mu g decelerates it."""
    pts, Xc, Vc, model = scene
    z0 = torch.zeros(model.n_total, 12, dtype=torch.float64)
    z0[0, 11] = -0.05 - 2e-4  # bottom at the floor (resting depth)
    zd = torch.zeros(model.n_total, 12, dtype=torch.float64)
    zd[0, 3] = 1.0
    slid = {}
    for mu in (0.0, 0.5):
        p = ReducedParams(E=1e6, nu=0.3, dt=0.01, density=500.0, friction=mu)
        out = simulate_reduced(model, Xc, Xc.shape[0] * Vc, Xc, p, n_frames=30, z0=z0, zdot0=zd)
        slid[mu] = float(out.positions[-1, :, 0].mean() - out.positions[0, :, 0].mean())
    assert slid[0.0] == pytest.approx(0.3, rel=0.05)  # frictionless: keeps sliding
    # mu = 0.5: stops after v^2 / (2 mu g) ~ 0.10 m (lagged normal force, smoothed static zone)
    assert 0.05 < slid[0.5] < 0.16


def test_control_penalty_gradient_hessian_and_tracking(scene):
    """E_ctrl: analytic gradient / Hessian equal autograd's; a block lifted by a control point on its top
    follows it (attached points within g / kappa_c + a few mm of their targets; the block leaves the floor)."""
    pts, Xc, Vc, model = scene
    p = ReducedParams(E=1e5, nu=0.3, dt=0.01, ground=True, friction=0.5, control_stiffness=2e4)
    ops = _ops(Xc, Vc, model, p=p)
    n = 12 * model.n_total
    gen = torch.Generator().manual_seed(1)
    idx = torch.arange(0, Xc.shape[0], 3)
    tgt = torch.as_tensor(Xc, dtype=torch.float64)[idx] + 0.02 * torch.randn(len(idx), 3, generator=gen, dtype=torch.float64)
    z_t = 0.05 * torch.randn(n, generator=gen, dtype=torch.float64)
    ctx = make_context(ops, z_t, torch.zeros(n, dtype=torch.float64), p, idx, tgt)
    z = z_t + 0.03 * torch.randn(n, generator=gen, dtype=torch.float64)
    _, g, H = evaluate(ops, z, ctx, p)
    g_ref = torch.func.grad(lambda zz: evaluate(ops, zz, ctx, p, order=0)[0])(z)
    np.testing.assert_allclose(g.numpy(), g_ref.numpy(), rtol=1e-9, atol=1e-9 * float(g_ref.abs().max()))
    H_ref = torch.func.hessian(lambda zz: evaluate(ops, zz, ctx, p, order=0)[0])(z)
    np.testing.assert_allclose(H.numpy(), H_ref.numpy(), rtol=1e-8, atol=1e-8 * float(H_ref.abs().max()))

    # lift: one control point on the top face rises 0.3 m (smooth step over 30 frames), then holds for 90
    top = np.array([0.0, 0.0, 0.25])
    s = np.linspace(0, 1, 31)
    rise = 0.3 * np.concatenate([s * s * (3 - 2 * s), np.ones(90)])
    controls = (top + rise[:, None] * [0, 0, 1])[:, None, :]
    out = simulate_reduced(model, Xc, Vc, Xc, p, n_frames=121, controls=controls, control_radius=0.08)
    x = out.positions.numpy()
    att = np.linalg.norm(Xc - top, axis=1) <= 0.08
    assert 2 <= att.sum() < len(Xc)
    # force balance at rest: the attached points carry the whole weight, so their mean sags by
    # g M / (kappa_c M_attached) = g n_cubature / (kappa_c n_attached) below the targets (equal masses)
    sag = 9.81 * len(Xc) / (p.control_stiffness * att.sum())
    d = (x[-20:, att] - (Xc[att] + [0, 0, 0.3])).mean(axis=(0, 1))
    assert abs(d[2] + sag) < 0.25 * sag and np.abs(d[:2]).max() < 0.25 * sag, (d, sag)
    assert x[-1, :, 2].min() > 0.05  # the whole block hangs above the floor (it rested at 0.05 m)
    with pytest.raises(ValueError, match="control_radius"):
        simulate_reduced(model, Xc, Vc, Xc, p, n_frames=3, controls=controls, control_radius=1e-4)


def test_translation_velocity_moves_the_body_rigidly(scene):
    """zdot0 from ``translation_velocity``: without gravity or floor every point moves by v t (exact for
    a rigid translation, no strain), and the velocity's gradient reaches v through the helper."""
    from physics.reduced import translation_velocity

    pts, Xc, Vc, model = scene
    v = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64, requires_grad=True)
    zd = translation_velocity(model.n_total, v)
    assert zd.shape == (model.n_total, 12) and float(zd[1:].abs().sum()) == 0.0
    p = ReducedParams(E=1e5, nu=0.3, dt=0.01, ground=False, gravity=(0.0, 0.0, 0.0))
    out = simulate_reduced(model, Xc, Vc, pts, p, n_frames=6, zdot0=zd)
    disp = out.positions[-1] - out.positions[0]
    assert torch.allclose(disp, (5 * 0.01 * v).expand_as(disp), atol=1e-9)
    disp[:, 2].mean().backward()
    assert v.grad is not None and float(v.grad[2]) == pytest.approx(0.05, rel=1e-6)
