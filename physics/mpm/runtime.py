"""Taichi runtime: one guarded ``ti.init`` per process (cuda when available, else cpu).

``PHYSRECON_TAICHI_ARCH=cpu|cuda`` forces the backend; ``PHYSRECON_THREADS`` (set by the harness for each
worker) caps its CPU threads. The offline cache is on (the first
autodiff compile of the MPM kernels takes a while; later processes reuse it). If the process
already initialised taichi itself, that runtime is used as is.
"""

from __future__ import annotations

import os
from typing import Any

_ARCH: list[str] = []


def ensure_taichi() -> Any:
    """Import taichi, initialise it once, return the module."""
    import taichi as ti
    from taichi.lang import impl

    if impl.get_runtime().prog is None:
        want = os.environ.get("PHYSRECON_TAICHI_ARCH", "").lower()
        if not want:
            from taichi.lang.misc import is_arch_supported

            want = "cuda" if is_arch_supported(ti.cuda) else "cpu"
        arch = ti.cuda if want == "cuda" else ti.cpu
        from core.processes import worker_threads

        threads = worker_threads()  # the worker's thread share (core.processes.limit_threads)
        ti.init(arch=arch, offline_cache=True, log_level=ti.WARN, random_seed=0, advanced_optimization=os.environ.get("PHYSRECON_TAICHI_OPT", "0") == "1",
                **({"cpu_max_num_threads": int(threads)} if threads else {}))
        _ARCH.append(want)
    return ti


def taichi_arch() -> str:
    """"cpu" / "cuda" once ``ensure_taichi`` ran (or "external" if someone else initialised)."""
    return _ARCH[0] if _ARCH else "external"


def taichi_types(precision: str) -> tuple[Any, Any, Any, Any, Any]:
    """(ti, real, vec3, ivec3, ndarray annotation) for kernels of ``precision`` ("float32" / "float64")."""
    ti = ensure_taichi()
    real = ti.f64 if precision == "float64" else ti.f32
    return ti, real, ti.types.vector(3, real), ti.types.vector(3, ti.i32), ti.types.ndarray()
