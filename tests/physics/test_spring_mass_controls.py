"""Shared control springs (physics/spring_mass/controls.py): attachment rule, nearest fallback, and
chunked rollouts that keep the frame-0 rest lengths (ReconPhys' self-forced training chunks)."""
from __future__ import annotations

import numpy as np
import pytest

from physics.spring_mass import (SpringMassParams, attach_controls, control_springs, drive_edges, drive_kwargs,
                                 knn_springs, simulate)


def test_attach_matches_control_springs_and_falls_back_to_the_nearest_node():
    x = np.array([[0, 0, 0], [0.1, 0, 0], [0.2, 0, 0], [1.0, 0, 0]], float)
    ctrl = np.array([[[0.0, 0, 0.05], [1.5, 0, 0]], [[0.0, 0, 0.1], [1.6, 0, 0]]])  # (T=2, C=2, 3)
    drive = attach_controls(ctrl, x, radius=0.2, max_neighbors=2)
    ce, _ = control_springs(ctrl[0], x, 0.2, 2)
    assert ce.tolist() == [[0, 0], [0, 1]]  # the far control point has no node within 0.2 m ...
    assert drive.edges.tolist() == [[0, 0], [0, 1], [1, 3]]  # ... so it is tied to its nearest node (3)
    np.testing.assert_allclose(drive.rest, [0.05, np.hypot(0.1, 0.05), 0.5])
    no_fallback = attach_controls(ctrl, x, 0.2, 2, nearest_fallback=False)
    assert no_fallback.edges.tolist() == ce.tolist()
    kw = drive.rollout_kwargs(1, 2)
    assert kw["controls"].shape == (1, 2, 3) and kw["control_edges"] is drive.edges
    assert attach_controls(None, x, 0.2, 2) is None and drive_kwargs(None) == {} and drive_edges(None) is None
    with pytest.raises(ValueError, match="T, C, 3"):
        attach_controls(ctrl[0], x, 0.2, 2)


def test_chunked_rollout_with_frame0_rest_equals_one_rollout(sheet):
    """Restarting from a simulated state with ``control_rest`` gives the same trajectory as one rollout;
    without it the chunk would re-rest the control springs at the current (stretched) distance."""
    e, r = knn_springs(sheet, 6)
    T, fps, sub = 12, 30, 40
    c0 = sheet[[5]] + [0.0, 0.0, 0.05]
    ctrl = c0[None] + np.linspace(0, 0.4, T)[:, None, None] * np.array([0.3, 0, 1.0])
    p = SpringMassParams(stiffness=5.0, total_mass=0.2, damping=0.01, control_stiffness=200.0)
    drive = attach_controls(ctrl, sheet, radius=0.12, max_neighbors=4)
    full = simulate(sheet, np.zeros(3), e, r, p, T, fps, sub, **drive_kwargs(drive))
    assert full.positions[-1, drive.edges[:, 1], 2].min() > 0.2  # the held nodes are lifted
    x, v, frames = sheet, np.zeros_like(sheet), [full.positions[0]]
    for start in range(0, T - 1, 3):
        stop = min(start + 4, T)
        part = simulate(x, v, e, r, p, stop - start, fps, sub, **drive_kwargs(drive, start, stop))
        frames += list(part.positions[1:])
        x, v = part.positions[-1].astype(np.float64), part.velocities[-1].astype(np.float64)
    np.testing.assert_allclose(np.stack(frames), full.positions, atol=1e-5)
    # the same chunk without the frame-0 rest lengths is different dynamics
    mid = full.positions[6].astype(np.float64), full.velocities[6].astype(np.float64)
    rerest = simulate(*mid, e, r, p, 4, fps, sub, controls=ctrl[6:10], control_edges=drive.edges)
    assert np.abs(rerest.positions[-1] - full.positions[9]).max() > 2e-3  # vs 1e-5 above
