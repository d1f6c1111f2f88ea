"""`bench board`: a self-contained static site (jinja2, autoescaped) from scored run directories.

Pages: ``index.html`` (each track's leaderboard, runtime-vs-accuracy plots, methods, failures,
gallery), ``track-<t>.html`` (every table of a track with CSV/JSON/Markdown/LaTeX exports under
``tables/``), ``method-<m>.html`` (paper, what it replaces, settings, results), ``methods.html``, and
``sample-<id>.html`` (GT | prediction GIFs per method, metric-vs-frame plots), and — when the runs
span more than one GT physics model — ``cross-model.html`` (method × GT model matrix per track,
``leaderboards.matrix``). Every string from
method specs and result files goes through jinja2 autoescaping or ``html.escape`` (SVG).
"""
from __future__ import annotations

import json
import math
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

from core.frames import MATTING
from leaderboards.aggregate import aggregate, failures, inputs_text, load_results, matted, method_table, sample_table
from leaderboards.matrix import build_matrix, gt_models, matrix_view
from leaderboards.media import comparison_gif, frame_series, slug
from leaderboards.plots import line_plot, scatter_plot
from leaderboards.tables import MAIN_COLS, Col, Table, build_tables, export, fmt

PLOT_METRICS = (("psnr", "PSNR (dB)"), ("ssim", "SSIM"), ("lpips", "LPIPS"), ("iou", "IoU"),
                ("chamfer", "Chamfer (m²)"), ("tracking_error", "tracking error (m)"))
CROSS_MODEL_PAGE = "cross-model.html"
COST_NOTE = ("time: fit + predict wall-clock seconds per sample on the run's device; peak mem: the sample "
             "process's peak resident memory (MiB).")


