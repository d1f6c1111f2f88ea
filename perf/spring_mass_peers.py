"""Benchmark: our spring-mass engine vs PhysTwin's own warp kernels on the same scene, side by side.

PhysTwin's simulator (``qqtt/model/diff_simulator/spring_mass_warp.py`` of
https://github.com/Jianghanxiao/PhysTwin) is driven directly: this script reads that file from a
local clone (``--phystwin DIR``), keeps its substep kernels verbatim (``eval_springs``,
``update_vel_from_force``, ``integrate_ground_collision``), writes them to a temporary module outside
the repository (their file imports CUDA settings and a config object at import time) and replays
``SpringMassSystemWarp.step``'s launch sequence: zero the forces, springs (atomic scatter), velocity
update with drag, ground impulse with time of impact. Nothing of PhysTwin is stored in this
repository.

Scene (the issue's): 2 000 random points in a 1 m cube 0.2 m above the ground, kNN k = 30, PhysTwin
force law (Y (|d|/l - 1) + axial dashpot), drag, impulse ground; unit masses; dt = 5e-5 (667 substeps
a frame at 30 fps). Both use g = 9.8 (PhysTwin's constant). Rows interleave over ``--rounds``; each
figure is the median over rounds; the ratio is the median of per-round ratios.

    python perf/spring_mass_peers.py --phystwin /path/to/PhysTwin [--frames 3] [--rounds 3]

Forward: substeps per second of a rollout (ours ``Engine.forward`` in every mode it has). Forward +
backward: per frame, PhysTwin records one frame's substeps on a ``wp.Tape`` and back-propagates
(their trainer: gradients do not cross frames); ours runs ``Engine.forward`` (graph) then
``Engine.backward`` (the exact adjoint through all frames, which re-simulates each frame: strictly more
work), once per adjoint: the hand-written graphs (``adjoint="graph"``, 1 and ``--threads`` threads) and
warp's tape (``adjoint="tape"``, the first implementation). The ``keep`` rows run the forward with
``keep=True`` (as a differentiable rollout does): its frames go through the adjoint's recording graph and
their substep states are kept, so the backward does not re-simulate them (``graph`` rows: it does).
On the CPU the engine's forward passes are C++ vector-lane kernels (physics/spring_mass/native_kernels.py);
rows marked ``warp`` run the previous warp block kernels (``native=False``; the same bytes) for comparison.
"""

from __future__ import annotations

import argparse
import ast
import atexit
import importlib.util
import statistics
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

_KERNELS = ("eval_springs", "update_vel_from_force", "integrate_ground_collision")


def load_phystwin_kernels(root: Path):
    """PhysTwin's substep kernels, verbatim from their source, as an importable temporary module."""
    src_path = root / "qqtt" / "model" / "diff_simulator" / "spring_mass_warp.py"
    if not src_path.is_file():
        raise SystemExit(f"{src_path}: not found; pass --phystwin the root of a PhysTwin clone")
    src = src_path.read_text()
    tree = ast.parse(src)
    parts = ["import warp as wp\n"]
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in _KERNELS:
            parts.append(ast.get_source_segment(src, node, padded=False) + "\n")
            # ast drops the decorator from the segment start: re-add what the source had
            deco = [ast.get_source_segment(src, d) for d in node.decorator_list]
            parts[-1] = "".join(f"@{d}\n" for d in deco) + parts[-1]
    missing = [k for k in _KERNELS if not any(f"def {k}(" in p for p in parts)]
    if missing:
        raise SystemExit(f"{src_path}: kernels {missing} not found (PhysTwin changed?)")
    tmp = Path(tempfile.mkdtemp(prefix="phystwin_kernels_")) / "phystwin_kernels.py"
    # warp compiles the kernels lazily from this file: it lives for the run and leaves with the process
    atexit.register(shutil.rmtree, tmp.parent, ignore_errors=True)
    tmp.write_text("\n\n".join(parts))
    spec = importlib.util.spec_from_file_location("phystwin_kernels", tmp)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["phystwin_kernels"] = mod
    spec.loader.exec_module(mod)
    return mod


