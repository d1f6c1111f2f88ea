"""methods.training's files: log.csv stays one table across resumed runs whose metrics changed, and a
config's ``checkpoint_step`` loads that step's weights (not silently the latest)."""
from __future__ import annotations

import csv

import pytest
import torch

from core.errors import UserError
from methods.training.checkpoints import load_trained_model, resolve_checkpoint, save_checkpoint
from methods.training.logger import LOG_CSV, MetricLogger


def test_resumed_log_with_a_new_metric_keeps_the_header(tmp_path):
    log = MetricLogger(tmp_path, tensorboard=False)
    log.log(1, {"loss": 0.5, "stage": 1.0})
    log.log(2, {"loss": 0.4, "stage": 1.0, "lr": 1e-3})  # a newer version logs one metric more
    log.log(3, {"loss": 0.3})  # and one that logs fewer
    with (tmp_path / LOG_CSV).open(newline="") as f:
        lines = list(csv.reader(f))
    assert lines[0] == ["step", "loss", "stage"]
    assert all(len(r) == 3 for r in lines)  # every row fits the header
    assert lines[2] == ["2", "0.4", "1.0"] and lines[3] == ["3", "0.3", ""]


def test_checkpoint_step_selects_a_kept_step(tmp_path):
    """Three saved steps with different weights: checkpoint_step N loads exactly step N's; no step: the
    latest; bench run's resolver records the step it will load; a step not kept is one clear error."""
    model = torch.nn.Linear(2, 1)
    for step in (10, 20, 30):
        with torch.no_grad():
            model.weight.fill_(float(step))
        save_checkpoint(tmp_path, step, model)

    def load(cfg):
        return float(load_trained_model(lambda: torch.nn.Linear(2, 1), str(tmp_path), "m", "M", cfg).weight[0, 0].detach())

    assert load({}) == 30.0 and load({"checkpoint_step": 20}) == 20.0 and load({"checkpoint_step": 10}) == 10.0
    assert resolve_checkpoint({"checkpoint": str(tmp_path)}, "m", "M", tmp_path)["checkpoint_step"] == 30
    assert resolve_checkpoint({"checkpoint": str(tmp_path), "checkpoint_step": 20}, "m", "M", tmp_path)["checkpoint_step"] == 20
    with pytest.raises(UserError, match="kept: 10, 20, 30"):
        load({"checkpoint_step": 25})



def test_trained_with_check_reads_the_loaded_step(tmp_path):
    """A run resumed under other output ranges: the range check must compare the step that is loaded."""
    model = torch.nn.Linear(2, 1)
    save_checkpoint(tmp_path, 10, model, config={"bounds": {"k": [0, 1]}})
    save_checkpoint(tmp_path, 20, model, config={"bounds": {"k": [0, 2]}})

    def load(cfg):
        return load_trained_model(lambda: torch.nn.Linear(2, 1), str(tmp_path), "m", "M", cfg, same=("bounds",))

    load({"bounds": {"k": [0, 1]}, "checkpoint_step": 10})
    load({"bounds": {"k": [0, 2]}})
    with pytest.raises(UserError, match="bounds"):
        load({"bounds": {"k": [0, 2]}, "checkpoint_step": 10})
