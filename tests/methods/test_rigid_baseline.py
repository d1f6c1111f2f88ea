"""The rigid-extrapolation baseline against closed forms: ballistic flight, constant spin, a bounce."""
from __future__ import annotations

import numpy as np
import pytest

from methods.baselines.rigid import _rotmat, fit_rigid_motion, integrate_rigid

FPS = 30.0


def _body(n=60, seed=0):
    b = np.random.default_rng(seed).uniform(-0.2, 0.2, (n, 3))
    return b - b.mean(0)  # about its centroid (the centroid is what the fit tracks)


def test_ballistic_flight_and_spin_are_recovered_and_continued():
    shape = _body()
    c0, v0, w = np.array([0.0, 0.0, 3.0]), np.array([0.5, -0.2, 1.0]), np.array([0.0, 0.0, 2.0])
    ts = np.arange(12) / FPS
    tracks = np.stack([shape @ _rotmat(w * t).T + c0 + v0 * t + 0.5 * np.array([0, 0, -9.81]) * t * t for t in ts])
    st = fit_rigid_motion(tracks, FPS)
    t_last = ts[-1]
    np.testing.assert_allclose(st["velocity"], v0 + np.array([0, 0, -9.81]) * t_last, atol=1e-6)
    np.testing.assert_allclose(st["omega"], w, atol=1e-6)
    fut = integrate_rigid(st, 5, FPS, ground=-10.0, restitution=0.5, friction=0.3, substeps=50)
    t5 = t_last + 5 / FPS
    exact = shape @ _rotmat(w * t5).T + c0 + v0 * t5 + 0.5 * np.array([0, 0, -9.81]) * t5 * t5
    assert np.abs(fut[-1] - exact).max() < 2e-3  # semi-implicit Euler at 1500 Hz


def test_bounce_reverses_the_normal_velocity_times_restitution_and_a_resting_body_stays():
    shape = _body() * 0.1
    st = {"centroid": np.array([0.0, 0.0, 0.5]), "velocity": np.array([0.0, 0.0, -3.0]), "omega": np.zeros(3),
          "shape": shape}
    fut = integrate_rigid(st, 30, FPS, ground=0.0, restitution=0.5, friction=0.3, substeps=20)
    low, z = fut[:, :, 2].min(1), fut[:, :, 2].mean(1)
    assert low.min() >= -1e-9  # never below the ground
    turn = int(np.argmin(z[:15]))
    assert 0 < turn < 14 and z[turn + 3] > z[turn] + 0.05  # it went down, then up again: a bounce
    # the first bounce's apex: v_up = e |v_impact| -> rise e^2 |v_impact|^2 / (2 g) above the contact height
    v_imp = np.sqrt(3.0 ** 2 + 2 * 9.81 * (0.5 + shape[:, 2].min()))
    assert z[turn:].max() - z[turn] == pytest.approx((0.5 * v_imp) ** 2 / (2 * 9.81), rel=0.15)
    rest = {"centroid": np.array([0.0, 0.0, 0.02]), "velocity": np.zeros(3), "omega": np.zeros(3), "shape": shape}
    out = integrate_rigid(rest, 10, FPS, ground=float(-shape[:, 2].min() + 0.02 - 0.02), restitution=0.5, friction=0.3)
    assert np.abs(out[-1] - out[0]).max() < 1e-3  # resting contact: no creeping through the floor


def test_registered_with_its_card():
    from methods.registry import make_method, method_card

    assert method_card("rigid").kind == "baseline" and make_method("rigid").inputs.tracks
    with pytest.raises(Exception):
        make_method("rigid", {"restitution": 2.0})
