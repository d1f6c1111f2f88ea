"""Leaderboard tables: which columns each table shows, their formatting, and CSV/JSON/Markdown/LaTeX exports.

A :class:`Table` holds the aggregated numbers (``aggregate.aggregate`` output: mean, ``:std``,
``:n`` per column). CSV / JSON export those numbers (NaN = empty / null, "n/a" kept as text);
Markdown / LaTeX export the rendered cells ("mean ± std", "—" missing, "n/a").
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from leaderboards.aggregate import NA, aggregate, metric_col

MISSING = "—"


@dataclass(frozen=True)
class Col:
    column: str  # aggregated column name
    header: str
    metric: str | None  # metrics.conventions name (footnote), None for counts / cost
    decimals: int = 3


def _img(metric: str, header: str, dec: int, group: str = "all") -> list[Col]:
    tag = "" if group == "all" else (" seen" if group == "seen" else " held-out")
    return [Col(metric_col(metric, p, group), f"{header}{tag} {p[:3]}", metric, dec) for p in ("observed", "future")]


#: the columns a reader compares first (future frames, geometry, the main physical parameter, cost)
MAIN_COLS = [Col("psnr/future", "PSNR↑ fut", "psnr", 2), Col("chamfer/future", "CD↓ fut", "chamfer", 6),
             Col("param_log10_abs/stiffness", "|Δlog10 k|↓", "param_log10_abs", 3),
             Col("param_log10_abs/youngs_modulus", "|Δlog10 E|↓", "param_log10_abs", 3),
             Col("runtime_s", "time (s)", "runtime_s", 2)]
#: the rest of the overview, in the table below the main one
MORE_COLS = [Col("psnr/observed", "PSNR↑ obs", "psnr", 2), *_img("ssim", "SSIM↑", 4), *_img("lpips", "LPIPS↓", 4),
             *_img("iou", "IoU↑", 4), Col("chamfer/observed", "CD↓ obs", "chamfer", 6),
             Col("emd/future", "EMD↓ fut", "emd", 4), Col("tracking_error/future", "Track↓ fut", "tracking_error", 4),
             Col("material_accuracy", "MA↑", "material_accuracy", 3), Col("peak_mem_mb", "peak mem (MiB)", "peak_mem_mb", 0)]
VIEW_COLS = [Col(metric_col(m, "future", g), f"{h} {'seen' if g == 'seen' else 'held-out'}", m, d)
             for m, h, d in (("psnr", "PSNR↑", 2), ("ssim", "SSIM↑", 4), ("lpips", "LPIPS↓", 4), ("iou", "IoU↑", 4))
             for g in ("seen", "held_out")]
BREAKDOWN_COLS = [Col("psnr/future", "PSNR↑ fut", "psnr", 2), Col("ssim/future", "SSIM↑ fut", "ssim", 4),
                  Col("iou/future", "IoU↑ fut", "iou", 4), Col("chamfer/future", "CD↓ fut", "chamfer", 6),
                  Col("tracking_error/future", "Track↓ fut", "tracking_error", 4)]
GEOMETRY_COLS = [Col(metric_col(m, "future"), h, m, d) for m, h, d in (
    ("chamfer", "CD↓", 6), ("chamfer_reconphys", "CD ReconPhys↓", 6), ("chamfer_springgaus_x1e6", "CD×10⁶ Spring-Gaus↓", 2),
    ("chamfer_phystwin_l1", "CD PhysTwin L1↓", 5), ("emd", "EMD↓", 4), ("emd_sq", "EMD²↓", 6),
    ("tracking_error", "Track↓", 4))]
IMAGE_VARIANT_COLS = [Col("psnr/future", "PSNR↑", "psnr", 2), Col("psnr_channel_mean/future", "PSNR ch-mean↑", "psnr_channel_mean", 2),
                      Col("ssim/future", "SSIM (Gauss-11)↑", "ssim", 4), Col("ssim_skimage7/future", "SSIM (skimage-7)↑", "ssim_skimage7", 4),
                      Col("lpips/future", "LPIPS↓", "lpips", 4), Col("iou/future", "IoU↑", "iou", 4)]
COST_TABLE_COLS = [Col("fit_s", "fit (s)", None, 2), Col("predict_s", "predict (s)", None, 2),
                   Col("runtime_s", "total (s)", "runtime_s", 2), Col("peak_mem_mb", "peak mem (MiB)", "peak_mem_mb", 0)]


def _num_text(v: float, decimals: int) -> str:
    return ("∞" if v > 0 else "-∞") if math.isinf(v) else f"{v:.{decimals}f}"


def fmt(mean: Any, std: Any = None, decimals: int = 3, lo: Any = None, hi: Any = None) -> str:
    """``mean [lo, hi]`` (the 95 % bootstrap interval) when given, else ``mean ± std``; "—" for missing,
    "n/a" kept, ∞ for infinities."""
    if isinstance(mean, str):
        return mean
    if mean is None or math.isnan(mean):
        return MISSING
    s = _num_text(mean, decimals)
    if math.isinf(mean):
        return s
    ok = lambda v: v is not None and not isinstance(v, str) and not math.isnan(v)  # noqa: E731
    if ok(lo) and ok(hi):
        return f"{s} [{_num_text(lo, decimals)}, {_num_text(hi, decimals)}]"
    if ok(std) and not math.isinf(std):
        s += f" ± {std:.{decimals}f}"
    return s


@dataclass
class Table:
    slug: str
    title: str
    keys: list[str]  # extra key columns shown before the method (e.g. category)
    cols: list[Col]
    data: pd.DataFrame
    counts: bool = True  # show n / ok / failed
    caption: str = ""
    notes: dict[str, int] = field(default_factory=dict)  # metric -> footnote number

    def header(self) -> list[str]:
        return [*[k.replace("_", " ") for k in self.keys], "Method", *(["n", "ok", "failed", "n/a", "not run"] if self.counts else []),
                *[c.header for c in self.cols]]

    def cells(self) -> list[list[str]]:
        out = []
        for _, r in self.data.iterrows():
            row = [str(r[k]) for k in self.keys] + [str(r["label"])]
            if self.counts:
                row += [str(r["n"]), str(r["ok"]), str(r["failed"]), str(r.get("not_applicable", 0)), str(r.get("not_run", 0))]
            row += [fmt(r.get(c.column, math.nan), r.get(f"{c.column}:std"), c.decimals, r.get(f"{c.column}:lo"),
                        r.get(f"{c.column}:hi")) for c in self.cols]
            out.append(row)
        return out

    def numeric(self) -> pd.DataFrame:
        """The exported numbers: keys, method, counts, and mean / std / n of every shown column."""
        cols = [*self.keys, *[k for k in ("track", "method", "label", "kind") if k not in self.keys],
                *(["n", "ok", "failed", "not_applicable", "not_run"] if self.counts else [])]
        for c in self.cols:
            cols += [c.column, f"{c.column}:std", f"{c.column}:n", f"{c.column}:lo", f"{c.column}:hi"]
        df = self.data.reindex(columns=cols)
        for c in self.cols:
            df[f"{c.column}:n"] = df[f"{c.column}:n"].fillna(0).astype(int)
        return df


def _has_number(col: pd.Series | None) -> bool:
    return col is not None and any(not isinstance(v, str) and not math.isnan(v) for v in col)


def build_tables(samples: pd.DataFrame, track: str) -> list[Table]:
    """Every table of one track's page."""
    s = samples[samples["track"] == track]
    params = sorted({c.split("/", 1)[1] for c in s.columns if c.startswith("param_abs/")})
    pcols = [Col(f"param_abs/{p}", f"|Δ{p}|↓", "param_abs", 4) for p in params] + \
            [Col(f"param_log10_abs/{p}", f"|Δlog10 {p}|↓", "param_log10_abs", 3) for p in params
             if _has_number(s.get(f"param_log10_abs/{p}"))] + \
            [Col("material_accuracy", "MA↑", "material_accuracy", 3)]
    base = aggregate(s)
    t = [Table("main", "Leaderboard", [], MAIN_COLS, base,
               caption="Mean over each method's successful samples with its 95 % bootstrap interval [lo, hi] "
                       "(resampling objects, each object's samples together); n counts every sample; failures are counted, not dropped."),
         Table("more", "More metrics", [], MORE_COLS, base),
         Table("views", "Seen vs held-out views (future frames)", [], VIEW_COLS, base),
         Table("image", "Image metric variants (future frames, all views)", [], IMAGE_VARIANT_COLS, base),
         Table("geometry", "Geometry metric variants (future frames)", [], GEOMETRY_COLS, base),
         Table("physics", "Physical parameters (errors only where method and GT model share the parameter)", [],
               [c for c in pcols if c.column in base or c.column == "material_accuracy"], base),
         Table("by-physics-model", "By GT physics model", ["physics_model"], BREAKDOWN_COLS, aggregate(s, ["physics_model"])),
         Table("by-category", "By object category", ["category"], BREAKDOWN_COLS, aggregate(s, ["category"])),
         Table("cost", "Cost per sample", [], COST_TABLE_COLS, base)]
    for tab in t:
        tab.slug = f"{track}-{tab.slug}"
    return t


