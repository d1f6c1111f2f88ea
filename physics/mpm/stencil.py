"""The quadratic B-spline stencil of MLS-MPM (Hu et al. 2018), one definition shared by every kernel set."""
from __future__ import annotations

from typing import Any


def make_stencil(ti: Any, real: Any) -> Any:
    """A ``ti.func`` ``stencil(xp, lo, inv_dx, gmax) -> (base, fx, w0, w1, w2)``: the base node of a particle's
    3x3x3 stencil (clamped to the grid), its fractional offset and the per-axis quadratic B-spline weights."""

    @ti.func
    def stencil(xp, lo, inv_dx, gmax):
        X = (xp - lo) * inv_dx
        base = ti.cast(ti.floor(X - 0.5), ti.i32)
        base = ti.max(ti.min(base, gmax), 0)
        fx = X - ti.cast(base, real)
        w0 = 0.5 * (1.5 - fx) ** 2
        w1 = 0.75 - (fx - 1.0) ** 2
        w2 = 0.5 * (fx - 0.5) ** 2
        return base, fx, w0, w1, w2

    return stencil
