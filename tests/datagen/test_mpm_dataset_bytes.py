"""A tiny MPM dataset is byte-identical across runs and across taichi thread counts. Taichi fixes its CPU thread
count at ``ti.init`` (once per process), so each generation is its own ``bench gen --threads N`` process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _gen(out: Path, threads: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PHYSRECON_THREADS"}
    subprocess.run([sys.executable, "-m", "bench.cli", "gen", "--profile", "tiny_mpm", "--n", "1", "--workers", "1",
                    "--threads", str(threads), "--out", str(out)], check=True, capture_output=True, text=True, env=env,
                   cwd=Path(__file__).resolve().parents[2])
    runs = [json.loads(line) for line in (out / "generation.jsonl").read_text().splitlines() if line.strip()]
    assert runs[-1]["threads_per_worker"] == threads  # the worker's share: taichi's cpu_max_num_threads
    recs = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines() if line.strip()]
    assert len(recs) == 1 and recs[0]["status"] == "ok", recs
    return {k: v for k, v in recs[0]["files"].items() if k.startswith("gt/")}


def test_tiny_mpm_dataset_same_bytes_across_runs_and_thread_counts(tmp_path):
    one, two, again = _gen(tmp_path / "t1", 1), _gen(tmp_path / "t2", 2), _gen(tmp_path / "t2b", 2)
    assert any("mpm" in k or "fields" in k or "points" in k for k in one), sorted(one)
    assert one == two == again
