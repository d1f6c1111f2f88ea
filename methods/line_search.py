"""Forward-only line searches of a method's photometric loss (shared by ReconPhys and Vid2Sim).

Bench additions: a coordinate search over parameters normalised to [0, 1] of their ranges, with a
cache (a search revisits its current point) and divergence counted as +inf instead of stopping it.
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def coordinate_search(loss, u: np.ndarray, coords: tuple[int, ...], n: int, tol: float = 0.0,
                      span: float | None = None) -> np.ndarray:
    """Two-level coordinate line search of ``loss`` over u in [0, 1]^d: an n-point grid per coordinate,
    then 5 points across the best cell. The grid covers [0, 1], or u_i +- ``span`` when given (a local
    search around a prediction). A coordinate moves only if the loss drops by more than ``tol``, so one
    the video does not constrain (a flat loss profile) stays where it started."""
    if span is None:
        coarse, width = (lambda c: np.linspace(0.5 / n, 1 - 0.5 / n, n)), 1.0 / n
    else:
        coarse, width = (lambda c: c + float(span) * np.linspace(-1.0, 1.0, n)), 2.0 * float(span) / max(n - 1, 1)
    for values in (coarse, lambda c: c + width * np.linspace(-0.5, 0.5, 5)):
        for i in coords:
            cand = np.clip(values(u[i]), 0.0, 1.0)
            trials = [np.where(np.arange(len(u)) == i, c, u) for c in cand]
            best = int(np.argmin([loss(t) for t in trials]))
            if loss(trials[best]) < loss(u) - float(tol):
                u = trials[best]
    return u


def memoized_loss(rollout: Callable[[np.ndarray], float]) -> tuple[Callable[[np.ndarray], float], dict]:
    """(``rollout`` cached on u rounded to 1e-6, the cache): a line search revisits its current point,
    and a diverged rollout (``SimulationDiverged``) costs +inf instead of stopping the search."""
    from physics.errors import SimulationDiverged

    cache: dict[tuple, float] = {}

    def loss(u: np.ndarray) -> float:
        key = tuple(np.round(u, 6))
        if key not in cache:
            try:
                cache[key] = rollout(u)
            except SimulationDiverged:
                cache[key] = float("inf")
        return cache[key]

    return loss, cache
