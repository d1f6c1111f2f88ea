"""Benchmark: our MLS-MPM forward vs GIC's taichi ``MPMSimulator`` on the same scene, side by side.

GIC's simulator (``simulator/mpm_simulator.py`` of https://github.com/Jukgei/gic) is read from a local
clone (``--gic DIR``), loaded as a temporary module outside the repository, and driven the way their
``Simulator`` drives it (a dynamic particle root, dx / inv_dx / particle-count fields, ``advance(f)`` per
frame: sparse-grid deactivation, F update, SVD, projection, atomic P2G, grid update with a ground collider,
G2P, CFL check). Nothing of GIC is stored in this repository. Both run in one taichi runtime (CPU,
``PHYSRECON_THREADS`` threads).

Scene (issue 23): an elastic cube of ``--side``^3 particles (default 25^3 = 15 625) 0.05 m above the ground,
64^3 grid over our 2 m domain (dx = 1/32 m, GIC gets the same dx), E = 1e5 Pa, nu = 0.3, 30 fps, 20 substeps a
frame (dt = 1/600 s), float32. GIC's material is its "elasticity" (a Neo-Hookean law with an SVD per particle
per substep), ours fixed-corotated; the per-particle constitutive cost is of the same order, and the table
says so. "kernel by kernel" is the deterministic path launching each kernel from Python (no frame graph,
the implementation before 2026-12-04's graph). Rows interleave over ``--rounds``; each figure is the median; the ratio is the median per-round ratio.

    PHYSRECON_THREADS=2 python perf/mpm_peers.py --gic /path/to/gic [--frames 3] [--rounds 3]
"""


import argparse
import atexit
import importlib.util
import shutil
import statistics
import sys
import tempfile
import time
from argparse import Namespace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def load_gic(root: Path):
    """GIC's ``MPMSimulator`` class, from their source file, as a temporary module."""
    src = root / "simulator" / "mpm_simulator.py"
    if not src.is_file():
        raise SystemExit(f"{src}: not found; pass --gic the root of a GIC clone")
    tmp = Path(tempfile.mkdtemp(prefix="gic_mpm_")) / "gic_mpm_simulator.py"
    atexit.register(shutil.rmtree, tmp.parent, ignore_errors=True)  # taichi compiles lazily from the file
    shutil.copyfile(src, tmp)
    spec = importlib.util.spec_from_file_location("gic_mpm_simulator", tmp)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gic_mpm_simulator"] = mod
    spec.loader.exec_module(mod)
    return mod.MPMSimulator