class _Notes:
    """Numbered metric-convention footnotes of one page."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def number(self, metric: str | None) -> int | None:
        from metrics.conventions import METRICS

        if metric is None or metric not in METRICS:
            return None
        spec = METRICS[metric]
        line = f"{spec.label} [{spec.unit or 'unitless'}]: {spec.convention}"
        if line not in self.lines:
            self.lines.append(line)
        return self.lines.index(line) + 1

    def all(self) -> list[str]:
        return self.lines + [COST_NOTE]


def _view(t: Table, notes: _Notes, method_href: dict[str, str]) -> dict[str, Any]:
    """Template context of a table (header with footnote numbers, rows with method links)."""
    n_left = len(t.keys) + 1
    header = [{"text": h, "note": None} for h in t.header()]
    offset = len(header) - len(t.cols)
    for i, c in enumerate(t.cols):
        header[offset + i]["note"] = notes.number(c.metric)
    rows = [{"kind": r["kind"], "cells": cells, "href": method_href.get(r["method"])}
            for (_, r), cells in zip(t.data.iterrows(), t.cells())]
    return {"slug": t.slug, "title": t.title, "caption": t.caption, "files": getattr(t, "files", {}),
            "header": header, "rows": rows, "n_left": n_left}


def _scatter(base: pd.DataFrame, track: str) -> str:
    num = lambda v: math.nan if isinstance(v, str) else float(v)  # noqa: E731  ("n/a": not applicable)
    pts = [(str(r["label"]), num(r.get("runtime_s", math.nan)), num(r.get("psnr/future", math.nan)))
           for _, r in base.iterrows() if not isinstance(r.get("runtime_s"), str)] if not base.empty else []
    # plots.py escapes every text it embeds, so its SVG is safe markup
    return Markup(scatter_plot(pts, f"Runtime vs accuracy — {track}", "runtime per sample (s)", "PSNR future (dB)"))


def _unavailable(results: list[dict[str, Any]]) -> list[str]:
    by_reason: dict[str, list[str]] = {}
    for r in results:
        lp = r.get("lpips") or {"status": "unavailable", "reason": "results.json predates LPIPS support"}
        if lp.get("status") != "ok":
            by_reason.setdefault(lp.get("reason", "unknown"), []).append(r["method_spec"]["label"])
        elif not lp.get("official_backbone", False):
            why = f"backbone {lp.get('backbone')} is not torchvision's file (sha256 {lp.get('backbone_sha256')})"
            by_reason.setdefault(f"LPIPS values are NOT comparable: {why}", []).append(r["method_spec"]["label"])
    return [f"LPIPS caveat for {', '.join(dict.fromkeys(labels))}: {reason}" for reason, labels in by_reason.items()]


def _env() -> Any:
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined)


def _unpack_bundles(paths: list[Path], out: Path) -> list[Path]:
    """Run dirs for the board: bundles (`bench export`) are unpacked under ``out/bundles/``."""
    from core.bundle import is_bundle, unpack_bundle
    from core.rundir import expand_runs

    dirs = []
    for p in expand_runs(paths):
        if is_bundle(p):
            dest = out / "bundles" / p.name.removesuffix(".tar.gz").removesuffix(".tgz")
            if dest.exists():
                import shutil

                shutil.rmtree(dest)
            dirs.append(unpack_bundle(p, dest))
        else:
            dirs.append(p)
    return dirs


def check_verifiable(results: list[dict[str, Any]]) -> list[str]:
    """Why each run could not be traced (no protocol id, a metrics.json that is not the one results.json
    hashed); [] when all can. `bench verify` does the full recomputation."""
    from core.hashing import sha256_file
    from core.rundir import RunDir

    bad = []
    for r in results:
        name = Path(str(r["run_dir"])).name
        if not r.get("protocol_id"):
            bad.append(f"{name}: scored without a protocol id (re-score it with `bench eval`)")
            continue
        rd = RunDir(Path(str(r["run_dir"])))
        for s in r["samples"]:
            h = (s.get("hashes") or {}).get("metrics_sha256")
            if s["status"] in ("ok", "failed", "not_applicable") and h:
                m = rd.sample(s["sample_id"]).metrics_json
                if not m.exists() or sha256_file(m) != h:
                    bad.append(f"{name}/{s['sample_id']}/metrics.json: not the file results.json recorded")
                    break
    return bad


def protocol_tracks(samples: pd.DataFrame) -> pd.DataFrame:
    """Runs under different protocol ids never share a table: when a track holds several, each gets its own
    page, ``<track> · protocol <id[:8]>``."""
    if samples.empty:
        return samples
    s = samples.copy()
    for track, g in samples.groupby("track", sort=False):
        if g["protocol_id"].nunique() > 1:
            mask = s["track"] == track
            s.loc[mask, "track"] = s.loc[mask].apply(lambda r: f"{track} · protocol {str(r['protocol_id'])[:8]}", axis=1)
    return s


def protocol_models(samples: pd.DataFrame) -> pd.DataFrame:
    """For the cross-model matrix (one column per GT model, each its own dataset and so its own protocol id):
    a GT model whose samples come under several protocol ids gets one column per id."""
    if samples.empty:
        return samples
    s = samples.copy()
    for (track, model), g in samples.groupby(["track", "physics_model"], sort=False):
        if g["protocol_id"].nunique() > 1:
            mask = (s["track"] == track) & (s["physics_model"] == model)
            s.loc[mask, "physics_model"] = s.loc[mask].apply(lambda r: f"{model} · {str(r['protocol_id'])[:8]}", axis=1)
    return s


def build_site(run_dirs: list[Path], out: Path, title: str = "physrecon-bench leaderboard",
               max_sample_pages: int | None = None, allow_unverified: bool = False) -> Path:
    """Write the site into ``out``; returns ``out/index.html``. Runs that cannot be traced to their stored
    values are refused (``allow_unverified`` shows them, flagged)."""
    from core.errors import UserError
    from leaderboards.aggregate import collapse_seeds
    from leaderboards.paired import build_paired, paired_view, rank_held
    from leaderboards.stats import METHOD

    dropped: list[str] = []
    results = load_results(_unpack_bundles(run_dirs, out), dropped)
    unverified = check_verifiable(results)
    if unverified and not allow_unverified:
        raise UserError(unverified[0].split(":")[0], unverified[0].split(": ", 1)[1] + (
            f" (+{len(unverified) - 1} more)" if len(unverified) > 1 else ""),
            "run `bench eval` / `bench verify` on it, or pass --unverified to show it flagged")
    samples, seed_spread = collapse_seeds(sample_table(results))
    by_model = protocol_models(samples)  # the cross-model matrix: datasets differ by design, protocols per column
    samples = protocol_tracks(samples)
    out.mkdir(parents=True, exist_ok=True)
    tdir = out / "tables"
    main = method_table(samples)
    main.to_csv(out / "leaderboard.csv", index=False, lineterminator="\n")
    main.to_json(out / "leaderboard.json", orient="records", indent=1)
    samples.drop(columns=["run_dir"], errors="ignore").to_csv(out / "samples.csv", index=False, lineterminator="\n")

    env = _env()
    specs = {r["method_spec"]["name"]: r["method_spec"] for r in results}
    for name, spec in specs.items():
        rends = [_renderer(r["dataset"]) for r in results if r["method_spec"]["name"] == name]
        specs[name] = {**spec, "inputs_text": inputs_text(spec, rends), "matting": MATTING if matted(spec, rends) else None}
    method_href = {n: f"method-{slug(n)}.html" for n in specs}
    tracks = list(dict.fromkeys(samples["track"])) if not samples.empty else []
    track_href = {t: f"track-{slug(t)}.html" for t in tracks}
    datasets = sorted({str(r["dataset"]) for r in results})
    labels = dataset_labels(results)
    sample_href = {(str(r["dataset"]), s["sample_id"]): f"sample-{slug(s['sample_id'] if len(datasets) == 1 else labels[str(r['dataset'])] + '/' + s['sample_id'])}.html"
                   for r in results for s in r["samples"]}
    models = gt_models(by_model)
    common = {"title": title, "version": metadata.version("physrecon-bench"),
              "tracks": [{"name": t, "href": track_href[t]} for t in tracks],
              "cross_model": CROSS_MODEL_PAGE if len(models) > 1 else None}
    unavailable = _unavailable(results) + [f"UNVERIFIED: {u}" for u in unverified]
    fails = failures(samples).to_dict("records")

    index_notes, sections = _Notes(), []
    for track in tracks:
        tables = build_tables(samples, track)
        srows = samples[samples["track"] == track]
        held = rank_held(srows)
        tables[0].data = tables[0].data.assign(rank_held=[held.get(str(lab), math.nan) for lab in tables[0].data["label"]])
        tables[0].cols = [*tables[0].cols, Col("rank_held", "rank held", None, 2)]
        for t in tables:
            t.files = export(t, tdir)  # type: ignore[attr-defined]
        paired = build_paired(srows, track)
        for p in paired:
            p.export(tdir)
        notes = _Notes()
        base = tables[0].data
        pids = sorted(set(srows["protocol_id"]))
        proto = (f"Protocol {', '.join(p[:16] for p in pids)} (dataset manifest, split, track, eval settings, metric "
                 f"conventions, harness version). Intervals: {METHOD}. rank held: the fraction of bootstrap "
                 "resamples of the common samples in which the method keeps its rank on future PSNR.")
        spread = seed_spread[seed_spread["track"] == track] if not seed_spread.empty else seed_spread
        scatter = _scatter(base, track)
        mlabels = list(dict.fromkeys(srows["label"]))
        sample_rows = []
        for (sid, ds), g in srows.assign(ds=srows["run_dir"].map(_dataset_of(results))).groupby(["sample_id", "ds"], sort=True):
            first = g.iloc[0]
            st = dict(zip(g["label"], g["status"]))
            sample_rows.append({"sample_id": sid, "object_id": first["object_id"], "category": first["category"],
                                "physics_model": first["physics_model"], "split": first["split"],
                                "href": sample_href[(ds, sid)], "statuses": [st.get(m, "—") for m in mlabels]})
        (out / track_href[track]).write_text(env.get_template("track.html.j2").render(
            **common, page_title=f"Track: {track}", tables=[_view(t, notes, method_href) for t in tables],
            paired=[paired_view(p) for p in paired], protocol=proto, seeds=_seed_rows(spread),
            notes=notes.all(), scatter=scatter, unavailable=unavailable,
            failures=[f for f in fails if f["track"] == track], methods=mlabels, samples=sample_rows))
        sections.append({"name": track, "href": track_href[track], "table": _view(tables[0], index_notes, method_href),
                         "more": _view(tables[1], index_notes, method_href), "paired": paired_view(paired[0]),
                         "protocol": proto, "scatter": scatter})

    if common["cross_model"]:
        notes = _Notes()
        mtracks = list(dict.fromkeys(by_model["track"]))
        matrices = [build_matrix(by_model, track) for track in mtracks]
        for t in matrices:
            t.files = export(t, tdir)  # type: ignore[attr-defined]
        paired_by_model = []
        for track in mtracks:
            for model in models:
                sub_s = by_model[(by_model["track"] == track) & (by_model["physics_model"] == model)]
                for p in build_paired(sub_s, f"cross-model-{slug(track)}-{model}")[:1]:
                    p.title = f"{track}, GT {model}: {p.title}"
                    p.export(tdir)
                    paired_by_model.append(paired_view(p))
        (out / CROSS_MODEL_PAGE).write_text(env.get_template("cross_model.html.j2").render(
            **common, page_title="Cross-model matrix", models=models, datasets=[labels[d] for d in datasets],
            matrices=[matrix_view(t, notes.number, method_href) for t in matrices], notes=notes.all(),
            paired=paired_by_model))
    for name, spec in specs.items():
        _method_page(env, common, out, spec, [r for r in results if r["method_spec"]["name"] == name],
                     samples[samples["method"] == name], method_href, sample_href, tdir, fails)
    gallery = _sample_pages(env, common, out, results, sample_href, method_href, track_href, max_sample_pages)
    methods = [{**s, "href": method_href[n]} for n, s in specs.items()]
    (out / "methods.html").write_text(env.get_template("methods.html.j2").render(**common, page_title="Methods", methods=methods))
    index = out / "index.html"
    index.write_text(env.get_template("index.html.j2").render(
        **common, page_title=title, track_sections=sections, notes=index_notes.all(), methods=methods,
        failures=fails, gallery=gallery, datasets=[labels[d] for d in datasets], splits=sorted({r["split"] for r in results}),
        unavailable=unavailable + [_strip_paths(line, results) for line in dropped],
        dataset_notes=[*dataset_notes(datasets, labels), LABEL_NOTE]))
    _tables_index(tdir)
    return index


def _seed_rows(spread: pd.DataFrame) -> list[dict[str, Any]]:
    """Methods run with several seeds: the standard deviation across seeds of their mean future PSNR / Chamfer."""
    rows = []
    for _, r in spread.iterrows():
        rows.append({"label": r["label"], "seeds": int(r["seeds"]),
                     "psnr": fmt(r.get("psnr/future:seed_std", math.nan), None, 3),
                     "chamfer": fmt(r.get("chamfer/future:seed_std", math.nan), None, 6)})
    return rows


def dataset_labels(results: list[dict[str, Any]]) -> dict[str, str]:
    """A dataset's name on the board: its folder name and the first 8 hex digits of its manifest's sha256
    (never the absolute local path of the machine that scored it)."""
    out = {}
    for r in results:
        sha = str(r.get("dataset_manifest_sha256") or "")[:8]
        out[str(r["dataset"])] = Path(str(r["dataset"])).name + (f" ({sha})" if sha else "")
    return out


def _strip_paths(line: str, results: list[dict[str, Any]]) -> str:
    for r in results:
        line = line.replace(str(r["run_dir"]), Path(str(r["run_dir"])).name)
    return line


def _tables_index(tdir: Path) -> None:
    """tables/index.html: a listing of every exported table (a static host serves no folder listings)."""
    from html import escape

    files = sorted(p.name for p in tdir.glob("*") if p.is_file() and p.name != "index.html")
    items = "".join(f'<li><a href="{escape(f)}">{escape(f)}</a></li>' for f in files)
    tdir.mkdir(parents=True, exist_ok=True)
    (tdir / "index.html").write_text(f"<!doctype html><meta charset='utf-8'><title>tables</title><h1>Exported tables</h1><ul>{items}</ul>\n")


def _renderer(dataset: Any) -> str:
    """render.renderer of a dataset's dataset.json ("splat" when it records none)."""
    f = Path(str(dataset)) / "dataset.json"
    return str(json.loads(f.read_text()).get("config", {}).get("render", {}).get("renderer", "splat")) if f.exists() else "splat"


