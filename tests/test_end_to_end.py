"""End to end on the tiny profile: gen -> run static & oracle -> eval -> board, plus resume after kill."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bench.cli import run as bench
from core.dataset import read_manifest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    data = root / "data"
    bench(["gen", "--profile", "tiny", "--out", str(data)])
    runs = {}
    for m in ("static", "oracle"):
        runs[m] = root / f"run-{m}"
        bench(["run", "--method", m, "--data", str(data), "--split", "all", "--out", str(runs[m])])
        bench(["eval", str(runs[m])])
    bench(["board", str(runs["static"]), str(runs["oracle"]), "--out", str(root / "site")])
    return root, data, runs


def test_dataset_is_complete_and_valid(pipeline):
    _, data, _ = pipeline
    recs = read_manifest(data)
    assert len(recs) == 6 and all(r["status"] == "ok" for r in recs)
    assert {r["split"] for r in recs} <= {"train", "val", "test"}
    for r in recs:
        meta = json.loads((data / r["sample_id"] / "sample.json").read_text())
        for key in ("seed", "physics", "time", "world", "render", "versions", "scenario", "binding"):
            assert key in meta
        assert meta["world"]["gravity"] == [0.0, 0.0, -9.81]
        pts = np.load(data / r["sample_id"] / "gt" / "points.npy")
        parts = np.load(data / r["sample_id"] / "gt" / "particles.npy")
        assert pts.shape[0] == parts.shape[0] == meta["time"]["n_frames"]
        assert parts[..., 2].min() > -1e-3  # no ground penetration
    assert bench(["check", str(data)]) == 0


def _results(run):
    return json.loads((run / "results.json").read_text())


def _mean(run, phase, group, metric):
    vals = [s["summary"][phase][group][metric] for s in _results(run)["samples"] if s["status"] == "ok"]
    return float(np.mean([float(v) for v in vals]))


def test_oracle_beats_static_on_future_frames(pipeline):
    _, _, runs = pipeline
    assert all(s["status"] == "ok" for s in _results(runs["static"])["samples"])
    assert all(s["status"] == "ok" for s in _results(runs["oracle"])["samples"])
    assert _mean(runs["oracle"], "future", "all", "psnr") > _mean(runs["static"], "future", "all", "psnr")
    assert _mean(runs["oracle"], "future", "geometry", "chamfer") < _mean(runs["static"], "future", "geometry", "chamfer")
    # the oracle goes through files, cameras and the renderer of the method side: its frames must match GT
    assert _mean(runs["oracle"], "observed", "all", "psnr") > 45.0
    assert _mean(runs["oracle"], "observed", "held_out", "psnr") > 45.0
    assert bench(["check", str(runs["oracle"])]) == 0


def test_metrics_files_are_traceable(pipeline):
    _, data, runs = pipeline
    res = _results(runs["static"])
    s = res["samples"][0]
    m = json.loads((runs["static"] / s["sample_id"] / "metrics.json").read_text())
    T = json.loads((data / s["sample_id"] / "sample.json").read_text())["time"]["n_frames"]
    n_obs = json.loads((data / s["sample_id"] / "sample.json").read_text())["time"]["n_observed"]
    psnr = {v: [float(x) for x in vals["psnr"]] for v, vals in m["per_frame"]["image"].items()}
    assert all(len(v) == T for v in psnr.values())
    fut = np.mean([psnr[v][t] for v in psnr for t in range(n_obs, T)])
    assert abs(fut - float(m["summary"]["future"]["all"]["psnr"])) < 1e-9
    # observed phase = frames 1..n_obs-1: frame 0 (the given initial state) is in no phase mean
    emd = [float(x) for x in m["per_frame"]["geometry"]["emd"]]
    assert len(emd) == T
    assert abs(np.mean(emd[1:n_obs]) - float(m["summary"]["observed"]["geometry"]["emd"])) < 1e-12
    assert abs(np.mean(emd[1:]) - float(m["summary"]["all"]["geometry"]["emd"])) < 1e-12
    assert m["hashes"]["pred"] and m["hashes"]["gt"]
    assert m["params"]["status"] == "n/a"  # static estimates no physics: n/a, never 0


def test_board_lists_methods_and_conventions(pipeline):
    root, _, _ = pipeline
    html = (root / "site" / "index.html").read_text()
    assert "Static (last observed state)" in html and "Oracle (GT physics)" in html
    assert "11×11 Gaussian" in html  # SSIM convention footnote
    assert (root / "site" / "leaderboard.csv").exists()
    assert list((root / "site" / "media").glob("*.gif"))


def _gen_cmd(out):
    return [sys.executable, "-m", "bench.cli", "gen", "--profile", "tiny", "--out", str(out)]


def test_gen_killed_midway_resumes_to_identical_manifest(pipeline, tmp_path):
    _, data, _ = pipeline
    out = tmp_path / "killed"
    proc = subprocess.Popen(_gen_cmd(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline:
        man = out / "manifest.jsonl"
        if man.exists() and len(man.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = read_manifest(out)
    assert 2 <= len(partial) < 6, "the kill must land mid-run"
    (out / ".tmp-s00005-leftover").mkdir()  # what a kill during a write leaves
    subprocess.run(_gen_cmd(out), check=True, capture_output=True)
    assert (out / "manifest.jsonl").read_bytes() == (data / "manifest.jsonl").read_bytes()
    assert not list(out.glob(".tmp-*"))


def test_train_mean_baseline_predicts_training_means(pipeline, tmp_path):
    """`train_mean`: bench train averages the train split's GT (log10 for stiffness); its test-split
    parameter errors equal |mean - gt| computed here from the sample.json files directly."""
    from core.errors import UserError

    _, data, _ = pipeline
    recs = read_manifest(data)
    train = [r["sample_id"] for r in recs if r["split"] == "train" and r["status"] == "ok"]
    test = [r["sample_id"] for r in recs if r["split"] == "test" and r["status"] == "ok"]
    assert train and test
    with pytest.raises(UserError, match="no .* checkpoint"):  # run before train: the one-line error
        from methods.baselines import TrainMeanBaseline

        TrainMeanBaseline.resolve_run_config({"checkpoint": str(tmp_path / "none")}, data)
    ck, run = tmp_path / "ck", tmp_path / "run"
    assert bench(["train", "--method", "train_mean", "--data", str(data), "--split", "train", "--out", str(ck)]) == 0
    assert bench(["run", "--method", "train_mean", "--data", str(data), "--split", "test", "--out", str(run),
                  "--method-config", str(_cfg(tmp_path, ck))]) == 0
    assert bench(["eval", str(run)]) == 0
    gt = {s: json.loads((data / s / "sample.json").read_text())["physics"]["params"] for s in train + test}
    k_mean = 10 ** np.mean([np.log10(gt[s]["stiffness"]) for s in train])
    mu_mean = np.mean([gt[s]["friction"] for s in train])
    for s in test:
        err = json.loads((run / s / "metrics.json").read_text())["params"]["errors"]
        assert err["stiffness"]["log10_abs"] == pytest.approx(abs(np.log10(k_mean) - np.log10(gt[s]["stiffness"])), abs=1e-9)
        assert err["friction"]["abs"] == pytest.approx(abs(mu_mean - gt[s]["friction"]), abs=1e-9)


def _cfg(tmp_path, ck):
    p = tmp_path / "tm.yaml"
    p.write_text(f"checkpoint: {ck}\n")
    return p
