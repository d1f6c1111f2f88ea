"""The `bench` command line: the face that imports the stages; nothing imports it.

Heavy libraries (torch, warp, bpy) are imported only inside verbs. Every bad input (flag, file, data) is
one line on stderr naming the flag or file, the reason and the fix, and exit status 2.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from core.errors import UserError


def _failures_line(records: list[dict[str, Any]]) -> str:
    failed = Counter(r.get("reason") or "unknown" for r in records if r.get("status") != "ok")
    if not failed:
        return "no failures"
    return f"{sum(failed.values())} failed: " + "; ".join(f"{n}x {why}" for why, n in failed.most_common(5))


def cmd_gen(a: argparse.Namespace) -> int:
    from core.progress import progress_bar
    from datagen.generate import generate, wanted
    from datagen.profile import load_profile, profile_from_dict

    profile = load_profile(a.profile, {"n_samples": a.n, "seed": a.seed})
    if a.physics or a.renderer:  # nested overrides, validated like the YAML
        d = profile.model_dump(mode="json")
        if a.physics:
            d["physics"]["model"] = a.physics
        if a.renderer:
            d["render"]["renderer"] = a.renderer
        profile = profile_from_dict(d, src="--physics/--renderer")
    out = Path(a.out or f"data/{profile.name}")
    splits = [s for s in (a.splits or "").split(",") if s] or None
    want = wanted(profile, splits)
    with progress_bar(f"gen {profile.name}", want) as cb:
        recs = generate(out, profile, workers=a.workers, force=a.force, on_progress=cb, executor=a.executor,
                        address=a.address, threads=a.threads, splits=splits)
    from bench.dataset_card import write_dataset_card

    write_dataset_card(out)
    ok = sum(r["status"] == "ok" for r in recs)
    by_split = Counter(r["split"] for r in recs)
    print(f"dataset: {out} ({ok}/{want} ok; splits {dict(by_split)}; {_failures_line(recs)})")
    return 0


def _default_run_dir(data: Path, method: str, split: str) -> Path:
    return Path("runs") / data.name / f"{method}-{split}"


def resolved_method_config(method: str, path: str | None) -> dict[str, Any]:
    """The method's YAML, validated (one UserError naming the file and key)."""
    from core.method_config import load_method_config, method_config_source, validate_method_config
    from methods.registry import method_config_class

    cfg = load_method_config(method, path)
    validate_method_config(method_config_class(method), cfg, method, method_config_source(method, path))
    return cfg


def checkpoint_resolved(method: str, cfg: dict[str, Any], data: Path) -> dict[str, Any]:
    """``cfg`` with a learned method's checkpoint resolved for dataset ``data`` (unchanged for other methods)."""
    from methods.base import is_trainable
    from methods.registry import load_method_class

    cls = load_method_class(method)
    return cls.resolve_run_config(cfg, data) if is_trainable(cls) else cfg


def _per_seed_resolver(method: str, cfg: dict[str, Any], data: Path, seeds: int):
    """For `bench run --seeds K` of a learned method whose checkpoint dir holds `bench train --seeds` dirs:
    ``resolve(config, k)`` that points seed k's run at training seed k's checkpoint (all K checked first, so a
    missing one fails before any run). None otherwise (every seed runs the one checkpoint)."""
    from methods.base import is_trainable
    from methods.registry import load_method_class
    from methods.training.checkpoints import default_checkpoint_dir, has_seed_checkpoints, seed_checkpoint_dir

    if seeds < 2 or not is_trainable(load_method_class(method)):
        return None
    base = Path(cfg.get("checkpoint") or default_checkpoint_dir(method, data))
    if not has_seed_checkpoints(base):
        return None

    def resolve(config: dict[str, Any], k: int) -> dict[str, Any]:
        return checkpoint_resolved(method, {**config, "checkpoint": str(seed_checkpoint_dir(base, k))}, data)

    for k in range(seeds):
        resolve(cfg, k)
    return resolve


