"""Captured launch sequences replayed on one or several CPU threads (or as one CUDA graph).

Warp runs a CPU kernel launch serially on the thread that issues it. A ``ThreadGraphs`` captures, per
host thread, a graph of launches over that thread's fixed share of the work, with a spin barrier
(``kernels.barrier``) wherever a pass needs the previous pass of every thread; warp's C++ graph replay
releases the GIL, so the threads' graphs run at once. Which thread computes an element never changes
its arithmetic, so results are the same bytes on any thread count. On CUDA there is one graph.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import warp as wp

from physics.spring_mass import kernels as K


def sched_yield_address() -> int:
    """Address of libc's ``sched_yield`` for the barrier kernel's back-off (0 where there is none)."""
    try:
        import ctypes

        return int(ctypes.cast(ctypes.CDLL(None).sched_yield, ctypes.c_void_p).value or 0)
    except (OSError, AttributeError):
        return 0


def share(total: int, part: int, parts: int) -> tuple[int, int]:
    """Contiguous [start, stop) of ``total`` items for ``part`` of ``parts``."""
    return total * part // parts, total * (part + 1) // parts


class ThreadGraphs:
    """Graphs per host thread; ``capture(build)`` -> a program, ``run(program)`` replays it on every thread."""

    def __init__(self, device: str, threads: int, items: int) -> None:
        """``threads`` CPU threads (one on CUDA), at most one per item of the largest share (``items``)."""
        self.device = device
        self.threads = min(max(1, int(threads)), max(1, int(items))) if wp.get_device(device).is_cpu else 1
        self._yield = sched_yield_address()
        self.counter = wp.zeros(1, dtype=wp.int32, device=device)
        self._count = self.counter.numpy() if self.threads > 1 else None  # host view (CPU array)
        self.pool = ThreadPoolExecutor(self.threads - 1) if self.threads > 1 else None

    def capture(self, build: Callable[[int, int, Callable[[int], None] | None], None]) -> list:
        """``build(part, parts, sync)`` issues one thread's launches; ``sync(index)`` (None on one thread)
        is a barrier, its index counting 0, 1, ... within the program."""
        graphs = []
        for part in range(self.threads):
            with wp.ScopedCapture(device=self.device) as cap:
                build(part, self.threads, self._barrier if self.threads > 1 else None)
            graphs.append(cap.graph)
        return graphs

    def _barrier(self, index: int) -> None:
        wp.launch(K.barrier, dim=1, device=self.device,
                  inputs=[self.counter, self.threads * (index + 1), wp.uint64(self._yield)])

    def run(self, graphs: list) -> None:
        """Replay ``graphs`` (one per thread) at once; returns when all are done."""
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
