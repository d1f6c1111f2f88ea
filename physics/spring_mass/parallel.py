"""Captured frame graphs of the forward substeps, replayed on one or several CPU threads.

Warp runs a CPU kernel launch serially on the thread that issues it, so a single rollout uses one
core. Here one frame's substeps (spring pass, then the fused gather + integrate pass) are captured
once into a graph per host thread (physics/spring_mass/graphs.py), each graph over a fixed contiguous
share of the springs and of the particles, with a spin barrier after each pass. The replays release
the GIL, so ``threads`` graphs run at once.

Same bytes on any thread count: every spring force and every particle update is computed by the same
arithmetic as the single-launch kernels, each particle sums its springs in its CSR order, and the
partition only decides which thread does a given element. On CUDA the frame is one CUDA graph
(``threads`` is ignored there).
"""

from __future__ import annotations

from physics.spring_mass.graphs import ThreadGraphs, share


def default_threads() -> int:
    """Threads for a CPU rollout: the worker's thread share (``core.processes.worker_threads``), else 1."""
    from core.processes import worker_threads

    return worker_threads() or 1


class FrameReplay:
    """Graphs of one frame (``engine.S`` fused substeps) per start buffer and per thread."""

    def __init__(self, engine, X, V, F, G, ctrl, threads: int) -> None:
        self.eng = engine
        self.graphs = ThreadGraphs(engine.device, threads, engine.n)
        self.threads = self.graphs.threads
        starts = (0,) if engine.S % 2 == 0 else (0, 1)
        self.programs = {st: self.graphs.capture(
            lambda part, parts, sync, st=st: self._build(X, V, F, G[0], ctrl, st, part, parts, sync)) for st in starts}

    def _build(self, X, V, F, G, ctrl, start: int, part: int, parts: int, sync) -> None:
        eng = self.eng
        springs, particles = share(eng.s, part, parts), share(eng.n, part, parts)
        cur = start
        for s in range(eng.S):
            eng._substep(0, s, X[cur], V[cur], F[0], G, X[1 - cur], V[1 - cur], fused=True, ctrl=ctrl,
                         springs=springs, particles=particles, sync=sync)
            cur = 1 - cur

    def run(self, start: int) -> None:
        """Replay one frame from buffer ``start`` (0 or 1) on every thread; returns when all are done."""
        self.graphs.run(self.programs[start if len(self.programs) > 1 else 0])

    def close(self) -> None:
        self.graphs.close()