def cmd_run(a: argparse.Namespace) -> int:
    from core.dataset import check_split, select_samples
    from core.progress import progress_bar
    from methods.runner import run_method

    check_split(a.split)
    data = Path(a.data)
    if not data.exists():
        raise UserError("--data", f"dataset directory '{data}' does not exist", "generate one with `bench gen --out DIR`")
    cfg = resolved_method_config(a.method, a.method_config)
    resolve = _per_seed_resolver(a.method, cfg, data, a.seeds)
    if resolve is None:
        cfg = checkpoint_resolved(a.method, cfg, data)
    out = Path(a.out) if a.out else _default_run_dir(data, (cfg.get("name") or a.method) + ("-transfer" if a.track == "transfer" else ""), a.split)
    n = len(select_samples(data, a.split))
    kw = dict(timeout_s=a.timeout, isolate=not a.inline, resume=not a.force, track=a.track, threads=a.threads)
    if a.seeds > 1:
        from methods.runner import run_seeds

        kw["resolve"] = resolve

        with progress_bar(f"run {a.method} x{a.seeds} seeds", n * a.seeds) as cb:
            done = [0]

            def step(i: int, tot: int, rec: dict[str, Any]) -> None:
                done[0] += 1
                cb(done[0], n * a.seeds, rec)
            res = [r for rs in run_seeds(a.method, data, a.split, out, cfg, a.seeds, on_progress=step, **kw) for r in rs]
    else:
        with progress_bar(f"run {a.method}", n) as cb:
            res = run_method(a.method, data, a.split, out, cfg, on_progress=cb, **kw)
    na = sum(r["status"] == "not_applicable" for r in res)
    print(f"run: {out} ({sum(r['status'] == 'ok' for r in res)}/{len(res)} ok; "
          f"{f'{na} not applicable; ' if na else ''}{_failures_line([r for r in res if r['status'] != 'not_applicable'])})")
    return 0


def cmd_train(a: argparse.Namespace) -> int:
    from methods.training.verb import train_method

    cfg = resolved_method_config(a.method, a.method_config)
    if a.steps is not None:
        cfg["steps"] = a.steps
    out = Path(a.out) if a.out else None
    jobs = [(out, cfg)]
    if a.seeds > 1:  # training seeds: OUT/seed-<k> with seed = the config's + k (`bench run --seeds` finds them)
        from methods.training.checkpoints import default_checkpoint_dir, seed_checkpoint_dir

        base = out or default_checkpoint_dir(a.method, Path(a.data))
        jobs = [(seed_checkpoint_dir(base, k), {**cfg, "seed": int(cfg.get("seed", 0)) + k}) for k in range(a.seeds)]
    for job_out, job_cfg in jobs:
        res = train_method(a.method, Path(a.data), a.split, job_out, job_cfg, resume=not a.force)
        print(f"checkpoints: {res['out_dir']} (step {res['step']}, resumed from {res['start_step']}; "
              f"loss {res['metrics'].get('loss', float('nan')):.5f}; log {Path(res['out_dir']) / 'log.csv'})")
        if res.get("calibration"):  # ReconPhys calibrate: holdout (methods/reconphys/calibration.py)
            print("held-out calibration alpha: " + ", ".join(f"{k} {v:.2f}" for k, v in res["calibration"].items()))
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    from core.progress import progress_bar
    from core.rundir import RunDir
    from metrics.evaluate import evaluate_run

    from core.rundir import expand_runs

    for run in expand_runs(a.runs):
        rd = RunDir(Path(run))
        n = len(rd.sample_ids())
        with progress_bar(f"eval {rd.path.name}", n) as cb:
            res = evaluate_run(rd.path, Path(a.data) if a.data else None, cfg={"background": a.background}, on_progress=cb)
        counts = Counter(s["status"] for s in res["samples"])
        print(f"scores: {rd.results_json} ({', '.join(f'{v} {k}' for k, v in sorted(counts.items()))})")
    return 0


def cmd_board(a: argparse.Namespace) -> int:
    from leaderboards.site import build_site

    out = Path(a.out)
    if out.exists() and not out.is_dir():
        raise UserError("--out", f"'{out}' is a file, not a folder", "pass a folder for the site (it is created if missing)")
    index = build_site([Path(r) for r in a.runs], out, title=a.title, max_sample_pages=a.max_sample_pages,
                       allow_unverified=a.unverified)
    print(f"leaderboard: {index.resolve()}")
    return 0


def cmd_verify(a: argparse.Namespace) -> int:
    from bench.verify import verify_run

    for run in a.runs:
        res = verify_run(Path(run), Path(a.data) if a.data else None)
        print(f"verified: {run} ({res['samples_verified']} samples recomputed, every hash matches; "
              f"protocol {res['protocol_id'][:12]})")
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    from bench.verify import export_run

    print(f"bundle: {export_run(Path(a.run), Path(a.out) if a.out else None)}")
    return 0


