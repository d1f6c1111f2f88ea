"""Shared fixtures for the physics tests."""

from __future__ import annotations

import warnings

import numpy as np
import pytest


@pytest.fixture
def cloud() -> np.ndarray:
    """A deterministic 30-point cloud in a 0.4 m box whose bottom is 0.3 m above the ground."""
    rng = np.random.default_rng(7)
    return rng.uniform(0.0, 0.4, (30, 3)) + np.array([0.0, 0.0, 0.3])


@pytest.fixture
def sheet() -> np.ndarray:
    """A 4 x 4 flat grid (0.3 m) lying on the ground z = 0."""
    g = np.stack(np.meshgrid(np.linspace(0, 0.3, 4), np.linspace(0, 0.3, 4), indexing="ij"), -1).reshape(-1, 2)
    return np.concatenate([g, np.zeros((16, 1))], axis=1)


@pytest.fixture(autouse=True)
def _quiet_stability_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run torch single-threaded for a module: tiny dense algebra, threads only add contention."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
