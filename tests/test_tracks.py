"""Interaction and transfer tracks end to end: tiny_interact gen -> oracle / static transfer runs,
a controls-less method on interaction samples (not_applicable) -> eval -> board with both tracks."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bench.cli import run as bench
from bench.io import read_json
from methods.base import Method, MethodInputs, Observation, Prediction, Query

pytestmark = pytest.mark.slow


class NoControls(Method):
    """A method that cannot be driven by control trajectories (controls=False)."""

    name = "nocontrols"
    label = "No controls"
    inputs = MethodInputs(views="mono", controls=False)

    def fit(self, obs: Observation) -> None:
        raise AssertionError("must not be run on interaction samples")

    def predict(self, asset: None, query: Query) -> Prediction:
        raise AssertionError("must not be run on interaction samples")


@pytest.fixture(scope="module")
def tracks(tmp_path_factory):
    from methods import registry

    mp = pytest.MonkeyPatch()
    mp.setitem(registry.BUILTINS, "nocontrols", f"{__name__}:NoControls")
    root = tmp_path_factory.mktemp("tracks")
    data = root / "data"
    bench(["gen", "--profile", "tiny_interact", "--n", "2", "--out", str(data)])
    runs = {"oracle-transfer": ["--method", "oracle", "--track", "transfer"],
            "static-transfer": ["--method", "static", "--track", "transfer"],
            "nocontrols": ["--method", "nocontrols"], "oracle": ["--method", "oracle"]}
    for name, args in runs.items():
        bench(["run", *args, "--data", str(data), "--split", "all", "--inline", "--out", str(root / name)])
    bench(["eval", *[str(root / n) for n in runs]])
    bench(["board", *[str(root / n) for n in runs], "--out", str(root / "site")])
    yield root, data
    mp.undo()


def _samples(root, name):
    return read_json(root / name / "results.json")["samples"]


def test_transfer_run_is_scored_against_the_held_out_interaction(tracks):
    root, data = tracks
    assert read_json(root / "oracle-transfer" / "run.json")["track"] == "transfer"
    for s in _samples(root, "oracle-transfer"):
        assert s["status"] == "ok" and s["track"] == "transfer"
        fut = s["summary"]["future"]
        assert math.isinf(float(fut["all"]["psnr"])) and fut["geometry"]["chamfer"] < 1e-10
        m = read_json(root / "oracle-transfer" / s["sample_id"] / "metrics.json")
        assert m["gt_source"] == "transfer"
        # the transfer GT really differs from the main interaction
        main = np.load(data / s["sample_id"] / "gt" / "points.npy")
        held = np.load(data / s["sample_id"] / "transfer" / "points.npy")
        assert np.abs(main[-1] - held[-1]).max() > 1e-2
    for s in _samples(root, "oracle"):  # the main-interaction run is scored on the main GT
        assert s["track"] == "interaction" and math.isinf(float(s["summary"]["future"]["all"]["psnr"]))
    for s in _samples(root, "static-transfer"):
        fut = s["summary"]["future"]
        assert s["status"] == "ok" and fut["all"]["psnr"] < 30.0 and fut["geometry"]["chamfer"] > 1e-4


def test_controls_less_method_is_not_applicable_not_failed(tracks):
    root, _ = tracks
    for s in _samples(root, "nocontrols"):
        assert s["status"] == "not_applicable" and "controls" in s["reason"]
    from leaderboards.aggregate import failures, load_results, method_table, sample_table

    samples = sample_table(load_results([root / "nocontrols", root / "oracle"]))
    table = method_table(samples)
    row = table[table["method"] == "nocontrols"].iloc[0]
    assert (row["n"], row["ok"], row["failed"], row["not_applicable"]) == (2, 0, 0, 2)
    assert row["psnr/future"] == "n/a"
    assert failures(samples).empty
    from bench.check import check_path

    for name in ("nocontrols", "oracle-transfer"):
        problems, kind, _ = check_path(root / name)
        assert kind == "run" and problems == [], problems


def test_board_renders_both_tracks(tracks):
    root, _ = tracks
    site = root / "site"
    assert (site / "track-interaction.html").exists() and (site / "track-transfer.html").exists()
    tr = (site / "tables" / "transfer-main.md").read_text()
    assert "Oracle (GT physics)" in tr and "Static (last observed state)" in tr and "∞" in tr
    inter = (site / "tables" / "interaction-main.md").read_text()
    line = next(li for li in inter.splitlines() if li.startswith("| No controls"))
    assert line.split("|")[2:6] == [" 2 ", " 0 ", " 0 ", " 2 "] and "n/a" in line.split("|")[6]
    board = json.loads((site / "leaderboard.json").read_text())
    assert {r["track"] for r in board} == {"interaction", "transfer"}
    assert "n/a" in (site / "track-interaction.html").read_text()
