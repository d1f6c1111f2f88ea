"""Quality versus time of Cycles settings (samples per pixel, denoiser) against a high-spp reference of the
same frames: the curve the v1 profile's render settings are chosen from.

A procedural object over the photoreal look (textured ground, sky, soft sun), rendered in this process at
the given resolution from one camera for a few poses; for each setting it prints the median seconds per
frame (build excluded) and the PSNR / SSIM (3DGS Gaussian-11) of its RGB against the reference's.

    python perf/blender_quality.py [--res 128] [--frames 3] [--ref-spp 512] [--spp 4 8 16 32 64] [--fast-prefilter]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def scene_job(res: int, frames: int, spp: int, denoise: bool, prefilter: str = "accurate"):
    from datagen.assets import load_object
    from render.blender.job import BlenderSettings, make_job
    from render.blender.look import photoreal_look
    from render.cameras import framing_cameras

    mesh = load_object("proc/torus/001")
    rot = np.linalg.qr(np.random.default_rng(3).normal(size=(3, 3)))[0]
    v = mesh.vertices @ rot.T
    v[:, 2] += 0.3 - v[:, 2].min()
    verts = np.stack([v + np.array([0.05 * t, 0.0, -0.1 * t]) for t in range(frames)])
    cams, _ = framing_cameras(1, verts.reshape(-1, 3), 15.0, res, res, 40.0)
    look = photoreal_look(np.random.default_rng(7), (1.0, 1.0, 1.0), True)
    st = BlenderSettings(engine="cycles", samples=spp, denoise=denoise, device="cpu", look=look, process="inprocess",
                         denoise_prefilter=prefilter)
    return make_job(mesh.faces, verts, cams, st, mesh.uv, mesh.texture, mesh.vertex_colors)


def render(res: int, frames: int, spp: int, denoise: bool, prefilter: str = "accurate") -> tuple[np.ndarray, list[float]]:
    from render.blender import scene as S
    from render.blender.worker import render_frames

    job, arrays = scene_job(res, frames, spp, denoise, prefilter)
    times: list[float] = []
    t_last = [time.perf_counter()]

    def log(msg: str) -> None:
        if msg.startswith("[worker] frame"):
            now = time.perf_counter()
            times.append(now - t_last[0])
            t_last[0] = now
        elif msg.startswith("[worker] engine"):
            t_last[0] = time.perf_counter()

    del S
    with tempfile.TemporaryDirectory() as tmp:
        out, _ = render_frames(job, arrays, Path(tmp), log=log)
    return next(iter(out.values()))["rgb"], times


def main() -> None:
    from metrics.image import psnr, ssim_gaussian11

    ap = argparse.ArgumentParser()
    ap.add_argument("--res", type=int, default=128)
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--ref-spp", type=int, default=512)
    ap.add_argument("--spp", type=int, nargs="+", default=[4, 8, 16, 32, 64])
    ap.add_argument("--fast-prefilter", action="store_true", help="also OIDN with the fast guide prefilter")
    a = ap.parse_args()
    ref, tref = render(a.res, a.frames, a.ref_spp, False)
    print(f"reference: {a.ref_spp} spp, no denoiser, {a.res}x{a.res}: {statistics.median(tref):.2f} s/frame")
    print(f"{'spp':>5s} {'denoise':>8s} {'s/frame':>8s} {'PSNR':>7s} {'SSIM':>7s}")
    for spp in a.spp:
        for dn in ("off", "on", "fast")[: 3 if a.fast_prefilter else 2]:
            rgb, t = render(a.res, a.frames, spp, dn != "off", "fast" if dn == "fast" else "accurate")
            p = np.mean([psnr(rgb[i], ref[i]) for i in range(a.frames)])
            s = np.mean([ssim_gaussian11(rgb[i], ref[i]) for i in range(a.frames)])
            print(f"{spp:5d} {dn:>8s} {statistics.median(t):8.3f} {p:7.2f} {s:7.4f}", flush=True)


if __name__ == "__main__":
    main()