def dataset_notes(datasets: list[str], labels: dict[str, str] | None = None) -> list[str]:
    """One line per dataset naming its profile and the spring-mass GT discretization (docs/CONVENTIONS.md):
    parameter errors against sample-seeded anchors and against ReconPhys §4.1 hashed anchors differ in kind."""

    lines = []
    for d in datasets:
        f = Path(d) / "dataset.json"
        if not f.exists():
            continue
        doc = json.loads(f.read_text())
        ph = doc.get("config", {}).get("physics", {})
        line = f"{(labels or {}).get(d, Path(d).name)}: profile {doc.get('profile')}, GT physics {ph.get('model')}"
        sm = ph.get("spring_mass", {})
        if ph.get("model") in ("spring_mass", "mixed") and sm:
            how = sm.get("anchor_sampling", "fps")
            line += (f"; spring-mass anchors {how}" + (
                f" (ReconPhys §4.1 consistent sampling: {sm.get('anchor_fill')} fill, res {sm.get('anchor_fill_res')}; "
                "a method using the same sampler shares the GT discretization)" if how == "object_hash" else
                " (drawn with the sample seed: spring-mass parameters are identifiable only up to the GT's own "
                "discretization, see CONVENTIONS)"))
        rd = doc.get("config", {}).get("render", {})
        if rd:
            what = (f"Blender {rd.get('blender_engine')} ({rd.get('samples')} spp"
                    + (", OIDN" if rd.get("denoise") else "") + f", look {rd.get('look')})"
                    if rd.get("renderer") == "blender" else "the splat renderer (the one the Gaussian methods use)")
            line += f"; GT frames rendered by {what} at {rd.get('width')}x{rd.get('height')}"
            if rd.get("renderer") == "blender":
                line += f"; {MATTING}"
        lines.append(line + ".")
    return lines


