"""Statistics behind every comparison on the board: bootstrap intervals, paired differences, rank stability.

All resampling is seeded (``BOOTSTRAP_SEED``, ``N_RESAMPLES``; both recorded on the board) and resamples
*samples* (the unit a benchmark draws), percentile intervals at ``LEVEL``. A paired comparison uses only the
samples both methods scored, resampling their per-sample differences.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

N_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
LEVEL = 0.95
METHOD = (f"percentile bootstrap of the mean over samples, {N_RESAMPLES} resamples, seed {BOOTSTRAP_SEED}, "
          f"{int(LEVEL * 100)} % level; paired: the same over the per-sample differences of the samples both "
          "methods scored")


def _finite(values: Sequence[float]) -> np.ndarray:
    a = np.asarray([v for v in values if v is not None], np.float64)
    return a[np.isfinite(a)]


def _resample_means(x: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n_resamples, len(x)))
    return x[idx].mean(axis=1)


def bootstrap_ci(values: Sequence[float], n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                 level: float = LEVEL) -> tuple[float, float, float]:
    """(mean, lo, hi) of the finite values: the percentile bootstrap interval of their mean.

    One value gives a zero-width interval; none gives NaNs. Infinite values (a PSNR of identical frames)
    are left out of the resampling but make the mean +inf (and the interval [inf, inf] if all are inf)."""
    raw = np.asarray([v for v in values if v is not None], np.float64)
    if raw.size and np.isinf(raw).all():
        m = float(raw.mean())
        return m, m, m
    x = _finite(values)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(raw.mean()) if np.isinf(raw).any() else float(x.mean())
    if x.size == 1:
        return mean, float(x[0]), float(x[0])
    means = _resample_means(x, n_resamples, seed)
    a = (1.0 - level) / 2.0
    return mean, float(np.quantile(means, a)), float(np.quantile(means, 1.0 - a))


@dataclass(frozen=True)
class Paired:
    """A minus B over their common samples."""

    n: int
    mean_diff: float
    lo: float
    hi: float
    wins: int  # samples where A is better than B (by the metric's direction)
    losses: int

    @property
    def separates(self) -> bool:
        """The interval excludes 0: a difference the board marks."""
        return self.n > 1 and (self.lo > 0.0 or self.hi < 0.0)


def paired_difference(a: dict[str, float], b: dict[str, float], higher_is_better: bool,
                      n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED, level: float = LEVEL) -> Paired:
    """Per-sample values of two methods ({sample key: value}) -> their paired mean difference A - B with its
    bootstrap interval, and how often A beats B. Samples missing or non-finite in either are left out."""
    keys = sorted(k for k in a.keys() & b.keys() if np.isfinite(a[k]) and np.isfinite(b[k]))
    d = np.asarray([a[k] - b[k] for k in keys], np.float64)
    if d.size == 0:
        return Paired(0, math.nan, math.nan, math.nan, 0, 0)
    sign = 1.0 if higher_is_better else -1.0
    wins, losses = int((sign * d > 0).sum()), int((sign * d < 0).sum())
    mean, lo, hi = bootstrap_ci(d, n_resamples, seed, level)
    return Paired(int(d.size), mean, lo, hi, wins, losses)


def rank_stability(values: dict[str, dict[str, float]], higher_is_better: bool, n_resamples: int = N_RESAMPLES,
                   seed: int = BOOTSTRAP_SEED) -> dict[str, float]:
    """For each method, the fraction of bootstrap resamples (of the samples every method scored) in which it
    holds the rank it has on all of them. ``values``: {method: {sample key: value}}; an infinite value (a PSNR
    of identical frames) ranks above every finite one."""
    methods = sorted(values)
    keys = sorted(set.intersection(*(set(k for k, v in values[m].items() if not np.isnan(v)) for m in methods))) if methods else []
    if not keys or len(methods) < 2:
        return {m: math.nan for m in methods}
    X = np.asarray([[values[m][k] for k in keys] for m in methods], np.float64)  # (M, S)
    sign = -1.0 if higher_is_better else 1.0  # rank 0 = best
    base = np.argsort(np.argsort(sign * X.mean(1), kind="stable"), kind="stable")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(keys), size=(n_resamples, len(keys)))
    means = X[:, idx].mean(axis=2)  # (M, R)
    ranks = np.argsort(np.argsort(sign * means, axis=0, kind="stable"), axis=0, kind="stable")
    return {m: float((ranks[i] == base[i]).mean()) for i, m in enumerate(methods)}
