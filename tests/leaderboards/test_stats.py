"""Bootstrap intervals against closed forms, the paired table on a hand-built case, rank stability."""
from __future__ import annotations

import math

import numpy as np
import pytest

from leaderboards.stats import bootstrap_ci, paired_difference, rank_stability


def test_bootstrap_interval_covers_the_mean_at_the_stated_rate():
    """Normal samples (n = 40): the 95 % interval covers the true mean in ~95 % of 400 seeded datasets, and its
    half-width matches the normal closed form 1.96 sigma / sqrt(n) within 10 %."""
    rng = np.random.default_rng(7)
    n, mu, sigma, covered, widths = 40, 3.0, 2.0, 0, []
    for i in range(400):
        x = rng.normal(mu, sigma, n)
        m, lo, hi = bootstrap_ci(x, n_resamples=1000, seed=i)
        assert m == pytest.approx(x.mean())
        covered += lo <= mu <= hi
        widths.append((hi - lo) / 2)
    assert 0.91 <= covered / 400 <= 0.98  # bootstrap percentile intervals run slightly narrow at n = 40
    assert np.mean(widths) == pytest.approx(1.96 * sigma / math.sqrt(n), rel=0.1)


def test_bootstrap_edge_cases_and_determinism():
    assert bootstrap_ci([2.0]) == (2.0, 2.0, 2.0)
    assert all(math.isnan(v) for v in bootstrap_ci([]))
    assert bootstrap_ci([math.inf, math.inf]) == (math.inf, math.inf, math.inf)
    m, lo, hi = bootstrap_ci([1.0, 2.0, math.inf, 3.0])
    assert m == math.inf and 1.0 <= lo <= hi <= 3.0  # +inf (identical frames) in the mean, not in the spread
    x = np.random.default_rng(0).normal(size=30)
    assert bootstrap_ci(x, seed=5) == bootstrap_ci(x, seed=5)


def test_paired_table_hand_case():
    a = {"s1": 20.0, "s2": 22.0, "s3": 21.0, "s4": 25.0, "only_a": 99.0}
    b = {"s1": 19.0, "s2": 21.0, "s3": 20.0, "s4": 24.0, "only_b": 0.0}
    p = paired_difference(a, b, higher_is_better=True)
    assert (p.n, p.mean_diff, p.lo, p.hi, p.wins, p.losses) == (4, 1.0, 1.0, 1.0, 4, 0)  # every difference is 1
    assert p.separates
    q = paired_difference(a, {"s1": 21.0, "s2": 21.0, "s3": 22.0, "s4": 24.0}, higher_is_better=True)
    assert q.mean_diff == pytest.approx(0.0) and q.lo < 0 < q.hi and not q.separates and (q.wins, q.losses) == (2, 2)
    lower = paired_difference({"s": 0.1, "t": 0.2}, {"s": 0.3, "t": 0.5}, higher_is_better=False)
    assert lower.mean_diff == pytest.approx(-0.25) and lower.wins == 2  # smaller Chamfer wins


def test_rank_stability():
    rng = np.random.default_rng(0)
    keys = [f"s{i}" for i in range(50)]
    far = {"a": {k: 30 + rng.normal() for k in keys}, "b": {k: 10 + rng.normal() for k in keys}}
    assert rank_stability(far, higher_is_better=True) == {"a": 1.0, "b": 1.0}
    a = {k: float(rng.normal()) for k in keys}
    tie = {"a": a, "b": {k: a[k] + (1.0 if i % 2 else -1.0) for i, k in enumerate(keys)}}  # same mean, noisy order
    st = rank_stability(tie, higher_is_better=True)
    assert 0.35 < st["a"] < 0.65 and st["a"] == pytest.approx(st["b"])


def test_cluster_bootstrap_resamples_objects_not_samples():
    """Three identical samples per object carry one object's worth of information: resampling objects must give
    exactly the plain bootstrap of the per-object values, and the naive bootstrap over samples is ~sqrt(3) too
    narrow."""
    from leaderboards.stats import bootstrap_ci, paired_difference, rank_stability

    u = np.random.default_rng(1).normal(0.0, 1.0, 12)
    x, objs = np.repeat(u, 3), np.repeat([f"o{i}" for i in range(12)], 3)
    m_obj, lo_obj, hi_obj = bootstrap_ci(x, clusters=list(objs))
    m_ref, lo_ref, hi_ref = bootstrap_ci(u)
    np.testing.assert_allclose([m_obj, lo_obj, hi_obj], [m_ref, lo_ref, hi_ref], rtol=1e-12, atol=1e-12)
    _, lo_naive, hi_naive = bootstrap_ci(x)
    assert 1.4 < (hi_obj - lo_obj) / (hi_naive - lo_naive) < 2.1
    assert bootstrap_ci(x[:3], clusters=list(objs[:3]))[1:] == (u[0], u[0])  # one object: no spread to resample
    # paired differences and rank stability resample the same units
    a = {f"s{i:03d}": float(v) for i, v in enumerate(x)}  # keys sort in object order, as the references' do
    b = {f"s{i:03d}": 0.0 for i in range(len(x))}
    cl = {f"s{i:03d}": str(o) for i, o in enumerate(objs)}
    p = paired_difference(a, b, higher_is_better=True, clusters=cl)
    np.testing.assert_allclose([p.mean_diff, p.lo, p.hi], [m_ref, lo_ref, hi_ref], rtol=1e-12, atol=1e-12)
    keys = [f"{i:02d}" for i in range(12)]
    ref = rank_stability({"A": dict(zip(keys, u)), "B": dict.fromkeys(keys, 0.0)}, True)
    assert rank_stability({"A": a, "B": b}, True, clusters=cl) == ref
