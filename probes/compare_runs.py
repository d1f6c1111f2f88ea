"""Per track, each run's future PSNR (all views) and Chamfer with 95 % bootstrap intervals, and paired
differences against a reference run on the same samples: the tables of docs/RESULTS.md.

    python probes/compare_runs.py RUN [RUN ...] [--ref oracle]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from core.rundir import expand_runs
from leaderboards.aggregate import collapse_seeds, load_results, sample_table
from leaderboards.paired import per_sample
from leaderboards.stats import bootstrap_ci, paired_difference


def _fmt(m: float, lo: float, hi: float, d: int) -> str:
    return f"{m:.{d}f} [{lo:.{d}f}, {hi:.{d}f}]"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--ref", default=None, help="method name the paired differences are taken against")
    a = ap.parse_args()
    s, _ = collapse_seeds(sample_table(load_results(expand_runs(a.runs))))
    for track, g in s.groupby("track", sort=False):
        print(f"\n### {track} (protocol {g['protocol_id'].iloc[0][:12]})")
        print("| method | n ok / n | future PSNR [95 % CI] | future Chamfer m² [95 % CI] |")
        print("|---|---|---|---|")
        for label, h in g.groupby("label", sort=False):
            ok = h[h["status"] == "ok"]
            p = bootstrap_ci(list(ok["psnr/future"]))
            c = bootstrap_ci(list(ok["chamfer/future"]))
            print(f"| {label} | {len(ok)} / {len(h)} | {_fmt(*p, 2)} | {_fmt(*c, 5)} |")
        if a.ref:
            ref = g[g["method"] == a.ref]["label"]
            if ref.empty:
                continue
            ref_label = str(ref.iloc[0])
            print(f"\npaired vs {ref_label} (method minus reference; wins = samples where the method is better):")
            print("| method | n | Δ future PSNR [95 % CI] | wins | Δ future Chamfer [95 % CI] | wins |")
            print("|---|---|---|---|---|---|")
            vp, vc = per_sample(g, "psnr/future"), per_sample(g, "chamfer/future")
            for label in dict.fromkeys(g["label"]):
                if label == ref_label:
                    continue
                dp = paired_difference(vp.get(label, {}), vp.get(ref_label, {}), True)
                dc = paired_difference(vc.get(label, {}), vc.get(ref_label, {}), False)
                print(f"| {label} | {dp.n} | {_fmt(dp.mean_diff, dp.lo, dp.hi, 2)} | {dp.wins} | "
                      f"{_fmt(dc.mean_diff, dc.lo, dc.hi, 5)} | {dc.wins} |")


if __name__ == "__main__":
    main()
