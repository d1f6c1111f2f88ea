"""Captured frame graphs of the forward substeps, replayed on one or several CPU threads.

Warp runs a CPU kernel launch serially on the thread that issues it, so a single rollout uses one
core. Here one frame's substeps (spring pass, then the fused gather + integrate pass) are captured
once into a graph per host thread (warp's CPU graph replay runs the recorded launches in C++), each
graph over a fixed contiguous share of the springs and of the particles, with a spin barrier kernel
(``kernels.barrier``) after each pass. The replays release the GIL, so ``threads`` graphs run at once.

Same bytes on any thread count: every spring force and every particle update is computed by the same
arithmetic as the single-launch kernels, each particle sums its springs in its CSR order, and the
partition only decides which thread does a given element. On CUDA the frame is one CUDA graph
(``threads`` is ignored there).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import warp as wp


def default_threads() -> int:
    """Threads for a CPU rollout: the worker's thread share (``core.processes.worker_threads``), else 1."""
    from core.processes import worker_threads

    return worker_threads() or 1


def sched_yield_address() -> int:
    """Address of libc's ``sched_yield`` for the barrier kernel's back-off (0 where there is none)."""
    try:
        import ctypes

        return int(ctypes.cast(ctypes.CDLL(None).sched_yield, ctypes.c_void_p).value or 0)
    except (OSError, AttributeError):
        return 0


def _share(total: int, part: int, parts: int) -> tuple[int, int]:
    """Contiguous [start, stop) of ``total`` items for ``part`` of ``parts``."""
    return total * part // parts, total * (part + 1) // parts


class FrameReplay:
    """Graphs of one frame (``engine.S`` fused substeps) per start buffer and per thread."""

    def __init__(self, engine, X, V, F, ctrl, threads: int) -> None:
        self.eng = engine
        self.threads = max(1, int(threads)) if wp.get_device(engine.device).is_cpu else 1
        self.threads = min(self.threads, max(1, engine.n))
        self._yield = sched_yield_address()
        self.counter = wp.zeros(1, dtype=wp.int32, device=engine.device)
        self._count = self.counter.numpy() if self.threads > 1 else None  # host view (CPU array)
        starts = (0,) if engine.S % 2 == 0 else (0, 1)
        self.graphs = {st: [self._capture(X, V, F, ctrl, st, p) for p in range(self.threads)] for st in starts}
        self.pool = ThreadPoolExecutor(self.threads - 1) if self.threads > 1 else None

    def _capture(self, X, V, F, ctrl, start: int, part: int):
        eng, T = self.eng, self.threads
        s0, s1 = _share(eng.s, part, T)
        n0, n1 = _share(eng.n, part, T)
        with wp.ScopedCapture(device=eng.device) as cap:
            cur = start
            for s in range(eng.S):
                eng._substep(0, s, X[cur], V[cur], F[0], None, X[1 - cur], V[1 - cur], fused=True, ctrl=ctrl,
                             springs=(s0, s1), particles=(n0, n1),
                             sync=self._barrier if T > 1 else None)
                cur = 1 - cur
        return cap.graph

    def _barrier(self, index: int) -> None:
        wp.launch(self.eng.kern["barrier"], dim=1, device=self.eng.device,
                  inputs=[self.counter, self.threads * (index + 1), wp.uint64(self._yield)])

    def run(self, start: int) -> None:
        """Replay one frame from buffer ``start`` (0 or 1) on every thread; returns when all are done."""
        graphs = self.graphs[start if len(self.graphs) > 1 else 0]
        if self.pool is None:
            wp.capture_launch(graphs[0])
            return
        self._count[0] = 0
        futures = [self.pool.submit(wp.capture_launch, g) for g in graphs[1:]]
        wp.capture_launch(graphs[0])
        for f in futures:
            f.result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None

    def __del__(self) -> None:  # pragma: no cover - interpreter shutdown order
        try:
            self.close()
        except Exception:
            pass
