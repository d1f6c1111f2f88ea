"""Statistics behind every comparison on the board: bootstrap intervals, paired differences, rank stability.

All resampling is seeded (``BOOTSTRAP_SEED``, ``N_RESAMPLES``; both recorded on the board), percentile
intervals at ``LEVEL``. The unit resampled is the *object* (a cluster bootstrap): a dataset draws objects and
gives each several samples (the v1 test split: 3 per object), and samples of one object are not independent, so
resampling samples would make the intervals too narrow. Given no clusters (or one sample per object) it is the
plain bootstrap over samples. A paired comparison uses only the samples both methods scored, resampling their
per-sample differences by object.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

N_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
LEVEL = 0.95
METHOD = (f"percentile bootstrap of the mean over samples resampling objects (each object's samples together), "
          f"{N_RESAMPLES} resamples, seed {BOOTSTRAP_SEED}, {int(LEVEL * 100)} % level; paired: the same over the "
          "per-sample differences of the samples both methods scored")


def _finite(values: Sequence[float]) -> np.ndarray:
    a = np.asarray([v for v in values if v is not None], np.float64)
    return a[np.isfinite(a)]


def _cluster_index(groups: np.ndarray) -> np.ndarray:
    """Cluster number of each entry, clusters numbered in order of first appearance (so one sample per cluster
    draws exactly what the plain bootstrap draws)."""
    _, first, inv = np.unique(groups, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inv.reshape(-1)]


def _resample_means(x: np.ndarray, n_resamples: int, seed: int, groups: np.ndarray | None = None) -> np.ndarray:
    """Means of ``n_resamples`` bootstrap resamples of ``x``: of its entries, or of its ``groups`` (cluster
    labels, one per entry: a resample draws as many clusters as there are, with replacement, and averages every
    entry of the clusters drawn)."""
    rng = np.random.default_rng(seed)
    if groups is None or len(np.unique(groups)) == len(x):
        idx = rng.integers(0, len(x), size=(n_resamples, len(x)))
        return x[idx].mean(axis=1)
    inv = _cluster_index(groups)
    sums, counts = np.bincount(inv, weights=x), np.bincount(inv).astype(np.float64)
    idx = rng.integers(0, len(sums), size=(n_resamples, len(sums)))
    return sums[idx].sum(axis=1) / counts[idx].sum(axis=1)


def bootstrap_ci(values: Sequence[float], n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                 level: float = LEVEL, clusters: Sequence[str] | None = None) -> tuple[float, float, float]:
    """(mean, lo, hi) of the finite values: the percentile bootstrap interval of their mean, resampling
    ``clusters`` (one label per value, e.g. the object id) when given, else the values.

    One value (or one cluster) gives a zero-width interval; none gives NaNs. Infinite values (a PSNR of identical
    frames) are left out of the resampling but make the mean +inf (and the interval [inf, inf] if all are inf)."""
    vals = [(v, None if clusters is None else clusters[i]) for i, v in enumerate(values) if v is not None]
    raw = np.asarray([v for v, _ in vals], np.float64)
    if raw.size and np.isinf(raw).all():
        m = float(raw.mean())
        return m, m, m
    fin = np.isfinite(raw)
    x = raw[fin]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(raw.mean()) if np.isinf(raw).any() else float(x.mean())
    groups = None if clusters is None else np.asarray([str(c) for (_, c), f in zip(vals, fin) if f])
    if x.size == 1:
        return mean, float(x[0]), float(x[0])
    if groups is not None and len(np.unique(groups)) == 1:  # one object: nothing to resample
        return mean, mean, mean
    means = _resample_means(x, n_resamples, seed, groups)
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
                      n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED, level: float = LEVEL,
                      clusters: dict[str, str] | None = None) -> Paired:
    """Per-sample values of two methods ({sample key: value}) -> their paired mean difference A - B with its
    bootstrap interval (resampling ``clusters[key]``, the sample's object, when given), and how often A beats B.
    Samples missing or non-finite in either are left out."""
    keys = sorted(k for k in a.keys() & b.keys() if np.isfinite(a[k]) and np.isfinite(b[k]))
    d = np.asarray([a[k] - b[k] for k in keys], np.float64)
    if d.size == 0:
        return Paired(0, math.nan, math.nan, math.nan, 0, 0)
    sign = 1.0 if higher_is_better else -1.0
    wins, losses = int((sign * d > 0).sum()), int((sign * d < 0).sum())
    mean, lo, hi = bootstrap_ci(d, n_resamples, seed, level, None if clusters is None else [clusters[k] for k in keys])
    return Paired(int(d.size), mean, lo, hi, wins, losses)


def rank_stability(values: dict[str, dict[str, float]], higher_is_better: bool, n_resamples: int = N_RESAMPLES,
                   seed: int = BOOTSTRAP_SEED, clusters: dict[str, str] | None = None) -> dict[str, float]:
    """For each method, the fraction of bootstrap resamples (of the samples every method scored; resampling
    ``clusters[key]``, the objects, when given) in which it holds the rank it has on all of them. ``values``:
    {method: {sample key: value}}; an infinite value (a PSNR of identical frames) ranks above every finite one."""
    methods = sorted(values)
    keys = sorted(set.intersection(*(set(k for k, v in values[m].items() if not np.isnan(v)) for m in methods))) if methods else []
    if not keys or len(methods) < 2:
        return {m: math.nan for m in methods}
    X = np.asarray([[values[m][k] for k in keys] for m in methods], np.float64)  # (M, S)
    sign = -1.0 if higher_is_better else 1.0  # rank 0 = best
    base = np.argsort(np.argsort(sign * X.mean(1), kind="stable"), kind="stable")
    rng = np.random.default_rng(seed)
    groups = None if clusters is None else np.asarray([str(clusters[k]) for k in keys])
    if groups is None or len(np.unique(groups)) == len(keys):
        idx = rng.integers(0, len(keys), size=(n_resamples, len(keys)))
        means = X[:, idx].mean(axis=2)  # (M, R)
    else:  # resample objects: per-object sums and counts (inf stays inf: it ranks above every finite value)
        inv = _cluster_index(groups)
        counts = np.bincount(inv).astype(np.float64)  # (C,)
        with np.errstate(invalid="ignore"):
            sums = np.stack([np.bincount(inv, weights=row) for row in X])  # (M, C)
        idx = rng.integers(0, len(counts), size=(n_resamples, len(counts)))
        means = sums[:, idx].sum(axis=2) / counts[idx].sum(axis=1)[None]  # (M, R)
    ranks = np.argsort(np.argsort(sign * means, axis=0, kind="stable"), axis=0, kind="stable")
    return {m: float((ranks[i] == base[i]).mean()) for i, m in enumerate(methods)}