def _md_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
        "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}"}


def tex_escape(s: str) -> str:
    """Escape LaTeX special characters; unicode arrows/± become math."""
    out = "".join(_TEX.get(ch, ch) for ch in s)
    for u, t in (("±", r"$\pm$"), ("↑", r"$\uparrow$"), ("↓", r"$\downarrow$"), ("—", "--"), ("∞", r"$\infty$"),
                 ("Δ", r"$\Delta$"), ("⁶", r"$^6$"), ("·", r"$\cdot$")):
        out = out.replace(u, t)
    return out


def to_markdown(table: Table) -> str:
    head = table.header()
    lines = [f"### {_md_escape(table.title)}", "", "| " + " | ".join(map(_md_escape, head)) + " |",
             "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(map(_md_escape, row)) + " |" for row in table.cells()]
    return "\n".join(lines) + "\n"


def to_latex(table: Table) -> str:
    head = table.header()
    n_left = len(table.keys) + 1
    spec = "l" * n_left + "r" * (len(head) - n_left)
    lines = [r"\begin{tabular}{" + spec + "}", r"\toprule", " & ".join(map(tex_escape, head)) + r" \\", r"\midrule"]
    lines += [" & ".join(map(tex_escape, row)) + r" \\" for row in table.cells()]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return f"% {tex_escape(table.title)}\n" + "\n".join(lines) + "\n"


def _json_value(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v.item() if hasattr(v, "item") else v


def export(table: Table, out_dir: Path) -> dict[str, str]:
    """Write ``<slug>.{csv,json,md,tex}`` under ``out_dir``; returns {format: relative file name}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    num = table.numeric()
    files = {f: f"{table.slug}.{f}" for f in ("csv", "json", "md", "tex")}
    num.to_csv(out_dir / files["csv"], index=False, lineterminator="\n")
    records = [{k: _json_value(v) for k, v in r.items()} for r in num.to_dict("records")]
    (out_dir / files["json"]).write_text(json.dumps({"title": table.title, "rows": records}, indent=1, ensure_ascii=False) + "\n")
    (out_dir / files["md"]).write_text(to_markdown(table))
    (out_dir / files["tex"]).write_text(to_latex(table))
    return files
