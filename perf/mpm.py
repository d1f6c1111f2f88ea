"""Benchmark: taichi MLS-MPM (fixed-corotated) forward and forward+backward substeps per second.

Scene: an elastic cube of n^3 particles (default 25^3 = 15 625) dropped on the ground in a 64^3
grid, E = 1e5 Pa, 30 fps. Compile time (first call) is reported separately and excluded from
the rates. Forward rows, interleaved over ``--rounds``: ``previous`` (the pre-2026-12-03 forward: a fill pass
per substep, serial scatter, serial G2P), ``serial`` (the deterministic CPU default now: grid update that
zeroes the grid it reads, parallel G2P gather), ``colored`` (the deterministic parallel scatter, the CUDA
default) and, with ``--parallel``, the non-deterministic float-atomics scatter. Ratios are against
``previous``; each row's sha256 prefix of the positions shows which paths give the same bytes.

    python perf/mpm.py [--side 25] [--grid 64] [--frames 3] [--substeps 20] [--rounds 3] [--parallel]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from physics.mpm import MPMParams, rollout_mpm_torch, simulate_mpm


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", type=int, default=25)
    ap.add_argument("--grid", type=int, default=64)
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--substeps", type=int, default=20)
    ap.add_argument("--parallel", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-backward", action="store_true")
    a = ap.parse_args()
    h = 0.6 / a.side
    g = (np.arange(a.side) - (a.side - 1) / 2) * h
    x0 = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3) + [0.0, 0.0, 0.35]
    n, steps = len(x0), (a.frames - 1) * a.substeps
    print(f"particles {n}, grid {a.grid}^3, {steps} substeps per rollout")
    import hashlib
    import statistics

    import physics.mpm.engine as eng_mod

    orig_init = eng_mod.MPMEngine.__init__

    def legacy_init(self, *args, **kw):  # the forward as it was before the fused zeroing / parallel G2P
        orig_init(self, *args, **kw)
        self.forward_only, self.colored, self.g2p = False, None, self.k["g2p"]
        self._grid = self._grid_whole  # whole-grid fill and update

    modes = {"previous": dict(p2g="serial"), "serial": dict(p2g="serial"), "colored": dict(p2g="colored")}
    if a.parallel:
        modes["atomics"] = dict(deterministic=False)
    rates: dict[str, list[float]] = {m: [] for m in modes}
    digest: dict[str, str] = {}
    for r in range(a.rounds + 1):  # round 0 compiles
        for m, kw in modes.items():
            eng_mod.MPMEngine.__init__ = legacy_init if m == "previous" else orig_init
            p = MPMParams(n_grid=a.grid, E=1e5, **kw)
            t0 = time.perf_counter()
            res = simulate_mpm(x0, [0.0, 0.0, -1.0], h ** 3, p, a.frames if r else 2, 30.0, a.substeps if r else 1)
            dt = time.perf_counter() - t0
            eng_mod.MPMEngine.__init__ = orig_init
            if r:
                rates[m].append(steps / dt)
                digest[m] = hashlib.sha256(res.positions.tobytes()).hexdigest()[:12]
    base = statistics.median(rates["previous"])
    for m in modes:
        med = statistics.median(rates[m])
        print(f"forward {m:9s}: {med:7.1f} substeps/s  x{med / base:4.2f} vs previous  "
              f"(rounds {', '.join(f'{x:.1f}' for x in rates[m])}; positions sha256 {digest[m]})")
    if a.no_backward:
        return
    p = MPMParams(n_grid=a.grid, E=1e5)
    E = torch.full((n,), 1e5, dtype=torch.float32, requires_grad=True)

    def run(frames: int, substeps: int) -> None:
        xs = rollout_mpm_torch(torch.as_tensor(x0, dtype=torch.float32), [0.0, 0.0, -1.0], h ** 3, p,
                               frames, 30.0, substeps, E=E)
        xs[-1].sum().backward()

    t0 = time.perf_counter()
    run(2, 1)
    comp = time.perf_counter() - t0
    E.grad = None
    t0 = time.perf_counter()
    run(a.frames, a.substeps)
    fb = time.perf_counter() - t0
    g_sha = hashlib.sha256(E.grad.numpy().tobytes()).hexdigest()[:12]
    print(f"forward+backward deterministic=True: {steps / fb:7.1f} substeps/s  (first-call compile {comp:.1f} s; "
          f"dL/dE sha256 {g_sha})")


if __name__ == "__main__":
    main()
