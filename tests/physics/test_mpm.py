"""MLS-MPM forward tests: constitutive model, transfers, colliders, domain checks, filling."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.linalg

from physics.errors import SimulationDiverged
from physics.mpm import MPMParams, fill_mesh_particles, lame, mesh_volume, points_in_mesh, simulate_mpm

H = 0.025  # particle spacing (m)


def cube(n: int = 6, z0: float = 0.2, h: float = H) -> np.ndarray:
    """n^3 lattice particles, bottom at z0, centred on x = y = 0."""
    g = (np.arange(n) - (n - 1) / 2) * h
    pts = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    return pts + np.array([0.0, 0.0, z0 + (n - 1) / 2 * h])


def params(**kw) -> MPMParams:
    base = dict(n_grid=20, domain_lo=(-0.5, -0.5, -0.2), domain_hi=(0.5, 0.5, 0.8), E=2e4, nu=0.3,
                density=500.0)
    base.update(kw)
    return MPMParams(**base)


def test_import_is_light():
    code = "import sys, physics.mpm; assert 'taichi' not in sys.modules and 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def _numpy_P(F: np.ndarray, E: float, nu: float) -> np.ndarray:
    mu, la = lame(E, nu)
    R, _ = scipy.linalg.polar(F)
    J = np.linalg.det(F)
    return 2 * mu * (F - R) + la * (J - 1) * J * np.linalg.inv(F).T


def _kernel_stress(F: np.ndarray, E: float, nu: float) -> tuple[np.ndarray, np.ndarray]:
    from physics.mpm.kernels import get_kernels
    from physics.mpm.runtime import ensure_taichi

    ti = ensure_taichi()
    k = get_kernels("float64")
    m = len(F)
    m3 = ti.types.matrix(3, 3, ti.f64)
    f, r, p = ti.ndarray(m3, (m,)), ti.ndarray(m3, (m,)), ti.ndarray(m3, (m,))
    e, n = ti.ndarray(ti.f64, (m,)), ti.ndarray(ti.f64, (m,))
    f.from_numpy(F)
    e.from_numpy(np.full(m, E))
    n.from_numpy(np.full(m, nu))
    k["eval_stress"](f, e, n, r, p)
    return r.to_numpy(), p.to_numpy()


def test_uniform_stretch_fixed_corotated():
    E, nu = 1e5, 0.3
    mu, la = lame(E, nu)
    for s in (0.8, 1.0, 1.3):
        F = np.diag([s, 1.0, 1.0])
        R, P = _kernel_stress(F[None], E, nu)
        hand = np.diag([2 * mu * (s - 1) + la * (s - 1), la * (s - 1) * s, la * (s - 1) * s])
        np.testing.assert_allclose(P[0], hand, atol=1e-6 * E)
        np.testing.assert_allclose(P[0], _numpy_P(F, E, nu), atol=1e-6 * E)
        np.testing.assert_allclose(R[0], np.eye(3), atol=1e-10)


def test_polar_decomposition_matches_scipy_and_taichi():
    from physics.mpm.kernels import get_kernels
    from physics.mpm.runtime import ensure_taichi

    rng = np.random.default_rng(0)
    Fs = []
    while len(Fs) < 50:
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        q *= np.sign(np.linalg.det(q))
        F = q @ (np.eye(3) + 0.25 * rng.normal(size=(3, 3)))
        if np.linalg.det(F) > 0.2:
            Fs.append(F)
    Fs = np.array(Fs)
    R, P = _kernel_stress(Fs, 1e5, 0.3)
    ref = np.array([scipy.linalg.polar(F)[0] for F in Fs])
    np.testing.assert_allclose(R, ref, atol=1e-9)
    np.testing.assert_allclose(P, np.array([_numpy_P(F, 1e5, 0.3) for F in Fs]), atol=1e-4)
    ti = ensure_taichi()
    m3 = ti.types.matrix(3, 3, ti.f64)
    f, r = ti.ndarray(m3, (len(Fs),)), ti.ndarray(m3, (len(Fs),))
    f.from_numpy(Fs)
    get_kernels("float64")["eval_polar_svd"](f, r)  # taichi's (non-differentiable) polar
    np.testing.assert_allclose(R, r.to_numpy(), atol=1e-6)


def test_free_fall_matches_parabola():
    x0 = cube(z0=0.4)
    p = params(ground="separate")
    fps, T = 30.0, 6
    r = simulate_mpm(x0, 0.0, H ** 3, p, T, fps, substeps=8)
    t = np.arange(T) / fps
    z = r.positions[:, :, 2].mean(1)
    expect = x0[:, 2].mean() - 0.5 * 9.81 * t ** 2
    dt = 1.0 / (fps * 8)
    # symplectic Euler: z_n = z0 - g dt^2 n (n + 1) / 2, i.e. an O(g dt t) offset
    np.testing.assert_allclose(z, expect, atol=1e-4 + 0.5 * 9.81 * dt * t.max())
    np.testing.assert_allclose(r.positions[:, :, :2].mean(1), np.broadcast_to(x0[:, :2].mean(0), (T, 2)), atol=1e-5)


def test_momentum_conserved_without_gravity_or_walls():
    x0 = cube(z0=0.2)
    rng = np.random.default_rng(1)
    c = x0.mean(0)
    v0 = 0.3 * rng.normal(size=x0.shape) + np.cross([0.0, 0.0, 2.0], x0 - c) + [0.2, -0.1, 0.05]
    p = params(ground="none", gravity=(0.0, 0.0, 0.0), E=5e3)
    r = simulate_mpm(x0, v0, H ** 3, p, 6, 30.0, substeps=10)
    mom = r.velocities.astype(np.float64).sum(1)  # equal masses
    scale = np.abs(v0).sum(0).max()
    np.testing.assert_allclose(mom, np.broadcast_to(v0.sum(0), mom.shape), atol=2e-5 * scale)


def test_ground_no_penetration():
    x0 = cube(z0=0.15)
    p = params(ground="separate", friction=0.3)
    r = simulate_mpm(x0, [0.0, 0.0, -1.0], H ** 3, p, 15, 30.0)
    dx = 1.0 / p.n_grid
    assert r.positions[:, :, 2].min() > p.ground_height - dx
    assert r.positions[-1, :, 2].mean() > 0.0  # resting on, not through, the ground


def _slide(kind: str) -> np.ndarray:
    x0 = cube(n=5, z0=0.005)
    p = params(ground=kind, E=5e4)
    return simulate_mpm(x0, [1.0, 0.0, 0.0], H ** 3, p, 6, 30.0).velocities


def test_sticky_vs_slip_sliding_block():
    slip, sticky = _slide("slip"), _slide("sticky")
    assert slip[-1, :, 0].mean() > 0.9  # slip keeps the tangential velocity
    assert sticky[-1, :, 0].mean() < 0.3 * slip[-1, :, 0].mean()  # sticky stops it
    assert np.abs(sticky[-1, :, 0]).min() < 0.05  # bottom layer is stuck


def test_stiffer_compresses_less_on_impact():
    x0 = cube(z0=0.15)
    h0 = np.ptp(x0[:, 2])
    squash = []
    for E in (3e3, 1.2e4, 5e4):
        r = simulate_mpm(x0, [0.0, 0.0, -2.0], H ** 3, params(E=E, ground="sticky"), 12, 30.0)
        squash.append(np.ptp(r.positions[:, :, 2], axis=1).min() / h0)
    assert squash[0] < squash[1] < squash[2] <= 1.0 + 1e-6


@pytest.mark.parametrize("v0,word", [([300.0, 0.0, 0.0], "domain"), ([0.0, 80.0, 0.0], "speed"),
                                     ([np.nan, 0.0, 0.0], "NaN")])
def test_divergence_raises(v0, word):
    p = params(ground="none", gravity=(0.0, 0.0, 0.0), max_speed=50.0 if word != "domain" else 1e4)
    with pytest.raises(SimulationDiverged) as e:
        simulate_mpm(cube(n=3), v0, H ** 3, p, 4, 30.0, substeps=2)
    assert word in e.value.reason and e.value.step >= 0


def test_divergence_reports_the_first_bad_substep():
    """One free particle falls: v_k = k g dt exactly (a lone particle's grid velocity is its own), so the first
    substep whose speed passes max_speed is known in closed form; the engine checks each frame's substep slots in
    one pass and must name that substep and its frame."""
    S, fps, vmax = 10, 30.0, 1.0
    dt = 1.0 / (fps * S)
    first = int(np.floor(vmax / (9.81 * dt))) + 1  # substeps after which |v| > vmax
    p = params(ground="none", gravity=(0.0, 0.0, -9.81), max_speed=vmax)
    with pytest.raises(SimulationDiverged) as e:
        simulate_mpm(np.array([[0.0, 0.0, 0.6]]), 0.0, H ** 3, p, 6, fps, substeps=S)
    assert "speed" in e.value.reason
    assert e.value.step == first - 1 and e.value.frame == (first - 1) // S  # step k ends with k + 1 substeps done


def test_controls_drive_neighbours():
    x0 = cube(z0=0.2)
    left = x0[:, 0] < x0[:, 0].min() + 0.5 * H
    T, fps = 8, 30.0
    ctrl = np.zeros((T, 1, 3))
    ctrl[:, 0, 0] = np.linspace(0.0, 0.1, T)  # drag the left face +x at 0.43 m/s
    idx = np.where(left, 0, -1)
    p = params(ground="none", gravity=(0.0, 0.0, 0.0))
    r = simulate_mpm(x0, 0.0, H ** 3, p, T, fps, controls=ctrl, control_index=idx)
    np.testing.assert_allclose(r.positions[:, left, 0], x0[None, left, 0] + ctrl[:, :, 0], atol=1e-5)
    assert r.positions[-1, ~left, 0].mean() - x0[~left, 0].mean() > 0.03  # pushed along


def test_deterministic_bytes():
    x0 = cube(z0=0.1)
    v0 = np.random.default_rng(3).normal(size=x0.shape) * 0.2
    a = simulate_mpm(x0, v0, H ** 3, params(), 8, 30.0, return_F=True)
    b = simulate_mpm(x0, v0, H ** 3, params(), 8, 30.0, return_F=True)
    assert a.positions.tobytes() == b.positions.tobytes()
    assert a.F.tobytes() == b.F.tobytes()


def test_fill_box_and_sphere():
    import trimesh

    box = trimesh.creation.box(extents=(0.4, 0.3, 0.2))
    fp = fill_mesh_particles(box.vertices, box.faces, spacing=0.021)
    assert abs(len(fp.positions) - 0.024 / 0.021 ** 3) / (0.024 / 0.021 ** 3) < 0.05
    assert np.all(np.abs(fp.positions) <= [0.2, 0.15, 0.1])
    np.testing.assert_allclose(fp.masses, 1000.0 * 0.021 ** 3)
    sph = trimesh.creation.icosphere(subdivisions=4, radius=0.5)
    rng = np.random.default_rng(0)
    fs = fill_mesh_particles(sph.vertices, sph.faces, n=4000, rng=rng, jitter=0.2)
    vol = mesh_volume(sph.vertices, sph.faces)
    assert abs(len(fs.positions) - vol / fs.spacing ** 3) / (vol / fs.spacing ** 3) < 0.05
    assert np.linalg.norm(fs.positions, axis=1).max() < 0.5 + 0.25 * fs.spacing
    assert points_in_mesh(sph.vertices, sph.faces, fs.positions[:300] * 0.95).all()
    assert not points_in_mesh(sph.vertices, sph.faces, np.array([[0.0, 0.0, 0.6], [0.4, 0.4, 0.0]])).any()