class PhysTwinSim:
    """PhysTwin's ``SpringMassSystemWarp.step`` launch sequence (no controls, no object collision)."""

    def __init__(self, mod, x0, edges, rest, Y, dashpot, drag, elas, fric, dt, substeps, device="cpu"):
        import warp as wp

        self.wp, self.mod, self.dt, self.S, self.device = wp, mod, dt, substeps, device
        self.n, self.s = len(x0), len(edges)
        self.drag, self.dashpot = float(drag), float(dashpot)
        self.springs = wp.array(edges.astype(np.int32), dtype=wp.vec2i, device=device)
        self.rest = wp.array(rest.astype(np.float32), dtype=float, device=device)
        self.masses = wp.array(np.ones(self.n, np.float32), dtype=wp.float32, device=device)
        self.logY = wp.array(np.full(self.s, np.log(Y), np.float32), dtype=float, device=device, requires_grad=True)
        self.elas = wp.array([elas], dtype=float, device=device, requires_grad=True)
        self.fric = wp.array([fric], dtype=float, device=device, requires_grad=True)
        self.ctrl = wp.zeros(1, dtype=wp.vec3, device=device)
        mk = lambda: wp.zeros(self.n, dtype=wp.vec3, device=device, requires_grad=True)  # noqa: E731
        # their State: x, v, v_before_ground, forces per substep (+1 for the output)
        self.x = [mk() for _ in range(substeps + 1)]
        self.v = [mk() for _ in range(substeps + 1)]
        self.vbg = [mk() for _ in range(substeps + 1)]
        self.f = [mk() for _ in range(substeps + 1)]
        self.x0 = x0.astype(np.float32)

    def step(self) -> None:
        wp, m = self.wp, self.mod
        for i in range(self.S):
            self.f[i].zero_()
            wp.launch(m.eval_springs, dim=self.s, device=self.device, inputs=[
                self.x[i], self.v[i], self.ctrl, self.ctrl, self.n, self.springs, self.rest, self.logY,
                self.dashpot, 1e3, 1e5], outputs=[self.f[i]])
            wp.launch(m.update_vel_from_force, dim=self.n, device=self.device, inputs=[
                self.v[i], self.f[i], self.masses, self.dt, self.drag, 1.0], outputs=[self.vbg[i]])
            wp.launch(m.integrate_ground_collision, dim=self.n, device=self.device, inputs=[
                self.x[i], self.vbg[i], self.elas, self.fric, self.dt, 1.0], outputs=[self.x[i + 1], self.v[i + 1]])

    def rollout(self, frames: int, backward: bool = False) -> np.ndarray:
        """``frames`` frames from rest at x0 (their inference loop: step, copy the last state to the first)."""
        wp = self.wp
        self.x[0].assign(self.x0)
        self.v[0].zero_()
        out = [self.x0.copy()]
        for _ in range(frames - 1):
            if backward:
                tape = wp.Tape()
                with tape:
                    self.step()
                tape.backward(grads={self.x[self.S]: wp.array(np.ones((self.n, 3), np.float32), dtype=wp.vec3,
                                                              device=self.device)})
                tape.zero()
            else:
                self.step()
            xe, ve = self.x[self.S].numpy().copy(), self.v[self.S].numpy().copy()  # numpy() is a view
            out.append(xe)
            self.x[0].assign(xe)
            self.v[0].assign(ve)
        return np.stack(out)


def scene(n: int, k: int, seed: int = 0):
    from physics.spring_mass import knn_springs

    rng = np.random.default_rng(seed)
    x0 = rng.random((n, 3)) + [0.0, 0.0, 0.2]
    edges, rest = knn_springs(x0, k)
    return x0, np.asarray(edges, np.int32), np.asarray(rest, np.float64)


