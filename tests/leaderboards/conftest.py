"""A small fixed set of hand-written scored run dirs (results.json + metrics.json, no dataset)."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from core.jsonio import write_json

T, N_OBS = 4, 2


def _spec(name: str, label: str, kind: str = "method") -> dict:
    return {"name": name, "label": label, "kind": kind, "paper": f"{label} paper", "description": f"{label} description",
            "replaces": "nothing", "inputs_text": "multi-view RGB, masks", "inputs": {}}


def _summary(psnr_obs, psnr_fut, psnr_held, chamfer_fut):
    img = lambda p: {"psnr": p, "ssim": 0.9, "iou": 0.8}  # noqa: E731
    return {"observed": {"all": img(psnr_obs), "seen": img(psnr_obs), "geometry": {"chamfer": 0.001}},
            "future": {"all": img(psnr_fut), "seen": img(psnr_fut), "held_out": img(psnr_held),
                       "geometry": {"chamfer": chamfer_fut}}}


def _sample(sid, obj, cat, status="ok", summary=None, params=None, fit=1.0, predict=2.0, track=None):
    s = {"sample_id": sid, "object_id": obj, "category": cat, "split": "test", "physics_model": "spring_mass",
         "scenario": "freefall", "track": track or "freefall", "status": status,
         "reason": None if status == "ok" else "timeout: exceeded the 10 s limit",
         "cost": {"fit_s": fit, "predict_s": predict, "peak_rss_mb": 100.0, "device": "cpu"},
         "summary": summary if status == "ok" else None, "params": params if status == "ok" else None}
    return s


NA_PARAMS = {"status": "n/a", "why": "the method estimated no parameters", "errors": {},
             "na": {"damping": "not estimated by the method", "stiffness": "not estimated by the method"}}


def _ok_params(k_abs, k_log, damp):
    return {"status": "ok", "errors": {"damping": {"abs": damp}, "stiffness": {"abs": k_abs, "log10_abs": k_log}},
            "na": {}, "material_accuracy": {"param": "stiffness", "value": 1.0 if k_log < 0.08 else 0.0, "n_particles": 10}}


def _per_frame(base: float) -> dict:
    return {"per_frame": {"image": {"view0": {"psnr": ["inf", "inf", base, base - 1], "ssim": [1, 1, 0.9, 0.8]}},
                          "geometry": {"chamfer": [0, 0, 0.001, 0.002]}},
            "time": {"n_frames": T, "n_observed": N_OBS}}


def write_run(root: Path, spec: dict, samples: list[dict], track: str | None = None, config: dict | None = None,
              protocol_id: str | None = "cd" * 32) -> Path:
    root.mkdir(parents=True)
    for s in samples:
        write_json(root / s["sample_id"] / "metrics.json", {**s, **(_per_frame(20.0) if s["status"] == "ok" else {})})
    write_json(root / "results.json", {
        "format": "physrecon-metrics/1", "method": spec["name"], "method_spec": spec, "split": "test", "track": track,
        "config": config or {"iters": 3}, "config_sha256": "ab" * 32, "dataset": str(root.parent / "no-dataset"),
        "lpips": {"status": "unavailable", "reason": "LPIPS unavailable: test"}, "samples": samples,
        **({"protocol_id": protocol_id} if protocol_id else {})})
    return root


@pytest.fixture()
def runs(tmp_path) -> list[Path]:
    """Three methods on three samples (one failure, one n/a method) + a transfer run of method A."""
    a = write_run(tmp_path / "a", _spec("alpha", "Alpha"), [
        _sample("s0", "obj0", "cube", summary=_summary("inf", 20.0, 18.0, 0.002), params=_ok_params(10.0, 0.05, 0.1)),
        _sample("s1", "obj1", "sphere", summary=_summary(30.0, 22.0, 19.0, 0.004), params=_ok_params(30.0, 0.15, 0.3)),
        _sample("s2", "obj2", "cube", status="failed")])
    b = write_run(tmp_path / "b", _spec("beta", "Beta", "baseline"), [
        _sample("s0", "obj0", "cube", summary=_summary(40.0, 15.0, 14.0, 0.01), params=NA_PARAMS, fit=0.0, predict=1.0),
        _sample("s1", "obj1", "sphere", summary=_summary(40.0, 17.0, 16.0, 0.03), params=NA_PARAMS, fit=0.0, predict=1.0),
        _sample("s2", "obj2", "cube", summary=_summary(40.0, 16.0, 15.0, 0.02), params=NA_PARAMS, fit=0.0, predict=1.0)])
    x = write_run(tmp_path / "x", _spec("<script>alert(1)</script>", "<script>alert('x')</script> & co"), [
        _sample("s0", "obj0", "cube", summary=_summary(25.0, 21.0, 20.0, 0.003), params=NA_PARAMS)])
    t = write_run(tmp_path / "t", _spec("alpha", "Alpha"), [
        _sample("s0", "obj0", "cube", summary=_summary(28.0, 19.0, 18.0, 0.005), params=_ok_params(5.0, 0.02, 0.2),
                track="transfer")], track="transfer")
    return [a, b, x, t]


@pytest.fixture()
def run_kit() -> SimpleNamespace:
    """The helpers above, for tests that write their own hand-made scored runs."""
    return SimpleNamespace(write_run=write_run, spec=_spec, sample=_sample, summary=_summary, na_params=NA_PARAMS)
