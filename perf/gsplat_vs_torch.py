"""Benchmark on a CUDA machine: gsplat vs our pure-torch rasterizer, same scene and conventions.

Prints, per (N, resolution): max |difference| of rgb/alpha/depth between the two (ours with
``alpha_max=0.999``, gsplat's clamp) and median forward / forward+backward milliseconds of each on
the GPU. Scene as ``splat.py`` (Gaussians on a 0.5 m sphere, one orbit camera).

    python perf/gsplat_vs_torch.py [--n 1000 5000] [--res 128 256] [--repeats 10]
"""

from __future__ import annotations

import argparse

import torch

from splat import make_scene, time_fwd_bwd  # sibling script (run from perf/ or the repo root)
from render.cameras import orbit_cameras
from render.gsplat_backend import gsplat_available, render_gaussians_gsplat
from render.splat import render_gaussians


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--res", type=int, nargs="+", default=[128, 256])
    ap.add_argument("--repeats", type=int, default=10)
    a = ap.parse_args()
    if not gsplat_available():
        raise SystemExit("bench_gsplat: needs gsplat and a CUDA device")
    dev = torch.device("cuda")
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}; median of {a.repeats} runs")
    print(f"{'N':>6} {'res':>5} {'max|drgb|':>10} {'max|dA|':>9} {'max|dD|':>9} "
          f"{'ours fwd':>9} {'ours f+b':>9} {'gsplat fwd':>10} {'gsplat f+b':>10}  (ms)")
    for n in a.n:
        scene = {k: v.to(dev) for k, v in make_scene(n).items()}
        for res in a.res:
            cam = orbit_cameras(1, 2.5, 20.0, width=res, height=res, fov_deg=40.0)[0]

            def ours(p):
                return render_gaussians(**p, camera=cam, alpha_max=0.999)

            def ref(p):
                return render_gaussians_gsplat(**p, camera=cam)

            with torch.no_grad():
                o, r = ours(scene), ref(scene)
            d = [float((o[k] - r[k]).abs().max()) for k in ("rgb", "alpha", "depth")]
            of, ofb = time_fwd_bwd(ours, scene, a.repeats, torch.cuda.synchronize)
            gf, gfb = time_fwd_bwd(ref, scene, a.repeats, torch.cuda.synchronize)
            print(f"{n:>6} {res:>4}² {d[0]:>10.2e} {d[1]:>9.2e} {d[2]:>9.2e} {of:>9.1f} {ofb:>9.1f} "
                  f"{gf:>10.2f} {gfb:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
