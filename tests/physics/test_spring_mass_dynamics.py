"""Forward spring-mass physics against closed-form truths."""

from __future__ import annotations

import numpy as np
import pytest

from physics.errors import SimulationDiverged
from physics.spring_mass import (
    SpringMassParams, StabilityWarning, control_springs, knn_springs, simulate, stable_dt,
)

G = 9.81


def _pair(l0: float = 0.2):
    x = np.array([[0.0, 0.0, 1.0], [l0, 0.0, 1.0]])
    return x, np.array([[0, 1]], np.int32), np.array([l0], np.float32)


def test_free_fall_matches_kinematics(cloud):
    e, r = knn_springs(cloud, 6)
    p = SpringMassParams(stiffness=5.0, total_mass=1.0, damping=0.01, ground_model="none")
    fps, sub, T = 30, 100, 10
    v0 = np.array([0.0, 0.0, 0.5])
    res = simulate(cloud, v0, e, r, p, T, fps, sub)
    dt = 1.0 / (fps * sub)
    n = np.arange(T) * sub
    t = n * dt
    dz = res.positions[:, :, 2] - cloud[None, :, 2]
    discrete = v0[2] * t - G * dt * dt * n * (n + 1) / 2  # exact symplectic-Euler recurrence
    np.testing.assert_allclose(dz, np.repeat(discrete[:, None], len(cloud), 1), atol=2e-5)
    continuous = v0[2] * t - 0.5 * G * t * t  # differs by g*dt*t/2 (first-order scheme)
    assert np.abs(dz - continuous[:, None]).max() <= 0.5 * G * dt * t[-1] + 2e-5
    np.testing.assert_allclose(res.positions[:, :, :2], np.broadcast_to(cloud[None, :, :2], (T, 30, 2)).astype(np.float32), atol=1e-5)


def test_ballistic_flight_with_horizontal_velocity(cloud):
    e, r = knn_springs(cloud, 6)
    p = SpringMassParams(stiffness=5.0, total_mass=1.0, damping=0.01, ground_model="none", force_law="phystwin")
    fps, sub, T = 30, 50, 8
    v0 = np.array([1.5, -0.7, 2.0])
    res = simulate(cloud, v0, e, r, p, T, fps, sub)
    t = np.arange(T) / fps
    com = res.positions.mean(1)
    expect = cloud.mean(0) + t[:, None] * v0 - 0.5 * G * (t * t)[:, None] * np.array([0, 0, 1.0])
    assert np.abs(com - expect).max() < 0.5 * G * t[-1] / (fps * sub) + 1e-4
    np.testing.assert_allclose(res.velocities[-1].mean(0), v0 - [0, 0, G * t[-1]], atol=1e-4)


@pytest.mark.parametrize("law", ["spring_gaus", "phystwin"])
def test_single_spring_period(law):
    """Two masses m, K per unit strain: k_lin = K / l0, reduced mass m/2 -> T = 2 pi sqrt(m / (2 K / l0))."""
    x, e, r = _pair(0.2)
    m, K = 0.05, 2.0
    x[1, 0] += 0.01  # 5 % stretch
    p = SpringMassParams(force_law=law, stiffness=K, mass=m, damping=0.0, ground_model="none")
    fps, sub, T = 400, 10, 400
    res = simulate(x, np.zeros(3), e, r, p, T, fps, sub, gravity=(0, 0, 0), precision="float64")
    s = np.linalg.norm(res.positions[:, 1] - res.positions[:, 0], axis=1).astype(np.float64) - 0.2
    up = np.where((s[:-1] < 0) & (s[1:] >= 0))[0]
    tc = (up + (-s[up] / (s[up + 1] - s[up]))) / fps  # interpolated upward zero crossings
    period = np.diff(tc).mean()
    expect = 2 * np.pi * np.sqrt(m / (2 * K / 0.2))
    assert len(tc) >= 3
    assert abs(period - expect) / expect < 5e-3