LABEL_NOTE = ("Labels: [bench] / [paper] is the budget class of a method's configuration (its card lists every cut "
              "from the paper); † marks methods handed inputs derived from the GT beyond the video (canonical "
              "Gaussians, GT surface tracks, or GT physics for the oracle).")


def _dataset_of(results: list[dict[str, Any]]) -> dict[str, str]:
    return {r["run_dir"]: str(r["dataset"]) for r in results}


def _method_page(env: Any, common: dict[str, Any], out: Path, spec: dict[str, Any], runs: list[dict[str, Any]],
                 rows: pd.DataFrame, method_href: dict[str, str], sample_href: dict[tuple[str, str], str],
                 tdir: Path, fails: list[dict[str, Any]]) -> None:
    notes = _Notes()
    t = Table(f"method-{slug(spec['name'])}", "Per track", ["track"], MAIN_COLS, aggregate(rows))
    t.files = export(t, tdir)  # type: ignore[attr-defined]
    run_ctx = [{"run_dir": Path(str(r["run_dir"])).name, "track": r.get("track") or ", ".join(sorted({s.get("track") or s["scenario"] for s in r["samples"]})),
                "split": r["split"], "dataset": Path(str(r["dataset"])).name, "config_sha256": r.get("config_sha256"),
                "config": json.dumps(r.get("config"), indent=1, sort_keys=True),
                "versions": ", ".join(f"{k} {v}" for k, v in sorted((r.get("versions") or {}).items()))} for r in runs]
    samp = [{"sample_id": s["sample_id"], "status": s["status"], "reason": s.get("reason"),
             "href": sample_href[(str(r["dataset"]), s["sample_id"])]} for r in runs for s in r["samples"]]
    (out / method_href[spec["name"]]).write_text(env.get_template("method.html.j2").render(
        **common, page_title=f"Method: {spec['label']}", m=spec, runs=run_ctx, tables=[_view(t, notes, {})],
        notes=notes.all(), failures=[f for f in fails if f["method"] == spec["name"]], samples=samp))


