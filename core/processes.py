"""Child processes that die with their parent, and the CPU-thread share of each worker.

``die_with_parent`` (Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``; elsewhere a watchdog thread) makes a
spawned per-sample process, a pool worker or an external program exit when the process that started it
is killed, even by ``kill -9``: nothing keeps computing (or writing) after `bench` is gone.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from typing import Iterator

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Make this process receive SIGKILL when its parent exits (call first thing in a child)."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before prctl took effect
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="die-with-parent").start()


def kill_with_parent_preexec() -> None:
    """``subprocess`` ``preexec_fn``: the program gets SIGKILL when the process that started it exits (Linux)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def thread_share(workers: int, threads: int | None = None) -> int:
    """Threads per worker: ``threads`` if given, else the CPUs divided among ``workers`` (at least 1)."""
    if threads is not None:
        return max(1, int(threads))
    return max(1, cpu_count() // max(1, int(workers)))


def worker_threads() -> int | None:
    """This worker's thread share as ``limit_threads`` recorded it (``PHYSRECON_THREADS``), or None when unset
    or not a number: the one reader behind the simulators' CPU thread counts."""
    try:
        return max(1, int(os.environ["PHYSRECON_THREADS"]))
    except (KeyError, ValueError):
        return None


#: torch intra-op threads of every GT simulation: its reductions split by thread count, so their float bits depend
#: on it; a fixed count makes a sample the same bytes whatever thread share its worker got
GT_TORCH_THREADS = 1


@contextlib.contextmanager
def torch_threads(n: int = GT_TORCH_THREADS) -> Iterator[None]:
    """Run torch at ``n`` intra-op threads inside the block, the previous count restored after it."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def limit_threads(n: int) -> None:
    """Cap the numeric libraries of this process at ``n`` threads (call before they start their pools)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TI_NUM_THREADS"):
        os.environ[var] = str(n)
    os.environ["PHYSRECON_THREADS"] = str(n)
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(n)