def test_control_spring_period():
    """One mass on a fixed control point (Hooke k_c N/m): T = 2 pi sqrt(m / k_c)."""
    x = np.array([[0.0, 0.0, 1.1]])
    ctrl = np.tile(np.array([[[0.0, 0.0, 1.0]]]), (300, 1, 1))
    ce = np.array([[0, 0]], np.int32)
    p = SpringMassParams(mass=0.1, control_stiffness=40.0, ground_model="none")
    # rest length is the initial distance, so the oscillation is started by v0
    res = simulate(x, np.array([0, 0, 0.2]), np.zeros((0, 2)), np.zeros(0), p, 300, 300, 10,
                   gravity=(0, 0, 0), controls=ctrl, control_edges=ce, precision="float64")
    z = res.positions[:, 0, 2].astype(np.float64) - 1.1
    up = np.where((z[:-1] < 0) & (z[1:] >= 0))[0]
    tc = (up + (-z[up] / (z[up + 1] - z[up]))) / 300
    expect = 2 * np.pi * np.sqrt(0.1 / 40.0)
    assert abs(np.diff(tc).mean() - expect) / expect < 5e-3


def test_momentum_conserved_without_gravity(cloud):
    e, r = knn_springs(cloud, 8)
    rng = np.random.default_rng(1)
    v0 = rng.normal(0, 0.5, cloud.shape)
    m = rng.uniform(0.01, 0.05, len(cloud))
    for law in ("spring_gaus", "phystwin"):
        p = SpringMassParams(force_law=law, stiffness=3.0, mass=m, damping=0.02, ground_model="none")
        res = simulate(cloud, v0, e, r, p, 15, 30, 60, gravity=(0, 0, 0))
        mom = (m[None, :, None] * res.velocities.astype(np.float64)).sum(1)
        np.testing.assert_allclose(mom, np.broadcast_to(mom[0], mom.shape), atol=2e-6)
        ke = 0.5 * (m[None, :, None] * res.velocities.astype(np.float64) ** 2).sum((1, 2))
        assert ke[-1] < ke[0]  # damping dissipates internal motion


def test_phystwin_restitution():
    """Single particle dropped from h: rebound speed = e * impact speed, so apex = e^2 h."""
    x = np.array([[0.0, 0.0, 0.5]])
    for e in (0.3, 0.8):
        p = SpringMassParams(ground_model="phystwin", restitution=e, friction=0.0, mass=0.1)
        res = simulate(x, np.zeros(3), np.zeros((0, 2)), np.zeros(0), p, 60, 60, 50)
        vz = res.velocities[:, 0, 2]
        k = int(np.argmax(vz > 0))  # first frame after the bounce
        v_imp = np.sqrt(2 * G * 0.5)
        assert abs(vz[k] + G * (k / 60 - np.sqrt(2 * 0.5 / G)) - e * v_imp) < 0.02 * v_imp
        apex = res.positions[k:, 0, 2].max()
        assert abs(apex - e * e * 0.5) < 0.02 * 0.5


def test_spring_gaus_ground_bc():
    """Eq. 14: a lone particle is clamped with zero normal velocity; an elastic body rebounds."""
    x = np.array([[0.0, 0.0, 0.3]])
    p = SpringMassParams(ground_model="spring_gaus", friction=0.0, mass=0.1)
    res = simulate(x, np.array([0.5, 0.0, 0.0]), np.zeros((0, 2)), np.zeros(0), p, 30, 30, 40)
    landed = res.positions[:, 0, 2] <= 0.0
    assert landed.any()
    k = int(np.argmax(landed))
    assert np.all(res.positions[k:, 0, 2] == 0.0) and np.all(res.velocities[k:, 0, 2] == 0.0)
    np.testing.assert_allclose(res.velocities[k:, 0, 0], 0.5, atol=1e-6)  # friction 0 keeps v_t
    xd = np.array([[0.0, 0.0, 0.2], [0.0, 0.0, 0.4]])  # vertical dumbbell
    p2 = SpringMassParams(ground_model="spring_gaus", stiffness=3.0, mass=0.05, damping=0.0)
    res2 = simulate(xd, np.zeros(3), np.array([[0, 1]]), np.array([0.2]), p2, 40, 30, 100)
    vcom = res2.velocities[:, :, 2].mean(1)
    k2 = int(np.argmax(res2.positions[:, 0, 2] <= 0.0))
    assert vcom[k2 - 1] < -1.0 and vcom[k2:].max() > 0.5  # elastic rebound from stored spring energy


