"""Aggregation: golden CSV from fixed run dirs, failures counted, n/a and missing kept apart."""
from __future__ import annotations

import math

import pandas as pd

from leaderboards.aggregate import NA, aggregate, failures, load_results, mean_std, method_table, sample_table
from leaderboards.site import build_site

GOLDEN_COLS = ["track", "method", "label", "kind", "n", "ok", "failed", "psnr/observed", "psnr/future", "psnr/future:std",
               "psnr/future:n", "psnr/future@held_out", "chamfer/future", "lpips/future", "param_abs/stiffness",
               "param_log10_abs/stiffness", "param_log10_abs/damping", "material_accuracy", "runtime_s"]
GOLDEN = """\
track,method,label,kind,n,ok,failed,psnr/observed,psnr/future,psnr/future:std,psnr/future:n,psnr/future@held_out,chamfer/future,lpips/future,param_abs/stiffness,param_log10_abs/stiffness,param_log10_abs/damping,material_accuracy,runtime_s
freefall,alpha,Alpha,method,3,2,1,inf,21.0,1.0,2,18.5,0.003,,20.0,0.1,n/a,0.5,3.0
freefall,beta,Beta,baseline,3,3,0,40.0,16.0,0.816496580927726,3,15.0,0.02,,n/a,n/a,n/a,n/a,1.0
freefall,<script>alert(1)</script>,<script>alert('x')</script> & co,method,1,1,0,25.0,21.0,0.0,1,20.0,0.003,,n/a,n/a,n/a,n/a,3.0
transfer,alpha,Alpha,method,1,1,0,28.0,19.0,0.0,1,18.0,0.005,,5.0,0.02,n/a,1.0,3.0
"""
GOLDEN_PHYSICS = """\
track,method,label,kind,n,ok,failed,not_applicable,not_run,param_abs/damping,param_abs/damping:std,param_abs/damping:n,param_abs/damping:lo,param_abs/damping:hi,param_abs/stiffness,param_abs/stiffness:std,param_abs/stiffness:n,param_abs/stiffness:lo,param_abs/stiffness:hi,param_log10_abs/stiffness,param_log10_abs/stiffness:std,param_log10_abs/stiffness:n,param_log10_abs/stiffness:lo,param_log10_abs/stiffness:hi,material_accuracy,material_accuracy:std,material_accuracy:n,material_accuracy:lo,material_accuracy:hi
freefall,alpha,Alpha,method,3,2,1,0,0,0.2,0.09999999999999999,2,0.1,0.3,20.0,10.0,2,10.0,30.0,0.1,0.049999999999999996,2,0.05,0.15,0.5,0.5,2,0.0,1.0
freefall,beta,Beta,baseline,3,3,0,0,0,n/a,,0,,,n/a,,0,,,n/a,,0,,,n/a,,0,,
freefall,<script>alert(1)</script>,<script>alert('x')</script> & co,method,1,1,0,0,0,n/a,,0,,,n/a,,0,,,n/a,,0,,,n/a,,0,,
"""


def test_golden_leaderboard_csv(runs, tmp_path):
    table = method_table(sample_table(load_results(runs)))
    assert table[GOLDEN_COLS].to_csv(index=False, lineterminator="\n") == GOLDEN
    build_site(runs, tmp_path / "site")
    assert (tmp_path / "site" / "leaderboard.csv").read_text() == table.to_csv(index=False, lineterminator="\n")
    assert (tmp_path / "site" / "tables" / "freefall-physics.csv").read_text() == GOLDEN_PHYSICS


def test_failed_sample_is_a_counted_row_not_dropped(runs):
    samples = sample_table(load_results(runs))
    alpha = samples[(samples["method"] == "alpha") & (samples["track"] == "freefall")]
    assert len(alpha) == 3 and list(alpha["status"]) == ["ok", "ok", "failed"]
    assert math.isnan(alpha.iloc[2]["psnr/future"]) and math.isnan(alpha.iloc[2]["runtime_s"])
    f = failures(samples)
    assert list(f["sample_id"]) == ["s2"] and "timeout" in f.iloc[0]["reason"]
    by_cat = aggregate(samples[samples["track"] == "freefall"], ["category"])
    cube_alpha = by_cat[(by_cat["category"] == "cube") & (by_cat["method"] == "alpha")].iloc[0]
    assert (cube_alpha["n"], cube_alpha["ok"], cube_alpha["failed"]) == (2, 1, 1)
    assert list(by_cat["category"]) == sorted(by_cat["category"])


def test_na_stays_na_and_missing_stays_missing(runs):
    samples = sample_table(load_results(runs))
    beta = samples[samples["method"] == "beta"]
    assert (beta["param_abs/stiffness"] == NA).all() and (beta["material_accuracy"] == NA).all()
    assert beta["lpips/future"].isna().all()  # LPIPS unavailable -> missing, not 0 and not n/a
    table = method_table(samples)
    assert (table["param_abs/stiffness"] != 0).all()


def test_mean_std_rules():
    assert mean_std(pd.Series([NA, NA])) == (NA, mean_std(pd.Series([NA]))[1], 0)
    m, s, n = mean_std(pd.Series([NA, 1.0, 3.0, math.nan]))
    assert (m, s, n) == (2.0, 1.0, 2)
    m, s, n = mean_std(pd.Series([math.inf, 10.0]))
    assert m == math.inf and math.isnan(s) and n == 2
    m, s, n = mean_std(pd.Series([math.nan], dtype=float))
    assert math.isnan(m) and n == 0
