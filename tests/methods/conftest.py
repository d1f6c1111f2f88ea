"""Shared fixtures of the method tests: a generated `tiny` dataset (one per test module) and its train split."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench.cli import run


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "tiny"
    run(["gen", "--profile", "tiny", "--out", str(out)])
    return out


@pytest.fixture(scope="module")
def tiny_train(tiny) -> list[Path]:
    from core.dataset import select_samples

    return [tiny / r["sample_id"] for r in select_samples(tiny, "train")]
