"""Aggregate scored runs (RUN/results.json) into pandas tables.

Rules: a failed sample stays a row (status failed, counted in ``failed``), never dropped; a metric
that is missing stays NaN (shown "—"), never 0; a parameter the method's model does not share
with the GT model is the string ``"n/a"`` (per sample and, when no sample has it, in the mean).
Means / std (population) / count are over a group's successful samples of per-sample means.
A ``not_applicable`` sample (a method that cannot take the track's controls) is counted in
``not_applicable``, neither ok nor failed; a group with no ok sample and at least one
not-applicable sample shows "n/a" for every metric. A ``not_run`` sample (the run dir was scored
before `bench run` finished) is counted in ``not_run``, never as a failure.

Each (method config, dataset, split, track, sample) counts once: a run dir given twice, or a copy of
one, contributes its samples once; ``load_results`` says what it dropped.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from core.errors import UserError
from core.jsonio import read_json

from metrics.conventions import METRICS

NA = "n/a"
NOT_APPLICABLE = "not_applicable"
NOT_RUN = "not_run"
IMAGE_COLS = tuple(n for n, m in METRICS.items() if m.kind in ("image", "image_batch"))
GEOMETRY_COLS = tuple(n for n, m in METRICS.items() if m.kind in ("points", "tracks"))
PHASES = ("observed", "future")
GROUPS = ("all", "seen", "held_out")
KEYS = ("track", "method", "label", "kind")
ID_COLS = ("track", "method", "label", "kind", "split", "sample_id", "object_id", "category", "physics_model",
           "scenario", "status", "reason", "device", "protocol_id", "dataset", "seed_group", "seed")
COST_COLS = ("fit_s", "predict_s", "runtime_s", "peak_mem_mb")


def results_key(res: dict[str, Any]) -> tuple[str, ...]:
    """What makes two scored runs the same experiment: method and its config, dataset, split, track."""
    return (str(res.get("method")), str(res.get("config_sha256")),
            str(res.get("dataset_manifest_sha256") or res.get("dataset")), str(res.get("split")),
            str(res.get("track") or "default"))


def load_results(run_dirs: Iterable[Path], dropped: list[str] | None = None) -> list[dict[str, Any]]:
    """Each run's results.json (+ ``run_dir``, and run.json's config when results lack it).

    A sample already contributed by an earlier run with the same ``results_key`` is dropped (a run dir
    given twice, or a copy of one); one line per dropped run is appended to ``dropped``.
    """
    from core.rundir import RunDir

    out, seen = [], set()
    for rd in map(Path, run_dirs):
        run = RunDir(rd)
        if not run.exists() and not run.results_json.exists():
            raise UserError(str(rd), "not a run directory (no run.json)", "pass the --out of a `bench run`, scored by `bench eval`")
        if not run.results_json.exists():
            raise UserError(str(rd), "no results.json (the run is not scored)", f"run `bench eval {rd}` first")
        res = read_json(run.results_json)
        res["run_dir"] = str(rd)
        if res.get("config") is None and run.exists():
            res["config"] = run.meta().get("config")
        key = results_key(res)
        keep = [smp for smp in res["samples"] if (key, smp["sample_id"]) not in seen]
        if len(keep) < len(res["samples"]) and dropped is not None:
            dropped.append(f"{rd}: {len(res['samples']) - len(keep)} sample(s) of {res['method_spec']['label']} dropped, "
                           "already counted from another run dir with the same method config, dataset, split and track")
        seen.update((key, smp["sample_id"]) for smp in keep)
        res["samples"] = keep
        out.append(res)
    return out


def _num(v: Any) -> float:
    if v is None:
        return math.nan
    if isinstance(v, str):  # JSON spelling of non-finite floats (core.jsonio.to_jsonable)
        return {"inf": math.inf, "-inf": -math.inf}.get(v, math.nan)
    return float(v)


def metric_col(metric: str, phase: str, group: str = "all") -> str:
    """Column name of an image metric (``psnr/future@held_out``) or geometry metric (group "all")."""
    return f"{metric}/{phase}" + ("" if group == "all" else f"@{group}")


def _param_cells(params: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in params.get("na") or {}:
        row[f"param_abs/{name}"] = NA
        row[f"param_log10_abs/{name}"] = NA
    for name, err in (params.get("errors") or {}).items():
        row[f"param_abs/{name}"] = _num(err.get("abs"))
        row[f"param_log10_abs/{name}"] = _num(err["log10_abs"]) if "log10_abs" in err else NA
    if params:
        ma = params.get("material_accuracy")
        row["material_accuracy"] = _num(ma.get("value")) if ma else NA
    return row


#: methods handed inputs derived from the GT beyond the video (MethodInputs flags) are marked with this on the board
GT_DERIVED_MARK = "†"


def method_label(spec: dict[str, Any], config: dict[str, Any] | None, budget: str | None = None) -> str:
    """The board label: the card's label, the budget class of a method's configuration ("bench" / "paper": the
    YAML's, else the validated default ``budget`` the run recorded), and GT_DERIVED_MARK when the method reads
    canonical Gaussians, GT surface tracks or GT physics."""
    label = str(spec["label"])
    budget = (config or {}).get("budget") or budget
    if spec.get("kind") != "baseline" and budget:  # runs before 2026-12-03 record none
        label += f" [{budget}]"
    inp = spec.get("inputs") or {}
    if any(inp.get(k) for k in ("canonical", "tracks", "gt_physics")):
        label += f" {GT_DERIVED_MARK}"
    return label


def matted(spec: dict[str, Any], renderers: Iterable[str]) -> bool:
    """Whether a method's observed frames were matted (core.frames.MATTING): it reads RGB and masks and one of its
    datasets was rendered by Blender (``renderers``: the render.renderer of each)."""
    inp = spec.get("inputs") or {}
    return bool(inp.get("rgb", True) and inp.get("masks", True) and "blender" in set(renderers))


def inputs_text(spec: dict[str, Any], renderers: Iterable[str]) -> str:
    """The card's inputs, and a pointer to the matting rule where ``matted``."""
    text = str(spec.get("inputs_text", ""))
    return text + " (Blender GT frames matted onto the flat background colour)" if matted(spec, renderers) else text


def sample_table(results: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per (run, sample): identity, status, cost, every metric per phase and view group."""
    rows = []
    for res in results:
        spec = res["method_spec"]
        for s in res["samples"]:
            cost = s.get("cost") or {}
            row: dict[str, Any] = {"track": res.get("track") or s.get("track") or s["scenario"], "method": spec["name"],
                                   "label": method_label(spec, res.get("config"), res.get("budget")), "kind": spec["kind"],
                                   "split": s["split"],
                                   "sample_id": s["sample_id"], "object_id": s["object_id"], "category": s["category"],
                                   "physics_model": s["physics_model"], "scenario": s["scenario"],
                                   "status": s["status"], "reason": s.get("reason"), "device": cost.get("device"),
                                   "protocol_id": res.get("protocol_id") or "unversioned",
                                   "dataset": str(res.get("dataset")),
                                   "seed_group": (res.get("seed_group") or {}).get("group_config_sha256"),
                                   "seed": (res.get("seed_group") or {}).get("seed")}
            ok = s["status"] == "ok"
            row["fit_s"], row["predict_s"] = _num(cost.get("fit_s")), _num(cost.get("predict_s"))
            row["runtime_s"] = row["fit_s"] + row["predict_s"] if ok else math.nan
            row["peak_mem_mb"] = _num(cost.get("peak_rss_mb"))
            summ = s.get("summary") or {}
            for phase in PHASES:
                ph = summ.get(phase, {})
                for group in GROUPS:
                    for m in IMAGE_COLS:
                        row[metric_col(m, phase, group)] = _num(ph.get(group, {}).get(m))
                for m in GEOMETRY_COLS:
                    row[metric_col(m, phase)] = _num(ph.get("geometry", {}).get(m))
            row.update(_param_cells(s.get("params") or {}))
            row["run_dir"] = res["run_dir"]
            rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    first = list(ID_COLS) + list(COST_COLS)
    params = sorted(c for c in df.columns if c.startswith("param_"))
    rest = [c for c in df.columns if c not in first and c not in params and c not in ("material_accuracy", "run_dir")]
    tail = (["material_accuracy"] if "material_accuracy" in df else []) + ["run_dir"]
    return df[first + rest + params + tail]


def collapse_seeds(samples: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of `bench run --seeds K` runs (same ``seed_group``) become one row per sample: each metric the mean
    over the seeds that succeeded (a sample is ok when every seed is). Also returns, per track x method with
    several seeds, the standard deviation across seeds of each seed's mean (``<col>:seed_std``) and ``seeds``."""
    if samples.empty or samples["seed_group"].isna().all():
        return samples, pd.DataFrame()
    cols = metric_columns(samples)
    grouped = samples[samples["seed_group"].notna()]
    rest = samples[samples["seed_group"].isna()]
    keys = ["track", "method", "label", "kind", "seed_group", "dataset", "sample_id"]
    rows = []
    for _, g in grouped.groupby(keys, sort=False, dropna=False):
        row = g.iloc[0].to_dict()
        ok = g[g["status"] == "ok"]
        if len(ok) < len(g):
            bad = g[g["status"] != "ok"].iloc[0]
            row.update(status=bad["status"], reason=f"{len(g) - len(ok)} of {len(g)} seeds: {bad['reason']}")
        for c in cols:
            m, _s, n = mean_std(ok[c]) if c in ok else (math.nan, math.nan, 0)
            row[c] = m
        row["seeds"], row["seed"] = len(g), None
        rows.append(row)
    spread = []
    for key, g in grouped.groupby(["track", "method", "label", "kind", "seed_group"], sort=False, dropna=False):
        per_seed = {seed: gg for seed, gg in g.groupby("seed")}
        rec = dict(zip(["track", "method", "label", "kind", "seed_group"], key), seeds=len(per_seed))
        for c in cols:
            ms = [mean_std(gg[gg["status"] == "ok"][c])[0] for gg in per_seed.values()]
            ms = [m for m in ms if not isinstance(m, str) and np.isfinite(m)]
            rec[f"{c}:seed_std"] = float(np.std(ms, ddof=1)) if len(ms) > 1 else math.nan
        spread.append(rec)
    return pd.concat([rest, pd.DataFrame(rows)], ignore_index=True), pd.DataFrame(spread)


def metric_columns(samples: pd.DataFrame) -> list[str]:
    """Columns holding per-sample values to aggregate (metrics, parameter errors, cost)."""
    return [c for c in samples.columns if "/" in c and c != "run_dir" or c == "material_accuracy"] + \
        [c for c in COST_COLS if c in samples]


def mean_std(x: pd.Series) -> tuple[Any, float, int]:
    """(mean, population std, count) of the numeric values; ("n/a", nan, 0) if every value is n/a."""
    vals = list(x)
    num = np.array([v for v in vals if not isinstance(v, str)], dtype=float)
    num = num[~np.isnan(num)]
    if num.size == 0:
        return (NA if vals and all(v == NA for v in vals) else math.nan), math.nan, 0
    if np.isinf(num).any():
        return float(np.mean(num)), math.nan, int(num.size)
    return float(num.mean()), float(num.std(ddof=0)), int(num.size)


def mean_ci(x: pd.Series, objects: pd.Series | None = None) -> tuple[Any, float, float]:
    """(mean, lo, hi): the seeded bootstrap interval of the mean (``leaderboards.stats``), resampling ``objects``
    (aligned with ``x``: each sample's object) when given; "n/a" kept."""
    from leaderboards.stats import bootstrap_ci

    vals = list(x)
    if vals and all(v == NA for v in vals):
        return NA, math.nan, math.nan
    objs = None if objects is None else list(objects)
    keep = [i for i, v in enumerate(vals) if not isinstance(v, str)]
    return bootstrap_ci([vals[i] for i in keep], clusters=None if objs is None else [objs[i] for i in keep])


def aggregate(samples: pd.DataFrame, by: Iterable[str] = (), columns: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per track × method (× ``by`` keys): n, ok, failed, not_applicable, mean / std / n and the 95 %
    bootstrap interval (``:lo``, ``:hi``) per metric.

    Failed samples count in ``n`` and ``failed`` of their group; not-applicable ones in ``n`` and
    ``not_applicable``; metrics average the ok samples ("n/a" when none is ok and some are n/a).
    Row order: ``by`` keys sorted, then tracks and methods in input order.
    """
    by = list(by)
    cols = list(columns) if columns is not None else metric_columns(samples)
    keys = list(KEYS) + by
    rows = []
    for key, g in samples.groupby(keys, sort=False, dropna=False):
        ok = g[g["status"] == "ok"]
        row: dict[str, Any] = dict(zip(keys, key))
        n_na = int((g["status"] == NOT_APPLICABLE).sum())
        n_nr = int((g["status"] == NOT_RUN).sum())
        row.update(n=len(g), ok=len(ok), failed=len(g) - len(ok) - n_na - n_nr, not_applicable=n_na, not_run=n_nr)
        all_na = ok.empty and n_na > 0
        for c in cols:
            if c in g:
                row[c], row[f"{c}:std"], row[f"{c}:n"] = (NA, math.nan, 0) if all_na else mean_std(ok[c])
                objs = (ok["dataset"].astype(str) + "::" + ok["object_id"].astype(str)
                        if {"dataset", "object_id"} <= set(ok.columns) else None)
                row[f"{c}:lo"], row[f"{c}:hi"] = (math.nan, math.nan) if all_na else mean_ci(ok[c], objs)[1:]
        rows.append(row)
    out = pd.DataFrame(rows)
    if by and not out.empty:
        out = out.sort_values(by, kind="stable").reset_index(drop=True)
    return out


def method_table(samples: pd.DataFrame) -> pd.DataFrame:
    """The main leaderboard: one row per track × method over every metric column."""
    return aggregate(samples)


def failures(samples: pd.DataFrame) -> pd.DataFrame:
    """Every failed sample with its reason (what the leaderboard lists under Failures)."""
    cols = ["track", "method", "label", "sample_id", "object_id", "category", "reason"]
    if samples.empty:
        return pd.DataFrame(columns=cols)
    return samples[~samples["status"].isin(["ok", NOT_APPLICABLE, NOT_RUN])][cols].reset_index(drop=True)
