"""`bench train --method reconphys`: the training loop (self-supervised, no physics labels).

Optional warm start (``curriculum: invert``, ``curriculum.py``): stage A line-search targets, stage B
regression onto them (``distill_steps``); then the paper's end-to-end photometric training (eq. 11 with
self forcing and truncated backprop, §3.5; ``steps``). With ``calibrate: holdout`` a second predictor is
distilled on part of the training objects and the main one's outputs are shrunk by what it shows on the
others (``calibration.py``; written to ``<checkpoint>/calibration.json``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def train_predictor(method, items: list[dict[str, Any]], targets, out_dir: Path, stop_after: int | None = None,
                    description: str = "train reconphys"):
    """Build the predictor and train it on ``items`` (stage B on ``targets`` when given, then ``steps`` of
    eq. 11), checkpointing into ``out_dir`` (resumable). Returns (model, run_training's result)."""
    import torch

    from methods.reconphys.curriculum import distill_loss, distill_lr_scale
    from methods.training.loop import accumulate_step, run_training
    from physics.errors import SimulationDiverged

    cfg = method.cfg
    torch.manual_seed(int(cfg["seed"]))
    model = method.build_model().train()
    head = list(model.decoder.parameters())
    ids = {id(p) for p in head}
    body = [p for p in model.parameters() if id(p) not in ids]
    # the decoder sees O(1) features but gets dL/draw ~ 1e-3 through the rollout: a larger step there
    opt = torch.optim.Adam([{"params": body, "lr": float(cfg["lr"])},
                            {"params": head, "lr": float(cfg["lr"]) * float(cfg["lr_head_scale"])}])
    targets = None if targets is None else torch.as_tensor(np.asarray(targets), dtype=torch.float32)
    n_distill = int(cfg["distill_steps"]) if targets is not None else 0
    base_lr = [g["lr"] for g in opt.param_groups]

    def step_fn(step: int) -> dict[str, float]:
        rng = np.random.default_rng([int(cfg["seed"]), step])  # resumable: order depends on step only
        scale = distill_lr_scale(step, n_distill, cfg["distill_schedule"])
        for g, lr0 in zip(opt.param_groups, base_lr):
            g["lr"] = lr0 * scale
        size = int(cfg["distill_batch"] if step < n_distill else cfg["batch"])
        batch = rng.choice(len(items), size=min(size, len(items)), replace=False)

        def loss_fn(i: int):
            if step < n_distill:  # stage B: regress the inversion targets
                return distill_loss(method, model, items[i], targets[i], rng)
            return method.sample_loss(model, items[i])

        # a video whose predicted physics blows up is skipped this step
        logs, diverged, gn = accumulate_step(model, opt, [int(i) for i in batch], loss_fn, (SimulationDiverged,),
                                             float(cfg["grad_clip"]))
        mean = lambda k: float(np.mean([g[k] for g in logs])) if logs else float("nan")  # noqa: E731
        return {"loss": mean("loss"), "grad_norm": float(gn), "substeps": mean("substeps"),
                "diverged": float(diverged), "stage": 1.0 if step < n_distill else 2.0, "lr": float(opt.param_groups[0]["lr"])}

    cfg_json = {k: v for k, v in cfg.items() if k not in ("checkpoint", "checkpoint_step")}
    res = run_training(model, opt, step_fn, Path(out_dir), n_distill + int(cfg["steps"]), cfg_json,
                       save_every=int(cfg["save_every"]), description=description, stop_after=stop_after)
    return model.eval(), {**res, "n_steps": n_distill + int(cfg["steps"])}


def calibrate(method, items: list[dict[str, Any]], targets: np.ndarray, out_dir: Path,
              stop_after: int | None = None) -> dict[str, Any] | None:
    """``calibrate: holdout``: distill a predictor on the training objects outside the hash hold-out
    (into ``out_dir/calibration``), fit the shrinkage on the held-out objects' videos and write
    ``out_dir/calibration.json``. None when that predictor's training was interrupted (``stop_after``)."""
    from core.jsonio import write_json
    from methods.reconphys.calibration import (CALIBRATION_DIR, CALIBRATION_JSON, calibration_report, holdout_mask,
                                               shrinkage, squashed_outputs)

    ids = [it["obs"].object_id for it in items]
    held = holdout_mask(ids, float(method.cfg["calib_fraction"]))
    fit_idx, held_idx = np.flatnonzero(~held), np.flatnonzero(held)
    model, res = train_predictor(method, [items[i] for i in fit_idx], targets[fit_idx], out_dir / CALIBRATION_DIR,
                                 stop_after, description="train reconphys (calibration predictor)")
    if res["step"] < res["n_steps"]:
        return None
    pred = squashed_outputs(method, model, [items[i] for i in held_idx])
    t = np.asarray(targets, np.float64)
    centre = t.mean(0)  # of every training video's target: the centre the main predictor is shrunk towards
    alpha = shrinkage(pred, t[held_idx], centre)
    report = calibration_report(pred, t[held_idx], centre, alpha,
                                (len({ids[i] for i in fit_idx}), len({ids[i] for i in held_idx})))
    write_json(out_dir / CALIBRATION_JSON, report)
    return report


def train_reconphys(method, samples: list[Path], out_dir: Path, stop_after: int | None = None) -> dict[str, Any]:
    """The whole of `bench train --method reconphys`: stage A targets (cached), the main predictor, then
    the held-out calibration when configured. Every part resumes after an interruption."""
    import torch

    cfg = method.cfg
    torch.set_num_threads(int(cfg["threads"]))
    items = method.load_training_set(samples)
    targets = None
    if cfg["curriculum"] == "invert":
        from methods.reconphys.curriculum import inversion_targets

        out_dir.mkdir(parents=True, exist_ok=True)
        targets = inversion_targets(method, samples, out_dir, items)
    model, res = train_predictor(method, items, targets, out_dir, stop_after)
    method._model = model
    method.cfg["checkpoint"] = str(out_dir.resolve())
    out = {**res, "n_samples": len(items)}
    if cfg["calibrate"] == "holdout" and res["step"] == res["n_steps"]:
        report = calibrate(method, items, targets, out_dir, stop_after)
        method._calibration = report
        out["calibration"] = None if report is None else report["alpha"]
    return out
