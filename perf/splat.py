"""Benchmark render.splat.render_gaussians: forward and forward+backward wall time on CPU.

Scene: N Gaussians on the surface of a 0.5 m sphere (like an object's surface points), isotropic
scale ~ the point spacing, opacity 0.9, seen by an orbit camera that the object half fills.

    python perf/splat.py [--n 1000 5000] [--res 64 128 256] [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from render.cameras import orbit_cameras
from render.splat import render_gaussians


def make_scene(n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    d = torch.randn(n, 3, generator=g)
    means = 0.5 * d / d.norm(dim=1, keepdim=True) + torch.tensor([0.0, 0.0, 0.5])
    spacing = math.sqrt(4 * math.pi * 0.25 / n)
    return {
        "means": means,
        "scales": torch.full((n,), 0.8 * spacing),
        "colors": torch.rand(n, 3, generator=g),
        "opacities": torch.full((n,), 0.9),
    }


def time_fwd_bwd(render, scene: dict[str, torch.Tensor], repeats: int, sync=lambda: None) -> tuple[float, float]:
    """Median ms of ``render(params)`` without grad, and of forward+backward; first run is warm-up.
    ``sync`` (e.g. ``torch.cuda.synchronize``) runs before each clock read."""
    fwd, full = [], []
    for i in range(repeats + 1):
        params = {k: v.clone().requires_grad_() for k, v in scene.items()}
        sync()
        t0 = time.perf_counter()
        with torch.no_grad():
            render(params)
        sync()
        t1 = time.perf_counter()
        out = render(params)
        (out["rgb"].square().sum() + out["depth"].sum()).backward()
        sync()
        t2 = time.perf_counter()
        if i:
            fwd.append(t1 - t0)
            full.append(t2 - t1)
    return 1e3 * statistics.median(fwd), 1e3 * statistics.median(full)


def bench(n: int, res: int, repeats: int) -> tuple[float, float]:
    scene = make_scene(n)
    cam = orbit_cameras(1, 2.5, 20.0, width=res, height=res, fov_deg=40.0)[0]
    return time_fwd_bwd(lambda p: render_gaussians(**p, camera=cam), scene, repeats)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--res", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1 is robust on busy CPUs)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; median of {args.repeats} runs")
    print(f"{'N':>6} {'res':>5} {'forward ms':>11} {'fwd+bwd ms':>11}")
    for n in args.n:
        for res in args.res:
            f, fb = bench(n, res, args.repeats)
            print(f"{n:>6} {res:>4}² {f:>11.1f} {fb:>11.1f}", flush=True)


if __name__ == "__main__":
    main()