def cmd_check(a: argparse.Namespace) -> int:
    from bench.check import check_path

    problems, kind, n = check_path(Path(a.path))
    for p in problems:
        print(f"  {p}")
    print(f"{kind} {a.path}: {n} entries checked, {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_list(a: argparse.Namespace) -> int:
    from datagen.profile import list_profiles
    from methods.registry import available_methods, method_card

    if a.what in ("methods", "all"):
        print("methods:")
        for name in available_methods():
            card = method_card(name)
            print(f"  {name:12s} {card.kind:9s} {card.label} — inputs: {card.inputs.describe()}")
    if a.what in ("profiles", "all"):
        print("profiles: " + ", ".join(list_profiles()))
    return 0


def cmd_show(a: argparse.Namespace) -> int:
    from bench.show import show_sample

    show_sample(Path(a.sample), data=Path(a.data) if a.data else None, preview=not a.no_preview)
    return 0


def cmd_demo(a: argparse.Namespace) -> int:
    """Generate a small dataset, run the baselines, score them and build the leaderboard."""
    data = Path(a.out) / "data"
    base = ["--profile", a.profile] + (["--n", str(a.n)] if a.n else [])
    run(["gen", *base, "--out", str(data)])
    runs = []
    for m in ("static", "oracle"):
        rd = Path(a.out) / "runs" / f"{m}-{a.split}"
        run(["run", "--method", m, "--data", str(data), "--split", a.split, "--out", str(rd)])
        runs.append(str(rd))
    run(["eval", *runs])
    return run(["board", *runs, "--out", str(Path(a.out) / "site")])


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one ``UserError`` line (exit 2) instead of usage + message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        where, _, reason = message.partition(": ") if message.startswith("argument ") else ("command line", "", message)
        raise UserError(where.removeprefix("argument "), reason, f"see `{self.prog} --help`")


def _count(flag: str, lo: int = 1):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"takes a whole number, not '{text}'") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"must be at least {lo}, not {v}")
        return v
    return parse


def _seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes seconds, not '{text}'") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return v


def _methods_help() -> str:
    from methods.registry import available_methods

    return "method name: " + ", ".join(available_methods()) + " (`bench list` shows their inputs)"