class GICRun:
    """One GIC simulator set up like their ``Simulator`` for the cube scene."""

    def __init__(self, MPMSimulator, x0: np.ndarray, vol: float, rho: float, E: float, nu: float, dx: float,
                 fps: float, substeps: int) -> None:
        import taichi as ti

        n = len(x0)
        self.n_field = ti.field(ti.i32, shape=())
        self.n_field[None] = n
        self.dx, self.inv_dx = ti.field(ti.f32, shape=()), ti.field(ti.f32, shape=())
        self.dx[None], self.inv_dx[None] = dx, 1.0 / dx
        self.rho = ti.field(dtype=ti.f32)
        particle = ti.root.dynamic(ti.i, 2**30, 2**14)
        particle.place(self.rho)
        frame_dt = 1.0 / fps
        self.sim = MPMSimulator(ti.f32, frame_dt / substeps, frame_dt, particle, self.dx, self.inv_dx, self.n_field,
                                Namespace(damping=0.0), [0.0, 0.0, -9.81], MPMSimulator.elasticity,
                                cuda_chunk_size=substeps)
        self.sim.add_surface_collider([0.0, 0.0, 0.0], [0.0, 0.0, 1.0], MPMSimulator.surface_separate)
        mu, lam = E / (2 * (1 + nu)), E * nu / ((1 + nu) * (1 - 2 * nu))
        self.x0, self.vol, self.rho_v, self.mu, self.lam = x0.astype(np.float32), vol, rho, mu, lam

    def reset(self) -> None:
        import taichi as ti

        sim, n = self.sim, len(self.x0)
        x0, mu, lam, vol, m = self.x0, self.mu, self.lam, self.vol, self.rho_v * self.vol

        @ti.kernel
        def init(x: ti.types.ndarray()):
            for p in range(n):
                sim.x[p, 0] = ti.Vector([x[p, 0], x[p, 1], x[p, 2]])
                sim.v[p, 0] = ti.Vector.zero(ti.f32, 3)
                sim.F[p, 0] = ti.Matrix.identity(ti.f32, 3)
                sim.C[p, 0] = ti.Matrix.zero(ti.f32, 3, 3)
                sim.mu[p] = mu
                sim.lam[p] = lam
                sim.p_vol[p] = vol
                sim.p_mass[p] = m

        init(x0)
        sim.cfl_satisfy[None] = 1
        sim.cached_states.clear()

    def rollout(self, frames: int) -> np.ndarray:
        self.reset()
        out = np.zeros((self.sim.n_particles[None], 3), np.float32)
        for f in range(frames - 1):
            self.sim.advance(f)
        self.sim.get_x(0, out)
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gic", type=Path, required=True, help="root of a GIC clone")
    ap.add_argument("--side", type=int, default=25)
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--substeps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()

    from physics.mpm import MPMParams
    from physics.mpm.engine import MPMEngine
    from physics.mpm.simulate import prepare
    from physics.mpm.runtime import ensure_taichi

    ti = ensure_taichi()
    h = 0.6 / a.side
    g = (np.arange(a.side) - (a.side - 1) / 2) * h
    x0 = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3) + [0.0, 0.0, 0.35]
    E, nu, rho = 1e5, 0.3, 1000.0
    steps = (a.frames - 1) * a.substeps
    rows = {"ours serial (deterministic)": MPMParams(n_grid=64, E=E, nu=nu, density=rho, p2g="serial"),
            "ours serial, kernel by kernel": MPMParams(n_grid=64, E=E, nu=nu, density=rho, p2g="serial"),
            "ours atomics (non-deterministic)": MPMParams(n_grid=64, E=E, nu=nu, density=rho, deterministic=False)}
    ours = {}
    for name, p in rows.items():  # one engine each, built once (GIC's simulator is too); rollouts time forward only
        prep = prepare(x0, [0.0, 0.0, 0.0], h ** 3, p, a.frames, 30.0, a.substeps, None, None, None, "position")
        eng = MPMEngine(p, prep.x0.shape[0], prep.substeps, 30.0, prep.n_controls)
        eng.set_material(prep.E, prep.nu, prep.vol, prep.mass)
        eng.set_control_index(prep.ctrl_id)
        if "kernel by kernel" in name and hasattr(eng, "_graph_frames"):  # the launches from Python, no frame graph
            eng._graph_frames = lambda: False
        ours[name] = (eng, prep)
    dx = 2.0 / 64
    gic = GICRun(load_gic(a.gic), x0, h ** 3, rho, E, nu, dx, 30.0, a.substeps)
    print(f"particles {len(x0)}, dx {dx:.4f} m (64^3 over 2 m), {steps} substeps per rollout, taichi "
          f"{ti.__version__} on {ti.lang.impl.current_cfg().arch}, {a.rounds} interleaved rounds")
    times: dict[str, list[float]] = {"GIC MPMSimulator": []} | {k: [] for k in rows}
    ends = {}
    for r in range(a.rounds + 1):  # round 0 compiles
        t = time.perf_counter()
        ends["GIC MPMSimulator"] = gic.rollout(a.frames)
        if r:
            times["GIC MPMSimulator"].append(time.perf_counter() - t)
        for name, (eng, prep) in ours.items():
            t = time.perf_counter()
            states = eng.forward(prep.x0, prep.v0, a.frames, prep.ctrl_vel)
            if r:
                times[name].append(time.perf_counter() - t)
            ends[name] = states[-1][0]
    lowest = {k: float(v[:, 2].min()) for k, v in ends.items()}
    same = ends["ours serial (deterministic)"].tobytes() == ends["ours serial, kernel by kernel"].tobytes()
    print(f"ours serial: frame graph and kernel-by-kernel launches give the same bytes: {same}")
    print("lowest particle z after the rollout (m): " + ", ".join(f"{k} {z:.4f}" for k, z in lowest.items()))
    base = times["GIC MPMSimulator"]
    for name, ts in times.items():
        rate = steps / statistics.median(ts)
        ratio = statistics.median(b / o for b, o in zip(base, ts))
        print(f"{name:34s} {rate:7.1f} substeps/s   vs GIC {ratio:.2f}x")


if __name__ == "__main__":
    main()
