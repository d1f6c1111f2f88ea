"""The training loop: resume from the latest checkpoint, progress bar, log, save (Ctrl-C / SIGTERM save first)."""
from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from methods.training.checkpoints import latest_checkpoint, load_checkpoint, save_checkpoint
from methods.training.logger import MetricLogger


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def run_training(model, optimizer, step_fn: Callable[[int], dict[str, float]], out_dir: Path, n_steps: int,
                 config: dict[str, Any], save_every: int = 10, resume: bool = True, description: str = "train",
                 stop_after: int | None = None) -> dict[str, Any]:
    """Run ``step_fn(step)`` for steps [start, n_steps), checkpointing every ``save_every`` steps.

    ``step_fn`` does one optimisation step (zero_grad/backward/step) and returns its metrics; it must
    derive any randomness from ``step`` so a resumed run repeats the uninterrupted one. ``stop_after``
    ends after that many steps of this call (simulates an interruption in tests). Ctrl-C saves first.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = 0
    if resume and latest_checkpoint(out_dir) is not None:
        start = int(load_checkpoint(out_dir, model, optimizer)["step"])
    logger = MetricLogger(out_dir, tensorboard=bool(config.get("tensorboard", True)))
    logger.truncate_after(start)
    tty = sys.stderr.isatty()
    cols = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[info]}")]
    step, metrics, done = start, {}, 0
    old_term = None
    if threading.current_thread() is threading.main_thread():  # SIGTERM (e.g. a killed job): save like Ctrl-C
        old_term = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with Progress(*cols, disable=not tty) as prog:
            task = prog.add_task(description, total=n_steps, completed=start, info="")
            while step < n_steps and (stop_after is None or done < stop_after):
                t0 = time.perf_counter()
                metrics = dict(step_fn(step))
                metrics["step_s"] = time.perf_counter() - t0
                step += 1
                done += 1
                logger.log(step, metrics)
                info = f"loss {metrics.get('loss', float('nan')):.5f}"
                prog.update(task, completed=step, info=info)
                if not tty and (step % max(1, save_every) == 0 or step == n_steps):
                    print(f"{description}: {step}/{n_steps} {info}", file=sys.stderr, flush=True)
                if step % max(1, save_every) == 0 or step == n_steps:
                    save_checkpoint(out_dir, step, model, optimizer, config, {"metrics": metrics})
    except KeyboardInterrupt:
        save_checkpoint(out_dir, step, model, optimizer, config, {"metrics": metrics, "interrupted": True})
        raise
    finally:
        logger.close()
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
    if done and step % max(1, save_every) != 0 and step != n_steps:
        save_checkpoint(out_dir, step, model, optimizer, config, {"metrics": metrics})
    return {"start_step": start, "step": step, "metrics": metrics, "out_dir": str(out_dir)}


def accumulate_step(model, optimizer, batch: list[Any], loss_fn: Callable[[Any], tuple[Any, dict[str, float]]],
                    skip: tuple[type[BaseException], ...], grad_clip: float) -> tuple[list[dict[str, float]], int, float]:
    """One optimisation step on the mean loss of ``batch`` (gradients accumulated item by item, clipped to
    ``grad_clip``); items whose ``loss_fn`` raises one of ``skip`` are left out. No step when all are.
    Returns (the items' metrics, the number skipped, the gradient norm before clipping)."""
    import torch

    optimizer.zero_grad()
    logs, skipped = [], 0
    for item in batch:
        try:
            loss, log = loss_fn(item)
        except skip:
            skipped += 1
            continue
        (loss / len(batch)).backward()
        logs.append(log)
    gn = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    if logs:
        optimizer.step()
    return logs, skipped, float(gn)


def train_minibatches(method: Any, items: list[Any], loss_fn: Callable[[Any, Any, int], tuple[Any, dict[str, float]]],
                      out_dir: Path, stop_after: int | None = None,
                      skip: tuple[type[BaseException], ...] = ()) -> dict[str, Any]:
    """A learned method's ``train``: Adam (``lr``) on ``batch`` items per step drawn from (``seed``, step),
    gradient clipping (``grad_clip``), ``run_training`` for ``steps`` steps into ``out_dir``.

    ``method`` has ``cfg``, ``name`` and ``build_model()``; ``loss_fn(model, item, step)`` returns
    (loss tensor, metrics). Items raising one of ``skip`` (e.g. a diverged rollout) are left out of the step
    and counted in ``skipped``. Afterwards ``method._model`` is the trained model and ``cfg["checkpoint"]`` ``out_dir``.
    """
    import numpy as np
    import torch

    cfg = method.cfg
    torch.manual_seed(int(cfg["seed"]))
    model = method.build_model().train()
    opt = torch.optim.Adam(model.parameters(), lr=float(cfg["lr"]))

    def step_fn(step: int) -> dict[str, float]:
        rng = np.random.default_rng([int(cfg["seed"]), step])  # resumable: the batch depends on the step only
        batch = rng.choice(len(items), size=min(int(cfg["batch"]), len(items)), replace=False)
        logs, skipped, gn = accumulate_step(model, opt, [items[int(i)] for i in batch],
                                            lambda item: loss_fn(model, item, step), skip, float(cfg["grad_clip"]))
        keys = list(logs[0]) if logs else ["loss"]
        return {**{k: float(np.mean([g[k] for g in logs])) if logs else float("nan") for k in keys},
                "grad_norm": float(gn), "skipped": float(skipped)}

    cfg_json = {k: v for k, v in cfg.items() if k not in ("checkpoint", "checkpoint_step")}
    res = run_training(model, opt, step_fn, Path(out_dir), int(cfg["steps"]), cfg_json,
                       save_every=int(cfg["save_every"]), description=f"train {method.name}", stop_after=stop_after)
    method._model = model.eval()
    cfg["checkpoint"] = str(Path(out_dir).resolve())
    return {**res, "n_samples": len(items)}
