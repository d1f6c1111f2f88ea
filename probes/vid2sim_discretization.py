"""Benchmark: where does Vid2Sim's own reduced model put the rendering-loss minimum in E?

For each sample, Vid2Sim's Stage II scene is built as ``bench run`` builds it (volume samples of the
canonical Gaussians' hull, cubature, the Stage I LBS head then its data-free fine-tuning), but with the
GT's Poisson ratio and launch velocity, so that only the discretization differs from the GT. The
observed-frame loss of eq. 6 (``methods.vid2sim.refine.observed_loss``, frames 1..n_obs-1) is then
evaluated at log10 E = GT + each offset. An argmin offset below 0 means the method's body needs a
softer E than the GT's to make the same video: a bias no optimiser can remove.

    python probes/vid2sim_discretization.py DATA --checkpoint CKPT [--split test] [--every 3]
                                                [--modes fps uniform] [--config extra.yaml]

Needs a Stage I checkpoint (``bench train --method vid2sim``) trained with the same ``bounds``.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

OFFSETS = (-0.6, -0.4, -0.2, -0.1, 0.0, 0.1, 0.2, 0.4)


def profile_sample(method, sample_dir: Path, offsets=OFFSETS) -> dict:
    """Eq. 6 observed loss of Vid2Sim's model at GT nu, v0 and log10 E = GT + offset, per offset."""
    from core.jsonio import read_json
    from methods.observation import build_observation
    from methods.vid2sim.refine import observed_loss, prepare_lbs

    meta = read_json(sample_dir / "sample.json")
    p = meta["physics"]["params"]
    obs = build_observation(sample_dir, method.inputs)
    scene, s1_est, _ = method.initial_estimate(obs)  # Stage II's scene and Stage I's LBS head, as in fit
    est = replace(s1_est, E=float(p["youngs_modulus"]), nu=float(p["poisson_ratio"]),
                  v0=np.asarray(meta["scenario"]["initial_velocity"], np.float64))
    prepare_lbs(scene, est, method.cfg)
    target, cam = method._target(obs), obs.cameras[0]
    losses = [float(np.mean(observed_loss(scene, replace(est, E=est.E * 10.0 ** o), target, cam, obs.background,
                                          obs.fps, method.cfg)[1:])) for o in offsets]
    best = int(np.argmin(losses))
    return {"sample_id": meta["sample_id"], "category": meta["category"], "log10_E": float(p["log10_youngs_modulus"]),
            "losses": losses, "argmin_offset": float(offsets[best]), "loss_ratio_at_gt": losses[offsets.index(0.0)] / losses[best]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--checkpoint", required=True, help="Vid2Sim Stage I checkpoint directory")
    ap.add_argument("--split", default="test")
    ap.add_argument("--every", type=int, default=3, help="profile every N-th sample of the split")
    ap.add_argument("--modes", nargs="+", default=["fps", "uniform"], help="volume_sampling modes to compare")
    ap.add_argument("--config", type=Path, help="YAML of further Vid2Sim config keys (e.g. the checkpoint's bounds)")
    ap.add_argument("--json", type=Path, help="also write every profile here")
    a = ap.parse_args()

    import torch
    import yaml

    from core.dataset import select_samples
    from methods.vid2sim.method import Vid2Sim

    torch.set_num_threads(1)
    sids = [r["sample_id"] for r in select_samples(a.data, a.split)][::a.every]
    extra = yaml.safe_load(a.config.read_text()) if a.config else {}
    out: dict[str, list] = {}
    for mode in a.modes:
        method = Vid2Sim({**extra, "checkpoint": a.checkpoint, "volume_sampling": mode})
        out[mode] = []
        for sid in sids:
            r = profile_sample(method, a.data / sid)
            out[mode].append(r)
            print(f"{mode:8s} {sid} {r['category']:12s} GT log10 E {r['log10_E']:.2f}  argmin offset {r['argmin_offset']:+.1f}"
                  f"  loss at GT / min {r['loss_ratio_at_gt']:.2f}", flush=True)
    print(f"\n{len(sids)} samples of {a.data} ({a.split}); offsets searched {list(OFFSETS)}")
    for mode, rs in out.items():
        off = np.array([r["argmin_offset"] for r in rs])
        print(f"volume_sampling {mode:8s}: argmin offset mean {off.mean():+.3f}, median {np.median(off):+.2f}, "
              f"mean |offset| {np.abs(off).mean():.3f}, at the search edge {int(np.sum(np.abs(off) >= 0.6))}")
    if a.json:
        a.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
