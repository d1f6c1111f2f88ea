"""Dependency-free inline SVG plots (metric vs frame, runtime vs accuracy). All text is escaped."""
from __future__ import annotations

import math
from html import escape
from typing import Sequence

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
_W, _H, _L, _R, _T, _B = 420, 240, 58, 12, 26, 36


def _finite(v: float | None) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    return [lo + (hi - lo) * i / n for i in range(n + 1)]


def _num(v: float) -> str:
    a = abs(v)
    return f"{v:.2e}" if a and (a < 1e-3 or a >= 1e4) else f"{v:.3g}"


def _frame(title: str, xlabel: str, ylabel: str, xt: list[tuple[float, str]], yt: list[tuple[float, str]]) -> list[str]:
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" '
           f'font-family="sans-serif" font-size="10" role="img"><title>{escape(title)}</title>',
           f'<rect x="{_L}" y="{_T}" width="{_W - _L - _R}" height="{_H - _T - _B}" fill="none" stroke="#999"/>',
           f'<text x="{_W / 2}" y="14" text-anchor="middle" font-size="12">{escape(title)}</text>',
           f'<text x="{_W / 2}" y="{_H - 4}" text-anchor="middle">{escape(xlabel)}</text>',
           f'<text x="12" y="{_H / 2}" text-anchor="middle" transform="rotate(-90 12 {_H / 2})">{escape(ylabel)}</text>']
    for x, lab in xt:
        out.append(f'<text x="{x:.1f}" y="{_H - _B + 12}" text-anchor="middle">{escape(lab)}</text>')
    for y, lab in yt:
        out.append(f'<line x1="{_L}" x2="{_W - _R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                   f'<text x="{_L - 4}" y="{y + 3:.1f}" text-anchor="end">{escape(lab)}</text>')
    return out


def _range(vals: list[float]) -> tuple[float, float]:
    lo, hi = min(vals), max(vals)
    if hi == lo:
        lo, hi = lo - (abs(lo) or 1.0) * 0.5, hi + (abs(hi) or 1.0) * 0.5
    return lo, hi


def line_plot(series: dict[str, Sequence[float | None]], title: str, ylabel: str, split: int | None = None) -> str:
    """One line per series over frames; non-finite values (e.g. PSNR = ∞) leave gaps.
    ``split``: first future frame, drawn as a dashed vertical line."""
    vals = [float(v) for s in series.values() for v in s if _finite(v)]
    n = max((len(s) for s in series.values()), default=1)
    lo, hi = _range(vals) if vals else (0.0, 1.0)
    pw, ph = _W - _L - _R, _H - _T - _B
    X = lambda t: _L + pw * (t / max(n - 1, 1))  # noqa: E731
    Y = lambda v: _T + ph * (1 - (v - lo) / (hi - lo))  # noqa: E731
    xt = [(X(t), str(t)) for t in sorted({0, (n - 1) // 2, n - 1})]
    out = _frame(title, "frame", ylabel, xt, [(Y(v), _num(v)) for v in _ticks(lo, hi)])
    if split is not None and 0 < split < n:
        out.append(f'<line x1="{X(split - 0.5):.1f}" x2="{X(split - 0.5):.1f}" y1="{_T}" y2="{_H - _B}" '
                   f'stroke="#555" stroke-dasharray="4 3"><title>first future frame: {split}</title></line>')
    for i, (name, s) in enumerate(series.items()):
        color, segs, cur = PALETTE[i % len(PALETTE)], [], []
        for t, v in enumerate(s):
            if _finite(v):
                cur.append(f"{X(t):.1f},{Y(float(v)):.1f}")
            elif cur:
                segs.append(cur)
                cur = []
        segs.append(cur)
        for seg in (g for g in segs if g):
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{" ".join(seg)}">'
                       f'<title>{escape(name)}</title></polyline>')
        out.append(f'<text x="{_L + 6}" y="{_T + 12 + 12 * i}" fill="{color}">{escape(name)}</text>')
    if not vals:
        out.append(f'<text x="{_W / 2}" y="{_H / 2}" text-anchor="middle" fill="#999">no finite values</text>')
    return "\n".join(out + ["</svg>"])


def scatter_plot(points: list[tuple[str, float, float]], title: str, xlabel: str, ylabel: str, logx: bool = True) -> str:
    """Labelled points (label, x, y); x on a log10 axis when ``logx``. Non-finite points are listed as omitted."""
    good = [p for p in points if _finite(p[1]) and _finite(p[2]) and (p[1] > 0 or not logx)]
    tx = (lambda x: math.log10(x)) if logx else (lambda x: x)  # noqa: E731
    xs, ys = [tx(x) for _, x, _ in good], [y for _, _, y in good]
    xlo, xhi = _range(xs) if xs else (0.0, 1.0)
    ylo, yhi = _range(ys) if ys else (0.0, 1.0)
    pad_x, pad_y = 0.08 * (xhi - xlo), 0.08 * (yhi - ylo)
    xlo, xhi, ylo, yhi = xlo - pad_x, xhi + pad_x, ylo - pad_y, yhi + pad_y
    pw, ph = _W - _L - _R, _H - _T - _B
    X = lambda v: _L + pw * (v - xlo) / (xhi - xlo)  # noqa: E731
    Y = lambda v: _T + ph * (1 - (v - ylo) / (yhi - ylo))  # noqa: E731
    xt = [(X(v), _num(10 ** v if logx else v)) for v in _ticks(xlo, xhi, 3)]
    out = _frame(title, xlabel + (" (log scale)" if logx else ""), ylabel, xt, [(Y(v), _num(v)) for v in _ticks(ylo, yhi)])
    for i, (lab, x, y) in enumerate(good):
        color = PALETTE[i % len(PALETTE)]
        out.append(f'<circle cx="{X(tx(x)):.1f}" cy="{Y(y):.1f}" r="4" fill="{color}"><title>{escape(lab)}: '
                   f'{_num(x)}, {_num(y)}</title></circle>'
                   f'<text x="{X(tx(x)) + 6:.1f}" y="{Y(y) - 5:.1f}" fill="{color}">{escape(lab)}</text>')
    omitted = [p[0] for p in points if not any(p is g for g in good)]
    if omitted:
        out.append(f'<text x="{_L + 4}" y="{_H - _B - 4}" fill="#999">not shown (missing value): '
                   f'{escape(", ".join(omitted))}</text>')
    return "\n".join(out + ["</svg>"])
