"""The deterministic MPM scatters: the coloured parallel P2G against the serial one, bytes across thread counts,
and the fused forward path (grid zeroed by the grid update, parallel G2P) against the previous forward.

Independent reference for the coloured scatter: a numpy P2G of the same quadratic B-spline / APIC transfer
(written here from Hu et al. 2018, eq. 29 of the MLS-MPM paper), compared on one substep's grid.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from physics.mpm import MPMParams, simulate_mpm

SCRIPT = r"""
import hashlib, json, sys
import numpy as np
from physics.mpm import MPMParams, simulate_mpm
rng = np.random.default_rng(3)
x0 = rng.uniform(-0.15, 0.15, (400, 3)) + [0.0, 0.0, 0.3]
out = {}
for mode in ("colored", "serial"):
    p = MPMParams(n_grid=20, domain_lo=(-0.5, -0.5, -0.2), domain_hi=(0.5, 0.5, 0.8), E=2e4, nu=0.3, density=500.0,
                  p2g=mode)
    r = simulate_mpm(x0, [0.4, 0.1, -0.5], 1e-5, p, 6, 30.0, 8)
    out[mode] = hashlib.sha256(r.positions.tobytes()).hexdigest()
    np.save(sys.argv[1] + f"/{mode}.npy", r.positions)
