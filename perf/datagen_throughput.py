"""Benchmark dataset generation: samples/hour per profile and renderer, with a per-stage breakdown.

Runs the real pipeline (``datagen.generate.generate_one``, one sample at a time, in this process) and
times its stages by wrapping the functions it calls:

* ``simulate``: ``datagen.sample_build._simulate`` (the GT rollout of any model, both interactions, with the
  binding of the surface points and mesh vertices);
* ``setup``: the rest of scene building (asset load, volume/surface sampling, parameter draws);
* ``render``: ``datagen.rendering.render_sample_frames`` (splat, Blender in this process, or a Blender worker
  process per sample: ``blender-cycles-subprocess`` is the pre-v1 path, ``blender-cycles`` the in-process one);
* ``write``: the rest of ``write_sample`` + the atomic rename (PNG/NPY/PLY/OBJ/GIF, hashes).

    python perf/datagen_throughput.py [--profiles tiny quick v1] [--renderers splat blender-cycles ...]
                                      [--n 2] [--samples 16] [--json out.json]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterator

RENDERERS = {
    "splat": {"renderer": "splat"},
    "blender-workbench": {"renderer": "blender", "blender_engine": "workbench", "blender_process": "inprocess"},
    "blender-cycles": {"renderer": "blender", "blender_engine": "cycles", "blender_process": "inprocess"},
    "blender-cycles-subprocess": {"renderer": "blender", "blender_engine": "cycles", "blender_process": "subprocess"},
}
STAGES = ("setup", "simulate", "render", "write")


@contextlib.contextmanager
def _timed(module: Any, name: str, acc: dict[str, float], stage: str) -> Iterator[None]:
    """Temporarily wrap ``module.name`` so that its wall time is added to ``acc[stage]``."""
    orig: Callable[..., Any] = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return orig(*args, **kwargs)
        finally:
            acc[stage] += time.perf_counter() - t0

    setattr(module, name, wrapper)
    try:
        yield
    finally:
        setattr(module, name, orig)


def time_sample(root: Path, profile: Any, plan: dict[str, Any]) -> dict[str, float]:
    """Generate one sample; returns seconds per stage and ``total``."""
    import datagen.rendering
    import datagen.sample_build
    from datagen.generate import generate_one

    acc: dict[str, float] = defaultdict(float)
    with contextlib.ExitStack() as stack:
        stack.enter_context(_timed(datagen.sample_build, "_simulate", acc, "simulate"))
        stack.enter_context(_timed(datagen.sample_build, "build_scene", acc, "scene"))
        stack.enter_context(_timed(datagen.rendering, "render_sample_frames", acc, "render"))
        t0 = time.perf_counter()
        rec = generate_one(str(root), profile.model_dump(mode="json"), plan)
        total = time.perf_counter() - t0
    if rec["status"] != "ok":
        raise RuntimeError(f"sample {plan['sample_id']} failed: {rec['reason']}")
    out = {"simulate": acc["simulate"], "render": acc["render"], "total": total}
    out["setup"] = acc["scene"] - acc["simulate"]
    out["write"] = total - acc["scene"] - acc["render"]
    return out


def bench(profile_name: str, renderer: str, n: int, samples: int | None, root: Path) -> dict[str, Any]:
    from datagen.profile import load_profile
    from datagen.generate import plan_samples

    prof = load_profile(profile_name)
    rc = prof.render.model_copy(update={**RENDERERS[renderer], "samples": samples or prof.render.samples,
                                        "blender_device": "cpu"})
    prof = prof.model_copy(update={"render": rc, "n_samples": n})
    runs = [time_sample(root / f"{profile_name}-{renderer}", prof, p) for p in plan_samples(prof)[:n]]
    mean = {k: statistics.mean(r[k] for r in runs) for k in (*STAGES, "total")}
    sc = prof.scenario
    return {"profile": profile_name, "renderer": renderer, "n": n, "res": f"{rc.width}x{rc.height}",
            "views": rc.n_views, "frames": sc.n_frames, "spp": rc.samples, "samples_per_hour": 3600.0 / mean["total"], "mean_s": mean}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profiles", nargs="+", default=["tiny", "quick"])
    ap.add_argument("--renderers", nargs="+", default=list(RENDERERS), choices=list(RENDERERS))
    ap.add_argument("--n", type=int, default=2, help="samples per (profile, renderer)")
    ap.add_argument("--samples", type=int, default=None, help="Cycles samples per pixel (default: the profile's)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)

    from datagen.profile import load_profile
    from datagen.generate import plan_samples

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-datagen-") as tmp:
        warm = load_profile("tiny").model_copy(update={"n_samples": 1})
        time_sample(Path(tmp) / "warmup", warm, plan_samples(warm)[0])  # warp kernel compile / imports
        print(f"{'profile':8} {'renderer':18} {'res':>6} {'views':>5} {'T':>3} {'samples/h':>9} "
              + " ".join(f"{s:>8}" for s in (*STAGES, "total")) + "   (mean seconds per sample)")
        for prof in args.profiles:
            for r in args.renderers:
                res = bench(prof, r, args.n, args.samples, Path(tmp))
                results.append(res)
                m = res["mean_s"]
                print(f"{prof:8} {r:18} {res['res']:>6} {res['views']:>5} {res['frames']:>3} "
                      f"{res['samples_per_hour']:9.0f} " + " ".join(f"{m[s]:8.2f}" for s in (*STAGES, "total")),
                      flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