def build_parser() -> argparse.ArgumentParser:
    from methods.runner import DEFAULT_TIMEOUT_S

    p = _Parser(prog="bench", description="physrecon-bench: datasets with exact GT physics, method runs, metrics and leaderboards.")
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB", parser_class=_Parser)
    g = sub.add_parser("gen", help="generate a dataset (resumes where it stopped)")
    g.add_argument("--profile", default="quick", help="profile name in configs/profiles or a YAML path (default quick)")
    g.add_argument("--n", type=_count("--n"), help="number of samples (overrides the profile)")
    g.add_argument("--seed", type=_count("--seed", 0), help="root seed (overrides the profile)")
    g.add_argument("--out", help="dataset directory (default data/<profile>)")
    g.add_argument("--workers", type=_count("--workers"), default=1, help="worker processes (default 1)")
    g.add_argument("--threads", type=_count("--threads"),
                   help="CPU threads per worker (default: the machine's CPUs divided by --workers)")
    g.add_argument("--executor", default="local", choices=["local", "ray"], help="where samples run")
    g.add_argument("--address", help="Ray cluster address (with --executor ray; default: start a local Ray)")
    g.add_argument("--physics", choices=["spring_mass", "reduced", "mpm", "mixed"], help="GT physics model (overrides the profile)")
    g.add_argument("--renderer", choices=["splat", "blender"], help="renderer (overrides the profile)")
    g.add_argument("--splits", help="comma list (e.g. test): make only the samples of these splits, the same bytes "
                   "as in the full dataset (a later run without it adds the rest)")
    g.add_argument("--force", action="store_true", help="regenerate every sample")
    g.set_defaults(fn=cmd_gen)
    r = sub.add_parser("run", help="run a method on a split of a dataset")
    r.add_argument("--method", required=True, help=_methods_help())
    r.add_argument("--data", default="data/quick", help="dataset directory (default data/quick)")
    r.add_argument("--split", default="test", help="train | val | test | all (default test)")
    r.add_argument("--out", help="run directory (default runs/<dataset>/<name>-<split>)")
    r.add_argument("--method-config", help="YAML of method settings (default configs/methods/<method>.yaml)")
    r.add_argument("--timeout", type=_seconds,
                   help=f"seconds per sample before it is recorded as failed (wins over the config's timeout_s; "
                        f"default: timeout_s, else {DEFAULT_TIMEOUT_S:g})")
    r.add_argument("--threads", type=_count("--threads"),
                   help="CPU threads of each sample's process (wins over the config's threads; default: the CPUs)")
    r.add_argument("--seeds", type=_count("--seeds"), default=1,
                   help="run a stochastic method K times (seed = the config's + k) into OUT/seed-<k>; the board "
                        "shows the mean over seeds and their spread (default 1); a learned method whose checkpoint dir holds "
                        "`bench train --seeds` models runs seed k with model k")
    r.add_argument("--inline", action="store_true", help="run in this process (no per-sample isolation or timeout)")
    r.add_argument("--force", action="store_true", help="discard the run directory's samples and run them all again")
    r.add_argument("--track", default="default", choices=["default", "transfer"],
                   help="transfer: fit on the observed data, predict under the held-out interaction (transfer/controls.npy)")
    r.set_defaults(fn=cmd_run)
    t = sub.add_parser("train", help="train a learned method (e.g. reconphys) on a split; resumes from the latest checkpoint")
    t.add_argument("--method", required=True, help=_methods_help())
    t.add_argument("--data", default="data/quick", help="dataset directory (default data/quick)")
    t.add_argument("--split", default="train", help="train | val | test | all (default train)")
    t.add_argument("--out", help="checkpoint directory (default runs/checkpoints/<method>/<dataset name>)")
    t.add_argument("--method-config", help="YAML of method settings (default configs/methods/<method>.yaml)")
    t.add_argument("--steps", type=_count("--steps", 0), help="total optimisation steps (overrides the method config)")
    t.add_argument("--force", action="store_true", help="start from scratch (delete the checkpoints in --out)")
    t.add_argument("--seeds", type=_count("--seeds"), default=1,
                   help="train K models (seed = the config's + k) into OUT/seed-<k>; `bench run --seeds K` then runs "
                        "seed k with model k, so the board's seed spread includes training (default 1)")
    t.set_defaults(fn=cmd_train)
    e = sub.add_parser("eval", help="score run directories (writes metrics.json per sample, results.json)")
    e.add_argument("runs", nargs="+", metavar="RUN", help="run directories (the --out of `bench run`)")
    e.add_argument("--data", help="dataset directory (default: the one recorded in run.json)")
    e.add_argument("--background", default="plate", choices=["plate", "flat"],
                   help="image metrics see predictions over the sample's background plate where it has one (default), "
                        "or over the flat background colour as rendered (another protocol id)")
    e.set_defaults(fn=cmd_eval)
    b = sub.add_parser("board", help="build the static HTML leaderboard from scored runs")
    b.add_argument("runs", nargs="+", metavar="RUN", help="scored run directories (`bench eval` first) or bundles (`bench export`)")
    b.add_argument("--out", default="site", help="site folder (default site)")
    b.add_argument("--max-sample-pages", type=_count("--max-sample-pages", 0),
                   help="cap the per-sample pages (large datasets); default: all")
    b.add_argument("--title", default="physrecon-bench leaderboard", help="page title")
    b.add_argument("--unverified", action="store_true",
                   help="show runs whose scores cannot be traced to their stored files (flagged) instead of refusing")
    b.set_defaults(fn=cmd_board)
    v = sub.add_parser("verify", help="recompute every metric of scored runs and check every recorded hash")
    v.add_argument("runs", nargs="+", metavar="RUN", help="scored run directories, or bundles from `bench export`")
    v.add_argument("--data", help="dataset directory (default: the one recorded in run.json)")
    v.set_defaults(fn=cmd_verify)
    x = sub.add_parser("export", help="write a scored run as one archive others can `bench verify` and put on a board")
    x.add_argument("run", metavar="RUN", help="a scored run directory")
    x.add_argument("--out", help="archive path (default RUN.tar.gz beside the run)")
    x.set_defaults(fn=cmd_export)
    c = sub.add_parser("check", help="validate a dataset or run directory (names, files, hashes, shapes)")
    c.add_argument("path", help="a dataset directory (manifest.jsonl) or a run directory (run.json)")
    c.set_defaults(fn=cmd_check)
    ls = sub.add_parser("list", help="list methods and profiles")
    ls.add_argument("what", nargs="?", default="all", choices=["methods", "profiles", "all"])
    ls.set_defaults(fn=cmd_list)
    s = sub.add_parser("show", help="show one sample: GT physics, files, a preview")
    s.add_argument("sample", help="sample directory, or a sample id with --data")
    s.add_argument("--data", help="dataset directory the sample id is in")
    s.add_argument("--no-preview", action="store_true", help="skip the terminal preview of the frames")
    s.set_defaults(fn=cmd_show)
    d = sub.add_parser("demo", help="gen -> run static & oracle -> eval -> board, in one go")
    d.add_argument("--profile", default="quick", help="dataset profile (default quick)")
    d.add_argument("--n", type=_count("--n"), help="number of samples (default: the profile's)")
    d.add_argument("--split", default="test", help="split the baselines run on (default test)")
    d.add_argument("--out", default="bench-demo", help="folder for data/, runs/ and site/ (default bench-demo)")
    d.set_defaults(fn=cmd_demo)
    return p


def run(argv: list[str]) -> int:
    """Parse and execute one command; user errors propagate as UserError."""
    args = build_parser().parse_args(argv)
    return int(args.fn(args) or 0)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one line on stderr and exit status 2."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        rc = run(argv)
    except UserError as err:
        verb = next((a for a in argv if not a.startswith("-")), "")
        print(f"bench {verb}: error: {err}".replace("  ", " "), file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("bench: interrupted; re-run the same command to resume", file=sys.stderr)
        sys.exit(130)
    sys.exit(rc)


if __name__ == "__main__":
    main()
