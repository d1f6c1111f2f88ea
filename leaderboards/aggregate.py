"""Aggregate scored runs (RUN/results.json) into pandas tables. Missing stays missing (NaN), never 0."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.errors import UserError
from bench.io import read_json

IMAGE_COLS = ("psnr", "ssim", "iou")
GEOMETRY_COLS = ("chamfer", "emd", "tracking_error")
PHASES = ("observed", "future")


def load_results(run_dirs: list[Path]) -> list[dict[str, Any]]:
    out = []
    for rd in run_dirs:
        p = rd / "results.json"
        if not p.exists():
            raise UserError(str(rd), "no results.json (the run is not scored)", f"run `bench eval {rd}` first")
        res = read_json(p)
        res["run_dir"] = str(rd)
        out.append(res)
    return out


def _num(v: Any) -> float:
    if v is None:
        return math.nan
    if isinstance(v, str):  # JSON spelling of non-finite floats (bench.io.to_jsonable)
        return {"inf": math.inf, "-inf": -math.inf}.get(v, math.nan)
    return float(v)


def sample_table(results: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per (run, sample): status, cost, and each metric per phase (and view group)."""
    rows = []
    for res in results:
        spec = res["method_spec"]
        for s in res["samples"]:
            row: dict[str, Any] = {"method": spec["name"], "label": spec["label"], "kind": spec["kind"],
                                   "run_dir": res["run_dir"], "split": s["split"], "sample_id": s["sample_id"],
                                   "object_id": s["object_id"], "category": s["category"],
                                   "physics_model": s["physics_model"], "scenario": s["scenario"],
                                   "status": s["status"], "reason": s.get("reason")}
            cost = s.get("cost") or {}
            row["fit_s"], row["predict_s"] = _num(cost.get("fit_s")), _num(cost.get("predict_s"))
            row["runtime_s"] = row["fit_s"] + row["predict_s"] if s["status"] == "ok" else math.nan
            row["peak_mem_mb"] = _num(cost.get("peak_rss_mb"))
            summ = s.get("summary") or {}
            for phase in PHASES:
                ph = summ.get(phase, {})
                for group in ("all", "seen", "held_out"):
                    for m in IMAGE_COLS:
                        suffix = "" if group == "all" else f"@{group}"
                        row[f"{m}/{phase}{suffix}"] = _num(ph.get(group, {}).get(m))
                for m in GEOMETRY_COLS:
                    row[f"{m}/{phase}"] = _num(ph.get("geometry", {}).get(m))
            params = s.get("params") or {}
            for name, err in (params.get("errors") or {}).items():
                row[f"param_abs/{name}"] = _num(err.get("abs"))
                if "log10_abs" in err:
                    row[f"param_log10_abs/{name}"] = _num(err.get("log10_abs"))
            rows.append(row)
    return pd.DataFrame(rows)


def _mean_std(x: pd.Series) -> tuple[float, float, int]:
    v = x.to_numpy(dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return math.nan, math.nan, 0
    if np.isinf(v).any():
        return float(np.mean(v)), math.nan, int(v.size)
    return float(v.mean()), float(v.std(ddof=0)), int(v.size)


def method_table(samples: pd.DataFrame) -> pd.DataFrame:
    """One row per method: counts, failures, mean/std/count of every metric over its ok samples."""
    rows = []
    metric_cols = [c for c in samples.columns if "/" in c] + ["runtime_s", "peak_mem_mb"]
    for (method, label, kind), g in samples.groupby(["method", "label", "kind"], sort=False):
        ok = g[g["status"] == "ok"]
        row: dict[str, Any] = {"method": method, "label": label, "kind": kind, "n": len(g), "ok": len(ok),
                               "failed": int((g["status"] != "ok").sum())}
        for c in metric_cols:
            if c in ok:
                mean, std, n = _mean_std(ok[c])
                row[c], row[f"{c}:std"], row[f"{c}:n"] = mean, std, n
        rows.append(row)
    return pd.DataFrame(rows)


def failures(samples: pd.DataFrame) -> pd.DataFrame:
    f = samples[samples["status"] != "ok"]
    return f[["method", "sample_id", "object_id", "reason"]].reset_index(drop=True)
