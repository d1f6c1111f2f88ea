"""Cross-check against gsplat.rasterization (runs only where gsplat and CUDA are available)."""

from __future__ import annotations

import pytest
import torch

from render.cameras import orbit_cameras
from render.gsplat_backend import compare_with_gsplat, gsplat_available


@pytest.mark.gpu
@pytest.mark.skipif(not gsplat_available(), reason="needs gsplat and CUDA")
@pytest.mark.parametrize("aniso", [False, True])
def test_matches_gsplat(aniso):
    torch.manual_seed(0)
    n = 400
    means = (torch.rand(n, 3) - 0.5) + torch.tensor([0.0, 0.0, 0.5])
    scales = torch.rand(n, 3 if aniso else 1).squeeze(-1) * 0.05 + 0.01
    kw = {"rotations": torch.randn(n, 4)} if aniso else {}
    for cam in orbit_cameras(3, 2.5, 20.0, width=96, height=64):
        diff = compare_with_gsplat(means, scales, torch.rand(n, 3), torch.rand(n), cam,
                                   background=(0.2, 0.3, 0.4), **kw)
        assert diff["rgb"] < 2e-3 and diff["alpha"] < 2e-3, diff
        assert diff["depth"] < 1e-2, diff  # depth differs only at alpha≈0.5 boundary pixels
