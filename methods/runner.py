"""`bench run`: run a method on every sample of a split, one child process per sample.

Before any method runs, every selected sample is checked against the manifest's sha256 (a corrupt or
missing file is one ``DataError`` naming it, pointing to `bench check`). Each sample then runs in a
fresh (spawned) child with a wall-clock limit, a CPU-thread cap, and a parent-death signal (it dies
with `bench`, even on ``kill -9``); the child writes its outputs into a temp dir renamed into place. A
method that raises, is killed, or exceeds its limit is recorded as a failure with its reason, and the
run goes on. Complete samples are skipped on re-run; a run dir made with another method config,
dataset, split or track is refused (``--force`` starts it afresh).

Limits: ``--timeout`` (when given) wins over the method config's ``timeout_s``, which wins over the
default ``DEFAULT_TIMEOUT_S``. Threads: ``--threads`` wins over the config's ``threads``, which wins over
the machine's CPUs (one sample runs at a time). Both are recorded in run.json.

Tracks: on an interaction sample (``gt/controls.npy``) a method that declares
``MethodInputs(controls=False)`` cannot be driven by the controls, so the sample is recorded as
``not_applicable`` (not run, not a failure); baselines are bounds and always run (``static``
ignores the controls: the zero-motion lower bound). ``track="transfer"`` fits on the observed data as
usual, then predicts under the held-out interaction ``DATA/<sid>/transfer/controls.npy``.
"""
from __future__ import annotations

import multiprocessing as mp
import resource
import shutil
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from core.atomic import atomic_dir, remove_stale_temps
from core.dataset import SampleDir, require_intact, require_readable, select_samples
from core.errors import UserError
from core.hashing import sha256_bytes
from core.jsonio import dumps, read_json, write_json
from core.processes import die_with_parent, limit_threads, thread_share
from core.rundir import RUN_FORMAT, RunDir, RunSample, write_prediction
from core.versions import package_versions
from methods.registry import make_method

TRACKS = ("default", "transfer")
NOT_APPLICABLE = "not_applicable"
DEFAULT_TIMEOUT_S = 3600.0
#: run.json keys that must match for `bench run` to resume into an existing run dir
RESUME_KEYS = ("method", "config_sha256", "dataset", "split", "track")


def not_applicable_reason(method: Any, sample: SampleDir, track: str | None) -> str | None:
    """Why ``method`` cannot run this sample on this track (None: it can)."""
    if track == "transfer" and not sample.has_transfer:
        return "no held-out transfer interaction in this sample (transfer/controls.npy)"
    if (sample.is_interaction or track == "transfer") and not method.inputs.controls and method.kind != "baseline":
        return "the method takes no control trajectories (MethodInputs.controls=False)"
    return None


def _device() -> str:
    import torch

    return f"cuda:{torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "cpu"


