"""Benchmark: reduced-order LBS simulator (physics.reduced), CPU.

Scene: a 1.0 x 0.6 x 0.4 m box (4k volume samples), 500 FPS cubature points, 10 learned + 1
constant handle (n = 132 DoFs), 2k query points, E = 1e5 Pa, nu = 0.3, dt = 1/60 s, dropped from
0.3 m onto the floor. Reports skinning-training steps/s, forward Newton iterations/s and
timesteps/s, and forward+backward (implicit adjoint) time through 10 steps w.r.t. E, nu, MLP.

    python perf/reduced.py [--cubature 500] [--handles 10] [--frames 60] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from physics.reduced import ReducedParams, cubature_points, simulate_reduced, train_skinning_weights


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cubature", type=int, default=500)
    ap.add_argument("--handles", type=int, default=10, help="learned handles (+1 constant)")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--train-steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (tiny dense algebra: 1 is fastest)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    samples = rng.uniform(0, 1, (4000, 3)) * np.array([1.0, 0.6, 0.4]) + np.array([0, 0, 0.3])
    query = samples[:2000]
    t = time.perf_counter()
    model, hist = train_skinning_weights(samples, a.handles, E=1e5, nu=0.3, steps=a.train_steps, seed=0)
    t_train = time.perf_counter() - t
    Xc, Vc = cubature_points(samples, a.cubature, 1.0 * 0.6 * 0.4, seed=0)
    p = ReducedParams(E=1e5, nu=0.3, dt=1 / 60)
    simulate_reduced(model, Xc, Vc, query, p, n_frames=2)  # warm-up
    with torch.no_grad():
        t = time.perf_counter()
        out = simulate_reduced(model, Xc, Vc, query, p, n_frames=a.frames)
        t_fwd = time.perf_counter() - t
    iters = sum(len(r) - 1 for r in out.newton_residuals)
    E = torch.tensor(1e5, dtype=torch.float64, requires_grad=True)
    nu = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    t = time.perf_counter()
    zd = torch.zeros(model.n_total, 12, dtype=torch.float64)
    zd[0, 11] = -4.0  # thrown down at 4 m/s: floor contact within the 10 steps, so E and nu matter
    out10 = simulate_reduced(model, Xc, Vc, query, p, n_frames=10, E=E, nu=nu, zdot0=zd)
    t_f10 = time.perf_counter() - t
    out10.positions[-1].square().sum().backward()
    t_fb10 = time.perf_counter() - t
    n = 12 * model.n_total
    print(f"scene: {a.cubature} cubature pts, {model.n_total} handles ({n} DoFs), {len(query)} query pts, "
          f"threads={a.threads}")
    print(f"skinning training: {a.train_steps / t_train:.1f} steps/s (orth {hist['orth'][0]:.3f} -> {hist['orth'][-1]:.4f})")
    print(f"forward: {a.frames} steps in {t_fwd:.3f} s = {a.frames / t_fwd:.1f} timesteps/s, "
          f"{iters} Newton iterations = {iters / t_fwd:.1f} Newton it/s ({iters / a.frames:.2f} per step)")
    print(f"forward+backward 10 steps: {t_fb10:.3f} s (forward with graph {t_f10:.3f} s, backward "
          f"{t_fb10 - t_f10:.3f} s); dL/dE = {float(E.grad):.3e}, dL/dnu = {float(nu.grad):.3e}")
    print(f"min z over frames: {float(out.positions[..., 2].min()):.4f} m")


if __name__ == "__main__":
    main()
