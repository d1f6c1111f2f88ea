"""Kabsch fits (physics/rigid_fit.py) against rotations and deformations made by hand."""
from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from physics.rigid_fit import nonrigid_residuals, rotation_from_covariance


def test_rotation_from_covariance_recovers_known_rotations():
    rng = np.random.default_rng(0)
    p = rng.normal(size=(50, 3))
    rots = Rotation.random(4, random_state=1).as_matrix()
    cov = np.einsum("bij,nj,nk->bik", rots, p, p)  # sum_n (R p_n) p_n^T
    got = rotation_from_covariance(cov)
    assert np.allclose(got, rots, atol=1e-10)
    assert np.allclose(rotation_from_covariance(torch.as_tensor(cov)).numpy(), rots, atol=1e-10)


def test_rotation_from_covariance_is_proper_for_a_mirrored_cloud():
    """A mirror image is best matched by a reflection; Kabsch must still return det +1."""
    g = np.linspace(-1.0, 1.0, 4)
    p = np.stack(np.meshgrid(3 * g, 2 * g, 0.5 * g, indexing="ij"), -1).reshape(-1, 3)  # diagonal covariance
    q = p * [1.0, 1.0, -1.0]
    for r in (rotation_from_covariance(q.T @ p), rotation_from_covariance(torch.as_tensor(q.T @ p)).numpy()):
        assert abs(np.linalg.det(r) - 1.0) < 1e-10
        assert np.allclose(r, np.eye(3), atol=1e-10)  # the flattest axis is the one left unmatched


def test_nonrigid_residuals_zero_for_rigid_motion_and_analytic_for_a_squash():
    g = np.linspace(-1.0, 1.0, 5)
    lattice = np.stack(np.meshgrid(g, g * 0.7, g * 0.5, indexing="ij"), -1).reshape(-1, 3)  # diagonal covariance
    rot = Rotation.from_euler("xyz", [0.3, -0.2, 1.1]).as_matrix()
    moved = lattice @ rot.T + [0.4, -1.0, 2.0]
    squashed = lattice * [1.0, 1.0, 0.8] + [0.0, 0.0, -0.3]
    r = nonrigid_residuals(np.stack([lattice, moved, squashed]))
    assert r[0] < 1e-12 and r[1] < 1e-12
    expect = 0.2 * np.sqrt((lattice[:, 2] ** 2).mean()) / np.sqrt((lattice ** 2).sum(1).mean())
    assert abs(r[2] - expect) < 1e-12, (r[2], expect)