def run_sample_inline(method_name: str, config: dict[str, Any], sample_path: str, out_dir: str,
                      track: str | None = None) -> dict[str, Any]:
    """Run one sample in this process and write ``out_dir`` atomically; returns the status record."""
    from methods.observation import build_observation, build_query

    method = make_method(method_name, config)
    status: dict[str, Any] = {"sample_id": Path(sample_path).name, "method": method.name}
    if track == "transfer":
        status["track"] = track
    with atomic_dir(out_dir) as tmp:
        out = RunSample(tmp)
        try:
            obs = build_observation(Path(sample_path), method.inputs)
            query = build_query(Path(sample_path), transfer=track == "transfer")
            t0 = time.perf_counter()
            if method.runs_externally:  # a program outside Python does fit + predict in one go
                pred = method.run_sample(obs, query, out.work_dir)
                fit_s, predict_s = time.perf_counter() - t0, 0.0
            else:
                asset = method.fit(obs)
                t1 = time.perf_counter()
                pred = method.predict(asset, query)
                fit_s, predict_s = t1 - t0, time.perf_counter() - t1
                method.export_asset(asset, out.asset_dir)
            write_prediction(tmp, pred)
            status.update(status="ok", reason=None, fit_s=fit_s, predict_s=predict_s)
        except Exception as exc:  # a failure is a result
            status.update(status="failed", reason=f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}",
                          traceback=traceback.format_exc(limit=10))
        status["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        status["device"] = _device()
        if config.get("threads"):
            status["threads"] = int(config["threads"])
        write_json(out.status_json, status)
    return status


def _child(method_name: str, config: dict[str, Any], sample_path: str, out_dir: str, track: str | None) -> None:
    die_with_parent()
    if config.get("threads"):
        limit_threads(int(config["threads"]))
    run_sample_inline(method_name, config, sample_path, out_dir, track)


def write_not_applicable(method_name: str, sample_path: str, out_dir: str, reason: str) -> dict[str, Any]:
    """Record a sample the method cannot take (not run; counted apart from failures)."""
    status = {"sample_id": Path(sample_path).name, "method": method_name, "status": NOT_APPLICABLE, "reason": reason}
    with atomic_dir(Path(out_dir)) as tmp:
        write_json(RunSample(tmp).status_json, status)
    return status


def run_sample_isolated(method_name: str, config: dict[str, Any], sample_path: str, out_dir: str,
                        timeout_s: float, track: str | None = None) -> dict[str, Any]:
    """Run one sample in a spawned child process; kill it past ``timeout_s`` and record the failure."""
    ctx = mp.get_context("spawn")  # fork after torch/warp ran in the parent can deadlock the child
    t0 = time.perf_counter()
    proc = ctx.Process(target=_child, args=(method_name, config, sample_path, out_dir, track), daemon=False)
    proc.start()
    timed_out = False
    try:
        proc.join(timeout_s)
        timed_out = proc.is_alive()
    finally:
        if proc.is_alive():  # over the limit, or the parent is being interrupted: the child never outlives it
            proc.kill()
            proc.join()
    reason = None
    if timed_out:
        reason = f"timeout: exceeded the {timeout_s:g} s limit"
    elif proc.exitcode != 0:
        reason = f"crashed: child exited with code {proc.exitcode}"
    out = RunSample(Path(out_dir))
    if reason is None and out.status_json.exists():
        return read_json(out.status_json)
    status = {"sample_id": Path(sample_path).name, "method": method_name, "status": "failed",
              "reason": reason or "no status written", "wall_s": time.perf_counter() - t0}
    with atomic_dir(out.path) as tmp:
        write_json(RunSample(tmp).status_json, status)
    return status


def _prepare_run_dir(out_root: Path, record: dict[str, Any], force: bool) -> None:
    """Create the run dir, or check that an existing one was made by the same method config on the same
    data (else one ``UserError``); ``force`` clears a run dir (only a run dir) first."""
    run = RunDir(out_root)
    if out_root.exists() and any(out_root.iterdir()) and not run.exists():
        raise UserError(str(out_root), "exists and is not a run directory (no run.json); nothing was written",
                        "pass an empty or new --out")
    if run.exists() and force:
        shutil.rmtree(out_root)
    elif run.exists():
        old = run.meta()
        diff = [k for k in RESUME_KEYS if old.get(k) != record.get(k)]
        if diff:
            raise UserError(str(run.run_json), f"this run dir was made with another {', '.join(diff)} "
                            f"(e.g. {diff[0]} {old.get(diff[0])!r} vs now {record.get(diff[0])!r}); resuming would mix them",
                            "use another --out, or --force to discard this run and start again")
    out_root.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out_root)


def run_seeds(method_name: str, data_root: Path, split: str, out_root: Path, config: dict[str, Any], seeds: int,
              resolve: Callable[[dict[str, Any], int], dict[str, Any]] | None = None,
              **kw: Any) -> list[list[dict[str, Any]]]:
    """``bench run --seeds K``: the method K times with ``seed`` = the config's seed + k, into
    ``out_root/seed-<k>``; each run.json records its ``seed_group`` so the board averages them per sample
    and reports the spread across seeds. ``resolve(config, k)``: seed k's run config (a learned method's
    checkpoint of training seed k, `bench train --seeds`); the group is the config before it."""
    base = int(config.get("seed", 0))
    group = sha256_bytes(dumps({k: v for k, v in config.items() if k != "seed"}).encode())
    out = []
    for k in range(seeds):
        cfg = {**config, "seed": base + k}
        if resolve is not None:
            cfg = resolve(cfg, k)
        out.append(run_method(method_name, data_root, split, out_root / f"seed-{k}", cfg, seed_group={
            "index": k, "of": seeds, "seed": base + k, "group_config_sha256": group,
            "trained_per_seed": resolve is not None}, **kw))
    return out


