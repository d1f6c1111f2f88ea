"""The locked protocol: the id changes with each of its inputs (and only then); `bench verify` passes on a fresh
run and fails in one line after one byte of a prediction or of the dataset changes; bundles verify elsewhere."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import run as bench
from metrics.protocol import protocol_id, protocol_inputs


def test_protocol_id_changes_when_an_input_changes_and_only_then():
    base = dict(dataset_manifest_sha256="aa" * 32, split="test", track=None, eval_config={"emd_n": 256, "lpips": True},
                conventions={"psnr": "10 log10(1/MSE)"}, harness="0.2.0")
    ref = protocol_id(protocol_inputs(**base))
    assert protocol_id(protocol_inputs(**base)) == ref  # deterministic
    assert protocol_id(protocol_inputs(**{**base, "eval_config": {"lpips": True, "emd_n": 256}})) == ref  # key order
    for change in ({"dataset_manifest_sha256": "bb" * 32}, {"split": "val"}, {"track": "transfer"},
                   {"eval_config": {"emd_n": 512, "lpips": True}}, {"conventions": {"psnr": "other"}},
                   {"harness": "0.2.1"}):
        assert protocol_id(protocol_inputs(**{**base, **change})) != ref, change


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "bench.cli", *map(str, args)], capture_output=True, text=True)


def _fails_in_one_line(res, *needles):
    assert res.returncode == 2, res.stdout + res.stderr
    line = res.stderr.strip().splitlines()[-1]
    assert "Traceback" not in res.stderr and line.startswith("bench verify: error:"), res.stderr
    for n in needles:
        assert n in line, line


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("proto")
    data = root / "data"
    bench(["gen", "--profile", "tiny", "--n", "2", "--out", str(data)])
    run = root / "run"
    bench(["run", "--method", "static", "--data", str(data), "--split", "all", "--out", str(run)])
    bench(["eval", str(run)])
    return data, run


def test_verify_passes_then_fails_on_one_changed_byte(scored, tmp_path):
    data, run = scored
    ok = _cli("verify", run)
    assert ok.returncode == 0 and "verified" in ok.stdout, ok.stderr
    pid = json.loads((run / "results.json").read_text())["protocol_id"]
    assert len(pid) == 64 and pid[:12] in ok.stdout
    # one byte of one prediction file
    bad_run = tmp_path / "bad_run"
    shutil.copytree(run, bad_run)
    png = bad_run / "s00001" / "pred" / "rgb" / "view0" / "0003.png"
    raw = bytearray(png.read_bytes())
    raw[-20] ^= 0x01
    png.write_bytes(bytes(raw))
    _fails_in_one_line(_cli("verify", bad_run, "--data", data), "s00001", "0003.png", "differs")
    # one byte of one dataset frame
    bad_data = tmp_path / "bad_data"
    shutil.copytree(data, bad_data)
    frame = bad_data / "s00000" / "rgb" / "view1" / "0002.png"
    raw = bytearray(frame.read_bytes())
    raw[-20] ^= 0x01
    frame.write_bytes(bytes(raw))
    _fails_in_one_line(_cli("verify", run, "--data", bad_data), "0002.png", "sha256")
    # a metric value edited in metrics.json (and results.json's hash of it made to match)
    edited = tmp_path / "edited"
    shutil.copytree(run, edited)
    m = edited / "s00000" / "metrics.json"
    doc = json.loads(m.read_text())
    doc["summary"]["future"]["all"]["psnr"] += 1.0
    m.write_text(json.dumps(doc))
    res = json.loads((edited / "results.json").read_text())
    from core.hashing import sha256_file

    res["samples"][0]["hashes"]["metrics_sha256"] = sha256_file(m)
    (edited / "results.json").write_text(json.dumps(res))
    _fails_in_one_line(_cli("verify", edited, "--data", data), "psnr", "recomputed")


def test_exported_bundle_verifies_and_goes_on_a_board(scored, tmp_path):
    data, run = scored
    out = tmp_path / "static.tar.gz"
    assert bench(["export", str(run), "--out", str(out)]) == 0 and out.exists()
    ok = _cli("verify", out, "--data", data)
    assert ok.returncode == 0, ok.stderr
    assert bench(["board", str(out), "--out", str(tmp_path / "site")]) == 0
    board = json.loads((tmp_path / "site" / "leaderboard.json").read_text())
    assert board[0]["method"] == "static" and board[0]["n"] == 2


def test_seeds_run_k_times_and_the_board_averages_them(scored, tmp_path):
    data, _ = scored
    out = tmp_path / "rigid"
    assert bench(["run", "--method", "rigid", "--data", str(data), "--split", "all", "--out", str(out),
                  "--seeds", "2"]) == 0
    runs = [json.loads((out / f"seed-{k}" / "run.json").read_text()) for k in range(2)]
    assert [r["config"]["seed"] for r in runs] == [0, 1]
    assert runs[0]["seed_group"]["group_config_sha256"] == runs[1]["seed_group"]["group_config_sha256"]
    assert bench(["eval", str(out)]) == 0  # the seed folder expands to its runs
    assert bench(["board", str(out), "--out", str(tmp_path / "site")]) == 0
    board = json.loads((tmp_path / "site" / "leaderboard.json").read_text())
    assert len(board) == 1 and board[0]["n"] == 2  # one row, each sample counted once (mean over seeds)
    page = next((tmp_path / "site").glob("track-*.html")).read_text()
    assert "Spread across method seeds" in page


def test_training_seeds_pair_with_run_seeds(scored, tmp_path):
    """`bench train --seeds 2` writes OUT/seed-<k> with seed = config + k; `bench run --seeds 2` runs seed k with
    model k (one seed group), and a missing model fails before any run."""
    data, _ = scored
    ck = tmp_path / "ck"
    assert bench(["train", "--method", "train_mean", "--data", str(data), "--split", "all", "--out", str(ck),
                  "--seeds", "2"]) == 0
    assert sorted(p.name for p in ck.iterdir()) == ["seed-0", "seed-1"]
    cfg = tmp_path / "tm.yaml"
    cfg.write_text(f"checkpoint: {ck}\n")
    out = tmp_path / "tm"
    assert bench(["run", "--method", "train_mean", "--data", str(data), "--split", "all", "--out", str(out),
                  "--method-config", str(cfg), "--seeds", "2", "--inline"]) == 0
    runs = [json.loads((out / f"seed-{k}" / "run.json").read_text()) for k in range(2)]
    assert [Path(r["config"]["checkpoint"]).name for r in runs] == ["seed-0", "seed-1"]
    assert [r["config"]["seed"] for r in runs] == [0, 1]
    assert runs[0]["seed_group"]["group_config_sha256"] == runs[1]["seed_group"]["group_config_sha256"]
    assert all(r["seed_group"]["trained_per_seed"] for r in runs)
    bad = _cli("run", "--method", "train_mean", "--data", data, "--split", "all", "--out", tmp_path / "tm3",
               "--method-config", cfg, "--seeds", "3", "--inline")
    assert bad.returncode != 0 and "seed-2" in bad.stderr and not (tmp_path / "tm3").exists()


def test_dataset_card_counts_the_manifest_and_names_the_protocol_eval_writes(scored):
    """`bench gen` writes DATASET.md; its counts are the manifest's and its protocol id for split `all` is the one
    `bench eval` wrote into the static run's results.json (computed independently, from the run)."""
    from collections import Counter

    from core.dataset import read_manifest

    data, run = scored
    card = (data / "DATASET.md").read_text()
    recs = [r for r in read_manifest(data) if r["status"] == "ok"]
    assert f"{len(recs)} samples ok, 0 failed" in card
    for split, n in Counter(r["split"] for r in recs).items():
        assert f"| {split} | {n} | {n / len(recs):.0%} |" in card
    for fam, n in Counter(r["category"] for r in recs).items():
        assert f"| {fam} | {n} |" in card
    res = json.loads((run / "results.json").read_text())
    assert f"| all | per sample (freefall / interaction) | `{res['protocol_id']}` |" in card
    assert "| procedural | CC0-1.0 |" in card and "## Generation" in card and "samples/hour" in card