def _sample_pages(env: Any, common: dict[str, Any], out: Path, results: list[dict[str, Any]],
                  sample_href: dict[tuple[str, str], str], method_href: dict[str, str], track_href: dict[str, str],
                  limit: int | None) -> list[dict[str, Any]]:
    """Write one page per (dataset, sample); returns the index gallery (first GIF of each run)."""
    from core.dataset import SampleDir
    from core.jsonio import read_json
    from core.names import child
    from core.rundir import RunSample

    by_key: dict[tuple[str, str], list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for r in results:
        for s in r["samples"]:
            by_key.setdefault((str(r["dataset"]), s["sample_id"]), []).append((r, s))
    gallery, seen_runs = [], set()
    for i, ((ds, sid), entries) in enumerate(sorted(by_key.items())):
        if limit is not None and i >= limit:
            break
        anims, series, info = [], {}, dict(entries[0][1])
        meta_p = SampleDir(child(Path(ds), sid, "sample id", "results.json")).sample_json
        t_meta = read_json(meta_p)["time"] if meta_p.exists() else {}
        for r, s in entries:
            spec, run_dir = r["method_spec"], Path(r["run_dir"])
            name = f"media/{slug(spec['name'])}-{slug(sid)}.gif"
            over_plate = (r.get("eval_config") or {}).get("background", "plate") == "plate"  # as the run was scored
            views = (comparison_gif(Path(ds), run_dir, sid, out / name, label=spec["label"], over_plate=over_plate)
                     if s["status"] == "ok" else None)
            missing = (f"{'n/a' if s['status'] == 'not_applicable' else 'failed'}: {s.get('reason')}" if s["status"] != "ok"
                       else f"no animation: GT frames not found under {Path(ds).name}" if views is None else "")
            anims.append({"label": spec["label"], "method_href": method_href[spec["name"]], "src": name if views else None,
                          "missing": missing, "caption": f"rows: {views}; left GT, right prediction" if views else missing})
            if views and r["run_dir"] not in seen_runs:
                seen_runs.add(r["run_dir"])
                gallery.append({"src": name, "href": sample_href[(ds, sid)], "width": 384,
                                "caption": f"{spec['label']} · {sid} ({s['object_id']}) · left GT, right prediction"})
            fs = frame_series(run_dir, sid)
            for m, _ in PLOT_METRICS:
                if m in fs:
                    series.setdefault(m, {})[spec["label"]] = fs[m]
            mp = RunSample(child(run_dir, sid, "sample id", run_dir / "results.json")).metrics_json
            if not t_meta and mp.exists():
                t_meta = read_json(mp).get("time") or {}
        n_obs = t_meta.get("n_observed")
        plots = [Markup(line_plot(series[m], f"{lab} — {sid}", lab, split=n_obs)) for m, lab in PLOT_METRICS if m in series]
        track = info.get("track") or entries[0][0].get("track") or info["scenario"]
        ctx = {**info, "track": track, "track_href": track_href.get(track, "index.html"), "n_observed": n_obs,
               "n_frames": t_meta.get("n_frames")}
        (out / sample_href[(ds, sid)]).write_text(env.get_template("sample.html.j2").render(
            **common, page_title=f"Sample {sid}", s=ctx, anims=anims, plots=plots))
    return gallery