def run_method(method_name: str, data_root: Path, split: str, out_root: Path, config: dict[str, Any],
               timeout_s: float | None = None, isolate: bool = True, resume: bool = True,
               on_progress: Callable[[int, int, dict[str, Any]], None] | None = None,
               track: str | None = None, threads: int | None = None,
               seed_group: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run ``method_name`` on ``split`` of the dataset at ``data_root``; returns per-sample statuses.

    ``timeout_s`` / ``threads`` are the command-line values (None: the config's, else the defaults).
    ``resume=False`` discards an existing run dir. ``track="transfer"`` predicts under each sample's
    held-out interaction (run.json ``track``).
    """
    track = None if track in (None, "default") else track
    if track not in (None, "transfer"):
        raise UserError("--track", f"unknown track '{track}'", f"use one of {', '.join(TRACKS)}")
    if not data_root.exists():
        raise UserError("--data", f"dataset directory '{data_root}' does not exist", "generate one with `bench gen --out DIR`")
    method = make_method(method_name, config)  # validates the config: one UserError before anything is written
    samples = select_samples(data_root, split)
    if not samples:
        raise UserError("--split", f"no completed samples in split '{split}' of {data_root}",
                        "generate more samples (`bench gen --n N`) or choose another split")
    if track == "transfer" and not any(SampleDir(data_root / r["sample_id"]).has_transfer for r in samples):
        raise UserError("--track", f"no sample of split '{split}' of {data_root} has a held-out transfer interaction",
                        "generate an interaction dataset with transfer (e.g. `bench gen --profile tiny_interact`)")
    require_intact(data_root, samples)  # a corrupt dataset is a data error, never a method failure
    require_readable(data_root, samples)
    from methods.ranges import check_parameter_ranges

    ranges = check_parameter_ranges(method, data_root)  # a method that cannot reach the data is refused here
    limit = float(timeout_s if timeout_s is not None else (method.cfg.get("timeout_s") or DEFAULT_TIMEOUT_S))
    n_threads = thread_share(1, threads if threads is not None else method.cfg.get("threads"))
    record = {**({"track": track} if track else {}),
              "format": RUN_FORMAT, "method": method.name, "method_spec": method.spec().to_json(), "config": config,
              "budget": method.cfg.get("budget"),  # the validated budget class (a YAML may leave it to the default)
              "config_sha256": sha256_bytes(dumps(config).encode()), "dataset": str(data_root.resolve()),
              "dataset_manifest_sha256": sha256_bytes((data_root / "manifest.jsonl").read_bytes()),
              "split": split, "timeout_s": limit, "threads": n_threads, "parameter_ranges": ranges,
              **({"seed_group": seed_group} if seed_group else {}), "versions": package_versions(),
              "samples": [s["sample_id"] for s in samples]}
    _prepare_run_dir(out_root, record, force=not resume)
    run = RunDir(out_root)
    write_json(run.run_json, record)
    child_cfg = {**config, "threads": n_threads}
    results = []
    for i, rec in enumerate(samples, 1):
        sid = rec["sample_id"]
        out = run.sample(sid)
        sample = SampleDir(data_root / sid)
        na = not_applicable_reason(method, sample, track)
        if out.status_json.exists():
            st = read_json(out.status_json)
        elif na is not None:
            st = write_not_applicable(method.name, str(sample.path), str(out.path), na)
        elif isolate:
            st = run_sample_isolated(method_name, child_cfg, str(sample.path), str(out.path), limit, track)
        else:
            st = run_sample_inline(method_name, child_cfg, str(sample.path), str(out.path), track)
        results.append(st)
        if on_progress:
            on_progress(i, len(samples), st)
    return results
