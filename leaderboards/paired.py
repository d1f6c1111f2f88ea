"""Method x method paired comparisons of one track: mean difference (row minus column) over the samples both
scored, its bootstrap interval, and the win count. A difference is marked only when its interval excludes 0."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from leaderboards.stats import METHOD, Paired, paired_difference, rank_stability

#: (column, header, decimals, higher is better) of the paired tables
PAIRED_METRICS = (("psnr/future", "future PSNR (dB)", 2, True), ("chamfer/future", "future Chamfer (m²)", 5, False))


def per_sample(s: pd.DataFrame, column: str) -> dict[str, dict[str, float]]:
    """{method label: {sample key: value}} over each method's successful samples (key: dataset + sample id)."""
    out: dict[str, dict[str, float]] = {}
    for _, r in s[s["status"] == "ok"].iterrows():
        v = r.get(column)
        if v is None or isinstance(v, str) or (isinstance(v, float) and math.isnan(v)):
            continue
        out.setdefault(str(r["label"]), {})[f"{r['dataset']}::{r['sample_id']}"] = float(v)
    return out


def objects_of(s: pd.DataFrame) -> dict[str, str]:
    """{sample key: its object (dataset + object id)}: the cluster the bootstrap resamples (leaderboards.stats)."""
    return {f"{r['dataset']}::{r['sample_id']}": f"{r['dataset']}::{r['object_id']}" for _, r in s.iterrows()}


def rank_held(s: pd.DataFrame, column: str = "psnr/future", higher_is_better: bool = True) -> dict[str, float]:
    """Per method label: the fraction of bootstrap resamples (of objects) in which it holds its rank (common samples)."""
    vals = {m: {k: v for k, v in d.items() if not math.isnan(v)} for m, d in per_sample(s, column).items()}
    return rank_stability(vals, higher_is_better, clusters=objects_of(s)) if len(vals) > 1 else {m: math.nan for m in vals}


@dataclass
class PairedTable:
    slug: str
    title: str
    methods: list[str]
    cells: dict[tuple[str, str], Paired]
    decimals: int
    caption: str = ""
    files: dict[str, str] = field(default_factory=dict)

    def text(self, a: str, b: str) -> tuple[str, bool]:
        """The cell of row ``a``, column ``b``: "+d [lo, hi] w/n" and whether it separates."""
        if a == b:
            return "", False
        p = self.cells.get((a, b))
        if p is None or p.n == 0:
            return "—", False
        d = self.decimals
        return f"{p.mean_diff:+.{d}f} [{p.lo:+.{d}f}, {p.hi:+.{d}f}] {p.wins}/{p.n}", p.separates

    def long_form(self) -> pd.DataFrame:
        rows = [{"row": a, "column": b, "n": p.n, "mean_diff": p.mean_diff, "lo": p.lo, "hi": p.hi, "wins": p.wins,
                 "losses": p.losses, "separates": p.separates} for (a, b), p in self.cells.items()]
        return pd.DataFrame(rows)

    def export(self, out_dir: Path) -> dict[str, str]:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.files = {"csv": f"{self.slug}.csv"}
        self.long_form().to_csv(out_dir / self.files["csv"], index=False, lineterminator="\n")
        return self.files

    def to_markdown(self) -> str:
        head = ["row − column", *self.methods]
        lines = [f"### {self.title}", "", "| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
        for a in self.methods:
            cells = []
            for b in self.methods:
                t, sep = self.text(a, b)
                cells.append(f"**{t}**" if sep else t)
            lines.append("| " + " | ".join([a, *cells]) + " |")
        return "\n".join(lines) + "\n"


def build_paired(s: pd.DataFrame, track: str) -> list[PairedTable]:
    """The paired tables of one track's samples ``s`` (one per metric of ``PAIRED_METRICS``)."""
    out = []
    for col, header, dec, hib in PAIRED_METRICS:
        vals = per_sample(s, col)
        methods = list(dict.fromkeys(str(label) for label in s["label"] if str(label) in vals))
        objects = objects_of(s)
        cells = {(a, b): paired_difference(vals[a], vals[b], hib, clusters=objects) for a in methods for b in methods if a != b}
        better = "higher" if hib else "lower"
        out.append(PairedTable(f"{track}-paired-{col.split('/')[0]}", f"Paired differences — {header}", methods, cells, dec,
                               caption=(f"Row minus column over the samples both scored ({better} is better): mean "
                                        f"difference [95 % interval] and the row's wins / n. Bold: the interval "
                                        f"excludes 0. {METHOD}.")))
    return out


def paired_view(t: PairedTable) -> dict[str, Any]:
    """Template context of a paired table."""
    rows = [{"label": a, "cells": [dict(zip(("text", "sep"), t.text(a, b))) for b in t.methods]} for a in t.methods]
    return {"slug": t.slug, "title": t.title, "caption": t.caption, "files": t.files, "methods": t.methods, "rows": rows}
