"""Benchmark: taichi MLS-MPM (fixed-corotated) forward and forward+backward substeps per second.

Scene: an elastic cube of n^3 particles (default 25^3 = 15 625) dropped on the ground in a 64^3
grid, E = 1e5 Pa, 30 fps. Compile time (first call) is reported separately and excluded from
the rates. ``--parallel`` also times the non-deterministic parallel-atomics scatter.

    python perf/mpm.py [--side 25] [--grid 64] [--frames 3] [--substeps 20]
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
    ap.add_argument("--no-backward", action="store_true")
    a = ap.parse_args()
    h = 0.6 / a.side
    g = (np.arange(a.side) - (a.side - 1) / 2) * h
    x0 = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3) + [0.0, 0.0, 0.35]
    n, steps = len(x0), (a.frames - 1) * a.substeps
    print(f"particles {n}, grid {a.grid}^3, {steps} substeps per rollout")
    for det in [True] + ([False] if a.parallel else []):
        p = MPMParams(n_grid=a.grid, E=1e5, deterministic=det)
        t0 = time.perf_counter()
        simulate_mpm(x0, [0.0, 0.0, -1.0], h ** 3, p, 2, 30.0, 1)
        comp = time.perf_counter() - t0
        t0 = time.perf_counter()
        simulate_mpm(x0, [0.0, 0.0, -1.0], h ** 3, p, a.frames, 30.0, a.substeps)
        fw = time.perf_counter() - t0
        print(f"forward  deterministic={det}: {steps / fw:7.1f} substeps/s  (first-call compile {comp:.1f} s)")
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
    t0 = time.perf_counter()
    run(a.frames, a.substeps)
    fb = time.perf_counter() - t0
    print(f"forward+backward deterministic=True: {steps / fb:7.1f} substeps/s  (first-call compile {comp:.1f} s)")


if __name__ == "__main__":
    main()
