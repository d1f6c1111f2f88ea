"""The exact adjoint of ``Engine.forward`` by hand-written kernels replayed as graphs (no tape).

Per frame, in reverse: a recording replay of the frame's substeps (the forward's fused kernels, storing
x, v and the particle forces G of every substep), then a replay of the reverse substeps
(physics/spring_mass/adjoint_kernels.py), both captured once and split over ``threads`` CPU threads
with barriers like the forward (physics/spring_mass/graphs.py). Where the tape adjoint issued
3 S launches and their adjoints from Python per frame, with an atomic scatter per spring and warp's
replay of every dynamic loop, this issues two graph replays; every sum has one owner, so the gradients
are the same bytes on any thread count. Memory: 3 (S + 1) N vectors per engine (the tape's frame stored
the S spring-force buffers of S springs too).

A forward that will be differentiated (``Engine.forward(..., keep=True)``) runs its last frames through the
recording graph itself (``forward_frame``) and keeps their substep states, so the backward restores them
instead of simulating those frames a second time (what warp's tape does for a whole frame, here within
``Engine.keep_bytes``); the states are the same bytes either way.
"""

from __future__ import annotations

import numpy as np
import warp as wp

from physics.spring_mass import kernels as K
from physics.spring_mass.adjoint_kernels import get_adjoint_kernels
from physics.spring_mass.graphs import ThreadGraphs, share


