"""MLS-MPM on taichi's CUDA backend agrees with the CPU backend (runs only where CUDA is usable).

Each backend runs in its own process (taichi initialises one arch per process, see
``physics.mpm.runtime``). Scene: an elastic 6^3 cube dropped on the ground, 12 frames, float64
kernels so the comparison measures the backends, not float32 rounding of the atomics order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = """
import json, sys
import numpy as np
from physics.mpm import MPMParams, simulate_mpm
from physics.mpm.runtime import taichi_arch
h = 0.3 / 6
g = (np.arange(6) - 2.5) * h
x0 = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3) + [0.0, 0.0, 0.35]
p = MPMParams(n_grid=32, E=2e4, precision="float64")
r = simulate_mpm(x0, [0.3, 0.0, -1.0], h ** 3, p, 12, 30.0, 40)
np.save(sys.argv[1], r.positions)
print(json.dumps({"arch": taichi_arch()}))
"""


def _cuda_usable() -> bool:
    try:
        import taichi as ti
        from taichi.lang.misc import is_arch_supported

        return bool(is_arch_supported(ti.cuda))
    except Exception:
        return False


def _run(arch: str, out: Path) -> tuple[np.ndarray, str]:
    env = dict(os.environ, PHYSRECON_TAICHI_ARCH=arch, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    res = subprocess.run([sys.executable, "-c", _SCRIPT, str(out)], env=env, capture_output=True, text=True,
                         timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-2000:]
    return np.load(out), json.loads(res.stdout.strip().splitlines()[-1])["arch"]


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda_usable(), reason="needs taichi with a CUDA device")
def test_mpm_cuda_matches_cpu(tmp_path):
    xc, arch_c = _run("cpu", tmp_path / "cpu.npy")
    xg, arch_g = _run("cuda", tmp_path / "cuda.npy")
    assert (arch_c, arch_g) == ("cpu", "cuda")
    assert np.linalg.norm(xc[-1].mean(0) - xc[0].mean(0)) > 0.05  # it moved: not a comparison of a still scene
    assert np.abs(xc - xg).max() < 1e-4, np.abs(xc - xg).max()
