"""Per track, each run's future PSNR (all views) and Chamfer with 95 % bootstrap intervals resampling objects,
the spread across seeds of `bench run --seeds K` runs, and paired differences against a reference run on the
same samples (over the seed means, and, for seeded runs, seed by seed): the tables of docs/RESULTS.md.

    python probes/compare_runs.py RUN [RUN ...] [--ref static]
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

from core.rundir import expand_runs
from leaderboards.aggregate import collapse_seeds, load_results, sample_table
from leaderboards.paired import objects_of, per_sample
from leaderboards.stats import bootstrap_ci, paired_difference

COLS = (("psnr/future", "future PSNR", 2, True), ("chamfer/future", "future Chamfer m²", 5, False))


def _fmt(m: float, lo: float, hi: float, d: int) -> str:
    return f"{m:.{d}f} [{lo:.{d}f}, {hi:.{d}f}]"


def _signed(m: float, lo: float, hi: float, d: int) -> str:
    text = f"{m:+.{d}f} [{lo:+.{d}f}, {hi:+.{d}f}]"
    return f"**{text}**" if lo > 0 or hi < 0 else text


def _paired_row(label: str, g: pd.DataFrame, ref_label: str, clusters: dict[str, str],
                ref: pd.DataFrame | None = None) -> str:
    """Paired cells of ``label`` (rows of ``g``) against ``ref_label`` (rows of ``ref``, default ``g``)."""
    cells = []
    for col, _h, d, hib in COLS:
        v, r = per_sample(g, col), per_sample(g if ref is None else ref, col)
        p = paired_difference(v.get(label, {}), r.get(ref_label, {}), hib, clusters=clusters)
        cells += [_signed(p.mean_diff, p.lo, p.hi, d), f"{p.wins}/{p.n}"]
    return " | ".join(cells)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--ref", default=None, help="method name the paired differences are taken against")
    a = ap.parse_args()
    raw = sample_table(load_results(expand_runs(a.runs)))
    s, spread = collapse_seeds(raw)
    for track, g in s.groupby("track", sort=False):
        clusters = objects_of(g)
        print(f"\n### {track} (protocol {g['protocol_id'].iloc[0][:12]}; intervals resample objects)")
        print("| method | seeds | n ok / n | future PSNR [95 % CI] | seed std | future Chamfer m² [95 % CI] | seed std |")
        print("|---|---|---|---|---|---|---|")
        for label, h in g.groupby("label", sort=False):
            ok = h[h["status"] == "ok"]
            keys = [f"{r['dataset']}::{r['sample_id']}" for _, r in ok.iterrows()]
            sp = spread[(spread["track"] == track) & (spread["label"] == label)] if not spread.empty else spread
            cells = []
            for col, _h, d, _hib in COLS:
                cells.append(_fmt(*bootstrap_ci(list(ok[col]), clusters=[clusters[k] for k in keys]), d))
                std = float(sp[f"{col}:seed_std"].iloc[0]) if len(sp) else math.nan
                cells.append("—" if math.isnan(std) else f"{std:.{d}f}")
            seeds = int(sp["seeds"].iloc[0]) if len(sp) else 1
            print(f"| {label} | {seeds} | {len(ok)} / {len(h)} | " + " | ".join(cells) + " |")
        if not a.ref:
            continue
        ref = g[g["method"] == a.ref]["label"]
        if ref.empty:
            continue
        ref_label = str(ref.iloc[0])
        print(f"\npaired vs {ref_label} (method minus reference, mean over seeds; wins = samples where the method is "
              "better; **bold**: the interval excludes 0):")
        print("| method | Δ future PSNR [95 % CI] | wins | Δ future Chamfer [95 % CI] | wins |")
        print("|---|---|---|---|---|")
        for label in dict.fromkeys(g["label"]):
            if label != ref_label:
                print(f"| {label} | {_paired_row(label, g, ref_label, clusters)} |")
        rt = raw[(raw["track"] == track) & raw["seed_group"].notna()]
        if rt.empty:
            continue
        print(f"\nseed by seed vs {ref_label}:")
        print("| method | seed | Δ future PSNR [95 % CI] | wins | Δ future Chamfer [95 % CI] | wins |")
        print("|---|---|---|---|---|---|")
        base = g[g["label"] == ref_label]
        for (label, seed), h in rt.groupby(["label", "seed"], sort=False):
            if label != ref_label:
                print(f"| {label} | {int(seed)} | {_paired_row(label, h, ref_label, clusters, base)} |")


if __name__ == "__main__":
    main()