print(json.dumps(out))
"""


def _run(tmp, threads: int) -> dict[str, str]:
    env = {**os.environ, "PHYSRECON_THREADS": str(threads)}
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp)], capture_output=True, text=True, env=env, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_colored_scatter_is_byte_identical_across_thread_counts_and_agrees_with_serial(tmp_path):
    (tmp_path / "t1").mkdir()
    (tmp_path / "t2").mkdir()
    one, two = _run(tmp_path / "t1", 1), _run(tmp_path / "t2", 2)
    assert one == two  # both scatters: the same bytes on 1 and 2 threads
    a, b = np.load(tmp_path / "t2" / "colored.npy"), np.load(tmp_path / "t2" / "serial.npy")
    moved = np.abs(b[-1] - b[0]).max()
    assert moved > 0.05  # the body falls and hits the ground: a real trajectory
    assert np.abs(a - b).max() < 1e-5 * max(1.0, moved)  # the same transfer, summed in another order


def _numpy_p2g(x, v, C, tau, mass, lo, dx, shape):
    """Quadratic B-spline APIC P2G (Hu et al. 2018): m_i = sum_p w_ip m_p, (mv)_i = sum_p w_ip (m_p v_p +
    (tau_p + m_p C_p) (x_i - x_p))."""
    gv, gm = np.zeros((*shape, 3)), np.zeros(shape)
    gmax = np.asarray(shape) - 3
    for p in range(len(x)):
        X = (x[p] - lo) / dx
        base = np.clip(np.floor(X - 0.5).astype(int), 0, gmax)
        fx = X - base
        w = [0.5 * (1.5 - fx) ** 2, 0.75 - (fx - 1.0) ** 2, 0.5 * (fx - 0.5) ** 2]
        aff = tau[p] + mass[p] * C[p]
        for i in range(3):
            for j in range(3):
                for k in range(3):
                    wt = w[i][0] * w[j][1] * w[k][2]
                    dpos = (np.array([i, j, k]) - fx) * dx
                    gv[base[0] + i, base[1] + j, base[2] + k] += wt * (mass[p] * v[p] + aff @ dpos)
                    gm[base[0] + i, base[1] + j, base[2] + k] += wt * mass[p]
    return gv, gm


@pytest.mark.parametrize("mode", ["colored", "serial"])
def test_one_scatter_matches_a_numpy_p2g(mode):
    from physics.mpm.engine import MPMEngine

    rng = np.random.default_rng(5)
    n = 300
    p = MPMParams(n_grid=16, domain_lo=(-0.5, -0.5, -0.2), domain_hi=(0.5, 0.5, 0.8), precision="float64", p2g=mode)
    eng = MPMEngine(p, n, 1, 30.0)
    x = rng.uniform(-0.3, 0.3, (n, 3)) + [0.0, 0.0, 0.3]
    v = rng.normal(size=(n, 3))
    C = rng.normal(size=(n, 3, 3))
    F = np.eye(3) + 0.05 * rng.normal(size=(n, 3, 3))
    mass = rng.uniform(0.5, 1.5, n) * 1e-3
    eng.set_material(np.full(n, 1e4), np.full(n, 0.3), np.full(n, 1e-5), mass)
    eng._put(0, (x, v, C, F))
    eng.grid_v.fill(0)
    eng.grid_m.fill(0)
    eng.k["stress"](0, eng.Cm, eng.F, eng.E, eng.nu, eng.vol, eng.tau, eng.dx, eng.dt)
    scatter = eng.colored or eng.k["p2g"]
    assert (eng.colored is not None) == (mode == "colored")
    scatter(0, eng.x, eng.v, eng.Cm, eng.tau, eng.mass, eng.grid_v, eng.grid_m, eng.lo, eng.gmax, eng.dx)
    ref_v, ref_m = _numpy_p2g(x, v, C, eng.tau.to_numpy(), mass, np.asarray(p.domain_lo), eng.dx, eng.shape)
    np.testing.assert_allclose(eng.grid_m.to_numpy(), ref_m, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(eng.grid_v.to_numpy(), ref_v, rtol=1e-9, atol=1e-12)


def test_fused_forward_gives_the_previous_forward_bytes():
    """Forward-only rollouts (grid zeroed inside the grid update, parallel G2P) = the previous forward (fill pass,
    serial G2P) bit for bit: the same arithmetic per node and per particle."""
    import physics.mpm.engine as E

    rng = np.random.default_rng(1)
    x0 = rng.uniform(-0.1, 0.1, (300, 3)) + [0.0, 0.0, 0.25]
    p = MPMParams(n_grid=20, domain_lo=(-0.5, -0.5, -0.2), domain_hi=(0.5, 0.5, 0.8), E=2e4, density=500.0,
                  p2g="serial")
    now = simulate_mpm(x0, [0.3, 0.0, -0.5], 1e-5, p, 6, 30.0, 8).positions
    orig = E.MPMEngine.__init__

    def legacy(self, *a, **k):
        orig(self, *a, **k)
        self.forward_only, self.colored, self.g2p = False, None, self.k["g2p"]
        self._grid = self._grid_whole  # whole-grid fill and update (the pass before the node box)

    E.MPMEngine.__init__ = legacy
    try:
        before = simulate_mpm(x0, [0.3, 0.0, -0.5], 1e-5, p, 6, 30.0, 8).positions
    finally:
        E.MPMEngine.__init__ = orig
    assert np.abs(now[-1] - now[0]).max() > 0.02
    assert now.tobytes() == before.tobytes()


def test_active_box_is_the_scatter_footprint():
    """The forward's grid update runs over ``active_box``: the nodes the scatter writes, from an independent numpy
    footprint (every particle's 3x3x3 stencil), and nothing the scatter writes lies outside it."""
    from physics.mpm.engine import MPMEngine

    rng = np.random.default_rng(7)
    n = 700  # not a multiple of the block count
    p = MPMParams(n_grid=24, domain_lo=(-0.5, -0.5, -0.2), domain_hi=(0.5, 0.5, 0.8))
    eng = MPMEngine(p, n, 1, 30.0)
    x = rng.uniform(-0.2, 0.1, (n, 3)) + [0.0, 0.05, 0.3]
    x[0] = [-0.49, 0.2, -0.19]  # a particle at the domain corner: its base is clamped to the grid
    eng._put(0, (x, np.zeros((n, 3)), np.zeros((n, 3, 3)), np.broadcast_to(np.eye(3), (n, 3, 3))))
    eng.k["active_box"](0, eng.x, eng.box_lo, eng.box_hi, eng.box, eng.lo, eng.gmax, eng.dx)
    box = eng.box.to_numpy()
    X = (eng.x.to_numpy()[0].astype(np.float64) - np.asarray(p.domain_lo)) / eng.dx
    base = np.clip(np.floor(X - 0.5).astype(int), 0, np.asarray(eng.shape) - 3)
    foot = np.zeros(eng.shape, bool)
    for b in base:
        foot[b[0]:b[0] + 3, b[1]:b[1] + 3, b[2]:b[2] + 3] = True
    idx = np.argwhere(foot)
    assert box[:3].tolist() == idx.min(0).tolist() and box[3:].tolist() == (idx.max(0) + 1).tolist()
    assert np.prod(box[3:] - box[:3]) < np.prod(eng.shape)  # smaller than the grid: the skip is real


def test_frame_graph_gives_the_kernel_by_kernel_bytes(monkeypatch):
    """Forward-only CPU rollouts replay each frame as one taichi graph (physics/mpm/frame_graph.py): the same
    kernels with the same arguments, so the bytes of launching them one by one; controls change per frame."""
    from physics.mpm.engine import MPMEngine
    from physics.mpm.runtime import taichi_arch

    rng = np.random.default_rng(2)
    n, T, S = 300, 5, 6
    x0 = rng.uniform(-0.1, 0.1, (n, 3)) + [0.0, 0.0, 0.25]
    p = MPMParams(n_grid=20, domain_lo=(-0.5, -0.5, -0.2), domain_hi=(0.5, 0.5, 0.8), E=2e4, density=500.0,
                  p2g="serial")
    ctrl_id = np.where(x0[:, 0] > 0.07, 0, -1).astype(np.int32)
    ctrl_vel = np.zeros((T - 1, 1, 3))
    ctrl_vel[:, 0, 0] = np.linspace(0.1, 0.5, T - 1)  # a grip pulling faster each frame
    out = {}
    for graph in ("1", "0"):
        monkeypatch.setenv("PHYSRECON_MPM_GRAPH", graph)
        eng = MPMEngine(p, n, S, 30.0, n_controls=1)
        eng.set_material(np.full(n, 2e4), np.full(n, 0.3), np.full(n, 1e-5), np.full(n, 5e-3))
        eng.set_control_index(ctrl_id)
        states = eng.forward(x0, np.zeros((n, 3)), T, ctrl_vel)
        assert (eng._frame is not None) == (graph == "1" and taichi_arch() == "cpu")
        out[graph] = np.stack([s[0] for s in states])
    assert np.abs(out["1"][-1] - out["1"][0]).max() > 0.01
    assert out["1"].tobytes() == out["0"].tobytes()
