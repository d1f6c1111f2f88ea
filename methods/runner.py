"""`bench run`: run a method on every sample of a split, one child process per sample.

Each sample runs in a fresh (spawned) child with a wall-clock limit; the child writes its outputs into a
temp dir renamed into place. A method that raises, is killed, or exceeds its limit is recorded as
a failure with its reason, and the run goes on. Complete samples are skipped on re-run.

Tracks: on an interaction sample (``gt/controls.npy``) a method that declares
``MethodInputs(controls=False)`` cannot be driven by the controls, so the sample is recorded as
``not_applicable`` (not run, not a failure); baselines are bounds and always run (``static``
ignores the controls: the zero-motion lower bound). ``track="transfer"`` fits on the observed data as
usual, then predicts under the held-out interaction ``DATA/<sid>/transfer/controls.npy``.
"""
from __future__ import annotations

import multiprocessing as mp
import resource
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from core.dataset import select_samples
from core.errors import UserError
from core.atomic import atomic_dir, remove_stale_temps
from core.hashing import sha256_bytes
from core.jsonio import read_json, dumps, write_json
from core.rundir import RUN_FORMAT, STATUS_JSON, write_prediction
from core.versions import package_versions
from methods.registry import make_method

TRACKS = ("default", "transfer")
NOT_APPLICABLE = "not_applicable"


def not_applicable_reason(method: Any, sample_path: Path, track: str | None) -> str | None:
    """Why ``method`` cannot run this sample on this track (None: it can)."""
    interaction = (sample_path / "gt" / "controls.npy").exists()
    if track == "transfer" and not (sample_path / "transfer" / "controls.npy").exists():
        return "no held-out transfer interaction in this sample (transfer/controls.npy)"
    if (interaction or track == "transfer") and not method.inputs.controls and method.kind != "baseline":
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
        try:
            obs = build_observation(Path(sample_path), method.inputs)
            query = build_query(Path(sample_path), transfer=track == "transfer")
            t0 = time.perf_counter()
            if method.runs_externally:  # a program outside Python does fit + predict in one go
                pred = method.run_sample(obs, query, tmp / "work")
                fit_s, predict_s = time.perf_counter() - t0, 0.0
            else:
                asset = method.fit(obs)
                t1 = time.perf_counter()
                pred = method.predict(asset, query)
                fit_s, predict_s = t1 - t0, time.perf_counter() - t1
                method.export_asset(asset, tmp / "asset")
            write_prediction(tmp, pred)
            status.update(status="ok", reason=None, fit_s=fit_s, predict_s=predict_s)
        except Exception as exc:  # a failure is a result
            status.update(status="failed", reason=f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}",
                          traceback=traceback.format_exc(limit=10))
        status["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        status["device"] = _device()
        write_json(tmp / STATUS_JSON, status)
    return status


def _child(method_name: str, config: dict[str, Any], sample_path: str, out_dir: str, track: str | None) -> None:
    run_sample_inline(method_name, config, sample_path, out_dir, track)


def write_not_applicable(method_name: str, sample_path: str, out_dir: str, reason: str) -> dict[str, Any]:
    """Record a sample the method cannot take (not run; counted apart from failures)."""
    status = {"sample_id": Path(sample_path).name, "method": method_name, "status": NOT_APPLICABLE, "reason": reason}
    with atomic_dir(Path(out_dir)) as tmp:
        write_json(tmp / STATUS_JSON, status)
    return status


def run_sample_isolated(method_name: str, config: dict[str, Any], sample_path: str, out_dir: str,
                        timeout_s: float, track: str | None = None) -> dict[str, Any]:
    """Run one sample in a spawned child process; kill it past ``timeout_s`` and record the failure."""
    ctx = mp.get_context("spawn")  # fork after torch/warp ran in the parent can deadlock the child
    t0 = time.perf_counter()
    proc = ctx.Process(target=_child, args=(method_name, config, sample_path, out_dir, track), daemon=False)
    proc.start()
    proc.join(timeout_s)
    reason = None
    if proc.is_alive():
        proc.kill()
        proc.join()
        reason = f"timeout: exceeded the {timeout_s:g} s limit"
    elif proc.exitcode != 0:
        reason = f"crashed: child exited with code {proc.exitcode}"
    out = Path(out_dir)
    if reason is None and (out / STATUS_JSON).exists():
        return read_json(out / STATUS_JSON)
    status = {"sample_id": Path(sample_path).name, "method": method_name, "status": "failed",
              "reason": reason or "no status written", "wall_s": time.perf_counter() - t0}
    with atomic_dir(out) as tmp:
        write_json(tmp / STATUS_JSON, status)
    return status


def run_method(method_name: str, data_root: Path, split: str, out_root: Path, config: dict[str, Any],
               timeout_s: float = 3600.0, isolate: bool = True, resume: bool = True,
               on_progress: Callable[[int, int, dict[str, Any]], None] | None = None,
               track: str | None = None) -> list[dict[str, Any]]:
    """Run ``method_name`` on ``split`` of the dataset at ``data_root``; returns per-sample statuses.

    ``track="transfer"`` predicts under each sample's held-out interaction (run.json ``track``).
    """
    track = None if track in (None, "default") else track
    if track not in (None, "transfer"):
        raise UserError("--track", f"unknown track '{track}'", f"use one of {', '.join(TRACKS)}")
    if not data_root.exists():
        raise UserError("--data", f"dataset directory '{data_root}' does not exist", "generate one with `bench gen --out DIR`")
    method = make_method(method_name, config)
    samples = select_samples(data_root, split)
    if not samples:
        raise UserError("--split", f"no completed samples in split '{split}' of {data_root}",
                        "generate more samples (`bench gen --n N`) or choose another split")
    if track == "transfer" and not any((data_root / r["sample_id"] / "transfer" / "controls.npy").exists() for r in samples):
        raise UserError("--track", f"no sample of split '{split}' of {data_root} has a held-out transfer interaction",
                        "generate an interaction dataset with transfer (e.g. `bench gen --profile tiny_interact`)")
    out_root.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out_root)
    spec = method.spec().to_json()
    write_json(out_root / "run.json", {**({"track": track} if track else {}),
        "format": RUN_FORMAT, "method": method.name, "method_spec": spec, "config": config,
        "config_sha256": sha256_bytes(dumps(config).encode()), "dataset": str(data_root.resolve()),
        "dataset_manifest_sha256": sha256_bytes((data_root / "manifest.jsonl").read_bytes()),
        "split": split, "timeout_s": timeout_s, "versions": package_versions(),
        "samples": [s["sample_id"] for s in samples],
    })
    limit = float(config.get("timeout_s", timeout_s))
    results = []
    for i, rec in enumerate(samples, 1):
        sid = rec["sample_id"]
        out = out_root / sid
        na = not_applicable_reason(method, data_root / sid, track)
        if resume and (out / STATUS_JSON).exists():
            st = read_json(out / STATUS_JSON)
        elif na is not None:
            st = write_not_applicable(method.name, str(data_root / sid), str(out), na)
        elif isolate:
            st = run_sample_isolated(method_name, config, str(data_root / sid), str(out), limit, track)
        else:
            st = run_sample_inline(method_name, config, str(data_root / sid), str(out), track)
        results.append(st)
        if on_progress:
            on_progress(i, len(samples), st)
    return results

