"""One frame of forward-only MPM substeps as a taichi compute graph (``ti.graph``): one launch from Python.

A taichi kernel call from Python costs ~0.25-0.33 ms on this CPU (argument packing, then the launch); a frame
of 20 substeps issues 100 of them. ``FrameGraph`` records the engine's own substep calls once (the same
kernels, the same arguments, in the same order: a recording stand-in replaces ``engine.k`` and
``engine.g2p`` while ``engine._substep`` runs) into a ``ti.graph.GraphBuilder``, then ``run()`` replays the
frame from C++. The kernels are the compiled ones, so the bytes are the launches' (tests/physics/test_mpm_scatter.py).
"""

from __future__ import annotations

from typing import Any


class _Recorder:
    """Turns a kernel call into ``GraphBuilder.dispatch`` with symbolic arguments (one name per array, one per
    scalar / vector occurrence; their values go to ``args``)."""

    def __init__(self, ti: Any, builder: Any) -> None:
        self.ti, self.gb = ti, builder
        self.args: dict[str, Any] = {}
        self._arrays: dict[int, Any] = {}
        self._count = 0

    def _symbol(self, value: Any, annotation: Any) -> Any:
        ti, kind = self.ti, self.ti.graph.ArgKind
        if isinstance(value, ti.lang._ndarray.Ndarray):
            if id(value) not in self._arrays:
                name = f"a{len(self._arrays)}"
                dtype = value.dtype
                if hasattr(value, "m"):  # matrix ndarray
                    dtype = ti.types.matrix(value.n, value.m, value.dtype)
                elif hasattr(value, "n"):  # vector ndarray
                    dtype = ti.types.vector(value.n, value.dtype)
                self._arrays[id(value)] = ti.graph.Arg(kind.NDARRAY, name, dtype=dtype, ndim=len(value.shape))
                self.args[name] = value
            return self._arrays[id(value)]
        self._count += 1
        name = f"c{self._count}"
        self.args[name] = value
        vector = isinstance(annotation, ti.lang.matrix.VectorType)
        return ti.graph.Arg(kind.MATRIX if vector else kind.SCALAR, name, dtype=annotation)

    def wrap(self, kernel: Any) -> Any:
        annotations = [a.annotation for a in kernel._primal.arguments]

        def record(*values: Any) -> None:
            self.gb.dispatch(kernel, *[self._symbol(v, a) for v, a in zip(values, annotations)])
        return record


class FrameGraph:
    """``engine.S`` forward-only substeps of ``engine`` (an ``MPMEngine``) as one compiled graph."""

    def __init__(self, engine: Any) -> None:
        from physics.mpm.runtime import ensure_taichi

        ti = ensure_taichi()
        rec = _Recorder(ti, ti.graph.GraphBuilder())
        kernels, g2p = engine.k, engine.g2p
        engine.k = {name: rec.wrap(k) if hasattr(k, "_primal") else k for name, k in kernels.items()}
        engine.g2p = rec.wrap(g2p)
        try:
            for s in range(engine.S):
                engine._substep(s)
        finally:
            engine.k, engine.g2p = kernels, g2p
        self.graph = rec.gb.compile()
        self.args = rec.args

    def run(self) -> None:
        self.graph.run(self.args)
