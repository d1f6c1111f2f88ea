"""Benchmark: warp spring-mass engine vs a plain vectorised torch implementation of the same step.

Scene: ~2k anchors in a 1 m cube, knn k=30 (~40k undirected springs), Spring-Gaus force law
and ground, 30 frames at 30 fps. Reports forward substeps/s and forward+backward time of a
30-frame rollout (both with per-frame checkpointing), and the warp/torch ratio.

    python perf/spring_mass.py [--anchors 2000] [--k 30] [--substeps 20] [--device cuda]

``--device cuda`` runs warp on the GPU and the torch reference there too (timings synchronised).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch.utils.checkpoint import checkpoint

from physics.spring_mass import (
    SpringMassParams, knn_springs, recommend_substeps, rollout_torch, simulate, spring_stiffness,
)


def torch_frame(x, v, k, c, e, rest, inv_m, g, dt: float, substeps: int, mu: float):
    """One frame of the same physics in plain torch (eq. 9-14, p_k = 0, Spring-Gaus ground)."""
    i, j = e[:, 0], e[:, 1]
    for _ in range(substeps):
        d = x[j] - x[i]
        length = torch.sqrt((d * d).sum(1) + 1e-24)
        n = d / length[:, None]
        dv = v[j] - v[i]
        mag = k / rest * (length - rest) + c / rest * (dv * n).sum(1)
        f = mag[:, None] * n
        force = torch.zeros_like(x).index_add(0, i, f).index_add(0, j, -f)
        vn = v + dt * (force * inv_m[:, None] + g)
        xo = x + dt * vn
        below = xo[:, 2] < 0.0
        vt = torch.sqrt(vn[:, 0] ** 2 + vn[:, 1] ** 2 + 1e-18)
        fac = torch.clamp(1.0 - mu * torch.clamp(-vn[:, 2], min=0.0) / vt, min=0.0)
        hit = below & (vn[:, 2] < 0)
        vc = torch.stack([vn[:, 0] * fac, vn[:, 1] * fac, torch.zeros_like(fac)], 1)
        vn = torch.where(hit[:, None], vc, vn)
        xo = torch.where(below[:, None], torch.stack([xo[:, 0], xo[:, 1], torch.zeros_like(fac)], 1), xo)
        x, v = xo, vn
    return x, v


def torch_rollout(x0, v0, k, c, e, rest, inv_m, g, dt, substeps, frames, mu):
    xs, x, v = [x0], x0, v0
    for _ in range(frames - 1):
        if x.requires_grad or k.requires_grad:
            x, v = checkpoint(torch_frame, x, v, k, c, e, rest, inv_m, g, dt, substeps, mu, use_reentrant=False)
        else:
            x, v = torch_frame(x, v, k, c, e, rest, inv_m, g, dt, substeps, mu)
        xs.append(x)
    return torch.stack(xs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--anchors", type=int, default=2000)
    ap.add_argument("--k", type=int, default=30)
    ap.add_argument("--substeps", type=int, default=0, help="0 = recommend_substeps()")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--device", default="cpu", help="warp device: cpu | cuda")
    a = ap.parse_args()
    dev = torch.device("cuda" if a.device.startswith("cuda") else "cpu")
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    torch.set_num_threads(1)  # warp on CPU is single-threaded: compare like with like
    rng = np.random.default_rng(0)
    x0 = rng.uniform(-0.5, 0.5, (a.anchors, 3)) + [0, 0, 0.8]
    e, r = knn_springs(x0, a.k)
    p = SpringMassParams(stiffness=1.0, total_mass=1.0, damping=0.001, friction=0.3)
    fps, T = 30.0, a.frames
    S = a.substeps or recommend_substeps(e, r, p, len(x0), fps)
    print(f"scene: {a.anchors} anchors, {len(e)} springs (knn k={a.k}), {T} frames x {S} substeps, float32, "
          f"warp on {a.device}, torch on {dev}")

    simulate(x0, 0, e, r, p, 2, fps, S, device=a.device)  # warm-up / kernel compile
    t = time.perf_counter()
    ref = simulate(x0, 0, e, r, p, T, fps, S, device=a.device)
    tw = time.perf_counter() - t
    xt = torch.tensor(x0, dtype=torch.float32)
    kt = torch.tensor(1.0, requires_grad=True)
    v0 = torch.zeros(3, requires_grad=True)
    loss = rollout_torch(xt, v0, e, r, p, 2, fps, S, stiffness=kt, device=a.device).sum()  # compile adjoints
    loss.backward()
    t = time.perf_counter()
    out = rollout_torch(xt, v0, e, r, p, T, fps, S, stiffness=kt, device=a.device)
    (out[:, :, 2] ** 2).sum().backward()
    twb = time.perf_counter() - t

    et = torch.tensor(e, dtype=torch.long, device=dev)
    rest = torch.tensor(r, dtype=torch.float32, device=dev)
    kk = torch.tensor(spring_stiffness(p, e, len(x0)), dtype=torch.float32, device=dev)
    cc = torch.full_like(rest, float(p.damping))
    inv_m = torch.full((len(x0),), len(x0) / 1.0, device=dev)
    g = torch.tensor([0.0, 0.0, -9.81], device=dev)
    dt = 1.0 / (fps * S)
    xd = xt.to(dev)
    with torch.no_grad():
        torch_rollout(xd, torch.zeros_like(xd), kk, cc, et, rest, inv_m, g, dt, S, 2, p.friction)  # warm-up
        sync()
        t = time.perf_counter()
        xs = torch_rollout(xd, torch.zeros_like(xd), kk, cc, et, rest, inv_m, g, dt, S, T, p.friction)
        sync()
        tt = time.perf_counter() - t
    diff = float((xs.cpu().numpy() - ref.positions).__abs__().max())
    kg = kk.clone().requires_grad_(True)
    t = time.perf_counter()
    xs = torch_rollout(xd, torch.zeros_like(xd), kg, cc, et, rest, inv_m, g, dt, S, T, p.friction)
    (xs[:, :, 2] ** 2).sum().backward()
    sync()
    ttb = time.perf_counter() - t

    n_sub = (T - 1) * S
    print(f"warp  forward: {n_sub / tw:8.0f} substeps/s   ({tw:.2f} s for {T} frames)")
    print(f"torch forward: {n_sub / tt:8.0f} substeps/s   ({tt:.2f} s)   speed-up warp/torch = {tt / tw:.2f}x")
    print(f"warp  forward+backward ({T} frames): {twb:.2f} s")
    print(f"torch forward+backward ({T} frames, checkpointed): {ttb:.2f} s   speed-up = {ttb / twb:.2f}x")
    print(f"max |warp - torch| positions after {T} frames: {diff:.2e} m")


if __name__ == "__main__":
    main()
