"""methods.training.MetricLogger: log.csv stays one table across resumed runs whose metrics changed."""
from __future__ import annotations

import csv

from methods.training import LOG_CSV, MetricLogger


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