@pytest.mark.parametrize("ground", ["spring_gaus", "phystwin"])
def test_no_ground_penetration(cloud, ground):
    e, r = knn_springs(cloud, 8)
    p = SpringMassParams(stiffness=0.5, total_mass=0.5, damping=0.002, ground_model=ground, restitution=0.5)
    res = simulate(cloud, np.array([0.3, 0.0, -2.0]), e, r, p, 30, 30, 60)
    assert res.positions[:, :, 2].min() >= -1e-6
    assert res.positions[-1, :, 2].max() < cloud[:, 2].max()  # it did land


@pytest.mark.parametrize("ground", ["spring_gaus", "phystwin"])
def test_friction_decelerates(sheet, ground):
    """A sheet sliding on the ground decelerates at mu g (Coulomb); with mu = 0 it keeps its speed."""
    e, r = knn_springs(sheet, 6)
    fps, T = 30, 10
    for mu in (0.0, 0.3):
        p = SpringMassParams(stiffness=5.0, total_mass=0.5, damping=0.01, friction=mu, restitution=0.0,
                             ground_model=ground)
        res = simulate(sheet, np.array([2.0, 0.0, 0.0]), e, r, p, T, fps, 50)
        vx = res.velocities[:, :, 0].mean(1)
        t = np.arange(T) / fps
        np.testing.assert_allclose(vx, np.maximum(2.0 - mu * G * t, 0.0), atol=0.02)
        assert abs(res.positions[:, :, 2]).max() < 1e-3


def test_deterministic(cloud):
    e, r = knn_springs(cloud, 8)
    p = SpringMassParams(stiffness=2.0, total_mass=0.5, damping=0.005, ground_model="phystwin")
    a = simulate(cloud, np.array([0.2, 0.1, -1.0]), e, r, p, 12, 30, 40)
    b = simulate(cloud, np.array([0.2, 0.1, -1.0]), e, r, p, 12, 30, 40)
    assert a.positions.tobytes() == b.positions.tobytes()
    assert a.velocities.tobytes() == b.velocities.tobytes()


def test_divergence_raises_with_step_and_reason(cloud):
    e, r = knn_springs(cloud, 8)
    p = SpringMassParams(stiffness=1e6, total_mass=0.5)
    assert 1.0 / 30 > stable_dt(e, r, p, len(cloud))
    with pytest.warns(StabilityWarning), pytest.raises(SimulationDiverged) as info:
        simulate(cloud, np.zeros(3), e, r, p, 10, 30, 1)
    err = info.value
    assert isinstance(err.step, int) and 0 <= err.step < 10 and err.frame == err.step + 1
    assert err.reason and f"substep {err.step}" in str(err)


def test_speed_limit_raises():
    x = np.array([[0.0, 0.0, 0.0]])
    p = SpringMassParams(ground_model="none", max_speed=5.0)
    with pytest.raises(SimulationDiverged, match="speed"):
        simulate(x, np.array([0.0, 0.0, 4.0]), np.zeros((0, 2)), np.zeros(0), p, 20, 30, 10, gravity=(0, 0, -30.0))


def test_control_point_lifts_object(sheet):
    e, r = knn_springs(sheet, 6)
    T = 30
    c0 = sheet[[5]] + [0.0, 0.0, 0.05]
    ctrl = c0[None] + np.linspace(0, 0.6, T)[:, None, None] * np.array([0, 0, 1.0])
    ce, _ = control_springs(c0, sheet, radius=0.12, max_neighbors=4)
    p = SpringMassParams(stiffness=5.0, total_mass=0.2, damping=0.01, control_stiffness=200.0)
    res = simulate(sheet, np.zeros(3), e, r, p, T, 30, 60, controls=ctrl, control_edges=ce)
    held = np.unique(ce[:, 1])
    assert len(held) >= 2
    assert res.positions[-1, held, 2].min() > 0.3
    assert res.positions[-1, :, 2].mean() > 0.1
    free = res.positions[-1, :, 2]
    assert free.min() >= -1e-6
