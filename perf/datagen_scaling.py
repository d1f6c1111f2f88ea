"""Dataset generation over 1 vs several workers, local and Ray: samples/hour, parallel efficiency, same bytes.

Runs ``bench gen`` as a user would (a fresh process per configuration, the same profile, seed and ``--n``),
each into its own temporary dataset dir, and prints for each configuration the wall time (Ray's start-up
included), the samples/hour, the speed-up and the parallel efficiency against the first configuration
(``rate / (rate_first * cpus / cpus_first)``, cpus = workers x threads per worker), and whether every sample's files have the same SHA-256
(from each dataset's ``manifest.jsonl``) as the first configuration's: the same seed gives the same bytes
whichever executor, worker count or thread share made them, or the script names the files that differ.

    python perf/datagen_scaling.py --profile v1 --n 4 --configs local:1:2 ray:1:2 ray:2:1 [--json out.json]

A configuration is ``executor:workers:threads_per_worker``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def manifest_hashes(data: Path) -> dict[str, dict[str, str]]:
    """``{sample_id: {file: sha256}}`` of a dataset's usable samples (manifest.jsonl)."""
    out: dict[str, dict[str, str]] = {}
    for line in (data / "manifest.jsonl").read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            out[rec["sample_id"]] = rec["files"]
    return out


def run_config(profile: str, n: int, seed: int | None, executor: str, workers: int, threads: int,
               data: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-c", "from bench.cli import main; main()", "gen", "--profile", profile, "--n", str(n), "--out", str(data),
           "--executor", executor, "--workers", str(workers), "--threads", str(threads)]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    gen = [json.loads(x) for x in (data / "generation.jsonl").read_text().splitlines() if x.strip()][-1]
    return {"executor": executor, "workers": workers, "threads": threads, "wall_s": round(wall, 1),
            "gen_s": gen["seconds"], "usable": gen["usable"], "candidates": gen["candidates"],
            "samples_per_hour": round(3600.0 * gen["usable"] / wall, 1), "hashes": manifest_hashes(data)}


def differing(a: dict[str, dict[str, str]], b: dict[str, dict[str, str]]) -> list[str]:
    """``sample/file`` names whose bytes differ (or exist on one side only) between two manifests."""
    out = sorted(set(a) ^ set(b))
    for sid in sorted(set(a) & set(b)):
        fa, fb = a[sid], b[sid]
        out += [f"{sid}/{f}" for f in sorted(set(fa) | set(fb)) if fa.get(f) != fb.get(f)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="v1")
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--configs", nargs="+", default=["local:1:2", "ray:1:2", "ray:2:1"],
                    help="executor:workers:threads_per_worker, the first is the reference")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="keep the datasets under this directory")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="datagen_scaling_"))
    rows = []
    try:
        for i, c in enumerate(a.configs):
            ex, w, t = c.split(":")
            data = (a.keep or tmp) / f"{i}-{ex}-{w}x{t}"
            r = run_config(a.profile, a.n, a.seed, ex, int(w), int(t), data)
            rows.append(r)
            print(f"{c:12s} wall {r['wall_s']:7.1f} s (gen {r['gen_s']:.1f} s)  usable {r['usable']}/{r['candidates']}"
                  f"  {r['samples_per_hour']:6.1f} samples/h", flush=True)
    finally:
        if a.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    ref = rows[0]
    print(f"\nprofile {a.profile}, n {a.n}, {os.cpu_count()} CPUs; reference {a.configs[0]}")
    for c, r in zip(a.configs, rows):
        cpus, ref_cpus = r["workers"] * r["threads"], ref["workers"] * ref["threads"]
        eff = r["samples_per_hour"] / (ref["samples_per_hour"] * cpus / ref_cpus)
        diff = differing(ref["hashes"], r["hashes"])
        r["efficiency"], r["differs"] = round(eff, 3), diff
        same = "same bytes" if not diff else f"{len(diff)} files differ, e.g. {diff[:3]}"
        print(f"{c:12s} {r['samples_per_hour']:6.1f} samples/h  speed-up {r['samples_per_hour'] / ref['samples_per_hour']:.2f}x"
              f"  efficiency {eff:.2f}  vs reference: {same}")
    if a.json:
        a.json.write_text(json.dumps([{k: v for k, v in r.items() if k != "hashes"} for r in rows], indent=1))


if __name__ == "__main__":
    main()