def ours(x0, edges, rest, a, frames, S, mode: str, device="cpu", threads: int = 1, adjoint: str = "graph",
         native: bool | None = None):
    from physics.spring_mass import SpringMassParams
    from physics.spring_mass.engine import Engine

    p = SpringMassParams(force_law="phystwin", ground_model="phystwin", mass=1.0, drag=a.drag,
                         dashpot_axial=True, friction=a.fric, restitution=a.elas)
    eng = Engine(x0, edges, rest, p, frames, 30.0, S, (0.0, 0.0, -9.8), None, None, device=device, mode=mode,
                 threads=threads, adjoint=adjoint, native=native)
    eng.set_params(np.full(len(rest), a.Y), np.full(len(rest), a.dashpot), a.fric, a.elas)
    return eng


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--phystwin", type=Path, required=True, help="root of a PhysTwin clone")
    ap.add_argument("--points", type=int, default=2000)
    ap.add_argument("--k", type=int, default=30)
    ap.add_argument("--frames", type=int, default=3, help="frames per rollout (frames - 1 simulated)")
    ap.add_argument("--dt", type=float, default=5e-5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--Y", type=float, default=3e4)
    ap.add_argument("--dashpot", type=float, default=100.0)
    ap.add_argument("--drag", type=float, default=1.0)
    ap.add_argument("--elas", type=float, default=0.5)
    ap.add_argument("--fric", type=float, default=0.3)
    ap.add_argument("--no-backward", action="store_true")
    ap.add_argument("--threads", type=int, nargs="+", default=[2], help="CPU threads of the extra graph rows")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()

    from physics.spring_mass.engine import FORWARD_MODES
    from physics.spring_mass.kernels import init_warp

    init_warp()
    mod = load_phystwin_kernels(a.phystwin)
    x0, edges, rest = scene(a.points, a.k)
    S = int(round(1.0 / (30.0 * a.dt)))
    dt = 1.0 / (30.0 * S)
    T = a.frames
    n_sub = (T - 1) * S
    print(f"scene: {a.points} points, {len(edges)} springs (kNN k={a.k}), {T - 1} frames x {S} substeps "
          f"(dt={dt:.3g} s), float32, {a.device}, {a.rounds} interleaved rounds")
    pt = PhysTwinSim(mod, x0, edges, rest, a.Y, a.dashpot, a.drag, a.elas, a.fric, dt, S, a.device)
    cpu = a.device == "cpu"
    # "warp" rows: the forward passes as warp block kernels (native=False, the previous implementation); the
    # others use the C++ vector-lane passes where the engine has them (CPU; physics/spring_mass/native_kernels.py)
    variants = [(m, 1, None) for m in FORWARD_MODES] + [("graph", t, None) for t in a.threads if t > 1]
    if cpu:
        variants += [("graph", t, False) for t in sorted({1, *a.threads})]
    engines = {f"{m} x{t}" + ("" if nat is None else " warp"): ours(x0, edges, rest, a, T, S, m, a.device, t, native=nat)
               for m, t, nat in variants}
    # forward+backward: the graph forward, then each adjoint (hand-written graphs on 1.. threads, warp's tape)
    kinds = [("tape", 1, None)] + [(k, t, None) for t in sorted({1, *a.threads}) for k in ("graph", "keep")]
    if cpu:
        kinds += [("keep", t, False) for t in sorted({1, *a.threads})]
    bwd = {} if a.no_backward else {
        f"{kind} x{t}" + ("" if nat is None else " warp"): ours(
            x0, edges, rest, a, T, S, "graph", a.device, t, "tape" if kind == "tape" else "graph", native=nat)
        for kind, t, nat in kinds}
    v0 = np.zeros_like(x0)
    # warm-up (kernel compiles) and agreement
    ref = pt.rollout(T)
    pt.rollout(2, backward=not a.no_backward)
    for m, eng in engines.items():
        xs, vs = eng.forward(x0, v0)
        print(f"max |ours[{m}] - PhysTwin| after {T - 1} frames: {np.abs(xs - ref).max():.2e} m")
    grads = {}
    gx = np.random.default_rng(0).normal(size=(T, len(x0), 3))  # dL/d(frames): a random direction
    for m, eng in bwd.items():
        xs, vs = eng.forward(x0, v0, keep=m.startswith("keep"))
        grads[m] = eng.backward(xs, vs, gx, np.zeros_like(vs))
    for m, g in grads.items():
        if m != "tape x1":
            rel = {k: np.abs(g[k] - grads["tape x1"][k]).max() / np.abs(grads["tape x1"][k]).max() for k in ("x0", "k")}
            same = all(np.asarray(g[k]).tobytes() == np.asarray(grads["graph x1"][k]).tobytes() for k in g)
            print(f"adjoint [{m}] vs tape, max rel. difference: dL/dx0 {rel['x0']:.1e}, dL/dk {rel['k']:.1e}; "
                  f"same bytes as [graph x1]: {same}")

    rows: dict[str, list[float]] = {}

    def timed(name, fn):
        t = time.perf_counter()
        fn()
        rows.setdefault(name, []).append(time.perf_counter() - t)

    for _ in range(a.rounds):
        timed("PhysTwin forward", lambda: pt.rollout(T))
        for m, eng in engines.items():
            timed(f"ours forward [{m}]", lambda eng=eng: eng.forward(x0, v0))
        if not a.no_backward:
            timed("PhysTwin forward+backward", lambda: pt.rollout(T, backward=True))
            for m, eng in bwd.items():
                def fb(eng=eng, keep=m.startswith("keep")):
                    xs, vs = eng.forward(x0, v0, keep=keep)
                    eng.backward(xs, vs, gx, np.zeros_like(vs))
                timed(f"ours forward+backward [{m}]", fb)

    def ratio(base: str, name: str) -> float:
        return statistics.median(b / o for b, o in zip(rows[base], rows[name]))

    for name, ts in rows.items():
        base = "PhysTwin forward+backward" if "backward" in name else "PhysTwin forward"
        extra = "" if name.startswith("PhysTwin") else f"   vs PhysTwin {ratio(base, name):.2f}x"
        print(f"{name:40s} {n_sub / statistics.median(ts):8.0f} substeps/s{extra}")


if __name__ == "__main__":
    main()