class FrameAdjoint:
    """Recording and reverse graphs of one frame for ``engine`` (an ``engine.Engine``)."""

    def __init__(self, engine, threads: int) -> None:
        eng = self.eng = engine
        self.kern = get_adjoint_kernels("float32" if eng.np_dtype == np.float32 else "float64")
        dev, n, S = eng.device, eng.n, eng.S
        vec = lambda m: wp.zeros(m, dtype=eng.vec3, device=dev)  # noqa: E731
        sca = lambda m: wp.zeros(m, dtype=eng.scalar, device=dev)  # noqa: E731
        # one block per quantity, a view per substep: a frame's states are kept / restored in three copies
        block = lambda m: wp.zeros((m, n), dtype=eng.vec3, device=dev)  # noqa: E731
        self.blocks = (block(S + 1), block(S + 1), block(S))
        self.X, self.V, self.G = ([b[i] for i in range(b.shape[0])] for b in self.blocks)
        self.kept: dict[int, tuple[np.ndarray, ...]] = {}  # frame -> copies of the blocks
        self.resident: int | None = None  # the frame whose substep states the blocks hold now
        self.F = vec(max(eng.s, 1))
        self.adj_x, self.adj_v, self.adj_g = vec(n), vec(n), vec(n)
        self.a_dd = wp.zeros(max(2 * eng.s, 1), dtype=self.kern["vec6"], device=dev)  # per CSR slot
        self.g_k, self.g_c, self.g_e, self.g_mu = sca(max(eng.s, 1)), sca(max(eng.s, 1)), sca(n), sca(n)
        if eng.controls is not None:
            self.ctrl = (wp.zeros_like(eng.controls[0]), wp.zeros_like(eng.controls[0]))
        else:
            self.ctrl = (eng.w_dummy_ctrl, eng.w_dummy_ctrl)
        self.graphs = ThreadGraphs(dev, threads, n)
        self.record = self.graphs.capture(self._record)
        self.reverse = self.graphs.capture(self._reverse)

    # ------------------------------------------------------------------ capture
    def _record(self, part: int, parts: int, sync) -> None:
        eng = self.eng
        springs, particles = share(eng.s, part, parts), share(eng.n, part, parts)
        for s in range(eng.S):
            eng._substep(0, s, self.X[s], self.V[s], self.F, self.G[s], self.X[s + 1], self.V[s + 1], fused=True,
                         ctrl=self.ctrl, springs=springs, particles=particles, sync=sync)

    def _reverse(self, part: int, parts: int, sync) -> None:
        eng, S = self.eng, self.eng.S
        n0, n1 = share(eng.n, part, parts)
        s0, s1 = share(eng.s, part, parts)
        count = iter(range(2 * S + 1))
        p, chunk = eng.params, eng._chunk

        def particles(s: int, gather: bool, step: bool) -> None:
            # gather: finish the adjoint of state s + 1 (substep s + 1's springs and controls); step: reverse substep s
            g = s + 1 if gather else s
            if n1 > n0:
                wp.launch(self.kern["adj_particles"], dim=-(-(n1 - n0) // chunk), device=eng.device, inputs=[
                    n0, n1, chunk, int(gather), int(step), self.X[g], float(g + 1) / S,
                    self.X[max(s, 0)], self.V[max(s, 0)], self.G[max(s, 0)],
                    eng.w_offsets, eng.w_coffs, eng.w_cctrl, eng.w_crest,
                    self.ctrl[0], self.ctrl[1], float(p.control_stiffness), self.a_dd,
                    eng.w_mass, eng.gravity, eng.dt, float(p.drag), eng.ground, float(p.ground_height),
                    eng.w_e, eng.w_mu, self.adj_g, self.adj_x, self.adj_v, self.g_e, self.g_mu])
            if sync is not None and step:
                sync(next(count))

        def springs(s: int) -> None:
            if s1 > s0:
                wp.launch(self.kern["adj_springs"], dim=-(-(s1 - s0) // chunk), device=eng.device, inputs=[
                    s0, s1, chunk, self.X[s], self.V[s], eng.w_edges, eng.w_slots, eng.w_rest, eng.w_kl, eng.w_ceff,
                    float(p.p_k), eng.law, int(bool(p.dashpot_axial)), self.adj_g, self.a_dd,
                    self.g_k, self.g_c])
            if sync is not None:
                sync(next(count))

        particles(S - 1, gather=False, step=True)
        springs(S - 1)
        for s in range(S - 2, -1, -1):
            particles(s, gather=True, step=True)
            springs(s)
        particles(-1, gather=True, step=False)  # the adjoint of state 0 (substep 0's springs and controls)

    # ------------------------------------------------------------------ run
    def frame_bytes(self) -> int:
        """Host bytes that keeping one frame's substep states takes."""
        return sum(b.size for b in self.blocks) * 3 * np.dtype(self.eng.np_dtype).itemsize

    def forget(self) -> None:
        """Drop the kept states (new parameters or a new forward)."""
        self.kept.clear()
        self.resident = None

    def _controls(self, t: int) -> None:
        """Stage frame t's control positions (start and end) for the recording and reverse graphs."""
        if self.eng.controls is not None:
            wp.copy(self.ctrl[0], self.eng.controls[t])
            wp.copy(self.ctrl[1], self.eng.controls[t + 1])

    def _load(self, t: int, x: np.ndarray, v: np.ndarray) -> None:
        self.X[0].assign(np.ascontiguousarray(x, dtype=self.eng.np_dtype))
        self.V[0].assign(np.ascontiguousarray(v, dtype=self.eng.np_dtype))
        self._controls(t)

    def forward_frame(self, t: int, x: np.ndarray, v: np.ndarray, keep: bool) -> tuple[np.ndarray, np.ndarray]:
        """Frame t of the forward through the recording graph (the same bytes as ``Engine.forward``'s replay);
        ``keep`` also stores a copy of its substep states for ``backward``."""
        self._load(t, x, v)
        self.graphs.run(self.record)
        self.resident = t
        if keep:
            self.kept[t] = tuple(b.numpy().copy() for b in self.blocks)
        return self.X[-1].numpy().copy(), self.V[-1].numpy().copy()

    def _restore(self, t: int, x: np.ndarray, v: np.ndarray) -> bool:
        """Put frame t's recorded substep states into the blocks if the forward left them for this (x, v)."""
        held = self.kept.get(t)
        if held is not None:
            x0, v0 = held[0][0], held[1][0]
        elif self.resident == t:
            x0, v0 = self.X[0].numpy(), self.V[0].numpy()
        else:
            return False
        dt = self.eng.np_dtype
        if not (np.array_equal(x0, np.asarray(x, dt)) and np.array_equal(v0, np.asarray(v, dt))):
            return False
        if self.resident != t:
            for b, h in zip(self.blocks, held):
                b.assign(h)
            self.resident = t
        return True

    def backward(self, xs: np.ndarray, vs: np.ndarray, gx: np.ndarray, gv: np.ndarray) -> dict[str, np.ndarray]:
        """dL/d(x0, v0, k, c, friction, restitution) given dL/d(frames) (same contract as ``Engine.backward``)."""
        eng = self.eng
        for a in (self.g_k, self.g_c, self.g_e, self.g_mu):
            a.zero_()
        adj_x = gx[eng.T - 1].astype(eng.np_dtype)
        adj_v = gv[eng.T - 1].astype(eng.np_dtype)
        for t in reversed(range(eng.T - 1)):
            if self._restore(t, xs[t], vs[t]):
                self._controls(t)
            else:
                self._load(t, xs[t], vs[t])
                self.graphs.run(self.record)
                self.resident = t
            self.kept.pop(t, None)
            self.adj_x.assign(np.ascontiguousarray(adj_x, dtype=eng.np_dtype))
            self.adj_v.assign(np.ascontiguousarray(adj_v, dtype=eng.np_dtype))
            self.graphs.run(self.reverse)
            adj_x = self.adj_x.numpy() + gx[t]
            adj_v = self.adj_v.numpy() + gv[t]
        # per-owner sums (per spring: dL/dk_l, dL/dc_eff), added on the host in float64 in a fixed order
        rest = eng.rest[: eng.s]
        g_c = self.g_c.numpy().astype(np.float64)[: eng.s]
        return {"x0": adj_x, "v0": adj_v, "k": self.g_k.numpy().astype(np.float64)[: eng.s] / rest,
                "c": g_c / rest if eng.law == K.LAW_SPRING_GAUS else g_c,
                "restitution": np.array(self.g_e.numpy().astype(np.float64).sum()),
                "friction": np.array(self.g_mu.numpy().astype(np.float64).sum())}

    def close(self) -> None:
        self.graphs.close()
