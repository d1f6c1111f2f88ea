"""`bench train`: the training-loop driver for methods with a learned stage (e.g. ReconPhys).

``train_method`` selects the split's samples and calls ``method.train(samples, out_dir)``; the method
builds its model, optimiser and step function and hands them to ``run_training``, which owns the
loop: resume from the latest checkpoint (Ctrl-C / SIGTERM save one first), a rich progress bar, losses to ``log.csv`` (and TensorBoard
when installed), and checkpoints as safetensors (weights + optimiser tensors; no pickle) with a JSON
side-car (config, step, optimiser hyper-parameters). ``latest.json`` is written last, atomically, so an
interrupted run resumes from the last complete checkpoint.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from core.errors import UserError

LATEST = "latest.json"
LOG_CSV = "log.csv"


# ------------------------------------------------------------------------------------- checkpoints
def _optimizer_tensors(optimizer) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split an optimiser state_dict into safetensors-able tensors and JSON-able rest."""
    import torch

    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"optim.{pid}.{k}"] = v.detach().cpu().contiguous()
            else:
                scalars[f"{pid}.{k}"] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def save_checkpoint(out_dir: Path, step: int, model, optimizer=None, config: dict[str, Any] | None = None,
                    extra: dict[str, Any] | None = None, keep: int = 3) -> Path:
    """Write ``step_XXXXXX.safetensors`` + ``.json`` and point ``latest.json`` at them."""
    from safetensors.torch import save_file

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"step_{step:06d}"
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta: dict[str, Any] = {"format": "physrecon-checkpoint/1", "step": int(step), "config": config or {},
                            "extra": extra or {}, "weights": f"{stem}.safetensors", "time": time.time()}
    if optimizer is not None:
        ot, rest = _optimizer_tensors(optimizer)
        tensors.update(ot)
        meta["optimizer"] = rest
    tmp = out_dir / f".{stem}.tmp"
    save_file(tensors, str(tmp), metadata={"step": str(step)})
    os.replace(tmp, out_dir / f"{stem}.safetensors")
    (out_dir / f"{stem}.json").write_text(json.dumps(meta, indent=1, default=float))
    latest_tmp = out_dir / f".{LATEST}.tmp"
    latest_tmp.write_text(json.dumps({"step": int(step), "checkpoint": stem}))
    os.replace(latest_tmp, out_dir / LATEST)
    for old in sorted(out_dir.glob("step_*.json"))[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
        old.with_suffix(".safetensors").unlink(missing_ok=True)
    return out_dir / f"{stem}.safetensors"


def latest_checkpoint(ckpt_dir: Path, step: int | None = None) -> dict[str, Any] | None:
    """The JSON side-car of the latest complete checkpoint in ``ckpt_dir`` (with ``path``), or None; with
    ``step``, that step's checkpoint (a ``UserError`` naming the kept steps when it is not there)."""
    p = Path(ckpt_dir) / LATEST
    if not p.exists():
        return None
    stem = json.loads(p.read_text())["checkpoint"] if step is None else f"step_{int(step):06d}"
    if step is not None and not (Path(ckpt_dir) / f"{stem}.json").exists():
        kept = ", ".join(str(int(f.stem[5:])) for f in sorted(Path(ckpt_dir).glob("step_*.json")))
        raise UserError("checkpoint_step", f"no step {step} in '{ckpt_dir}' (kept: {kept})",
                        "choose a kept step, or leave checkpoint_step out for the latest")
    meta = json.loads((Path(ckpt_dir) / f"{stem}.json").read_text())
    meta["path"] = str(Path(ckpt_dir) / meta["weights"])
    return meta


def load_checkpoint(ckpt_dir: Path, model, optimizer=None, step: int | None = None) -> dict[str, Any]:
    """Load the latest checkpoint (or ``step``'s) into ``model`` (and ``optimizer``); returns its JSON side-car."""
    from safetensors.torch import load_file

    meta = latest_checkpoint(ckpt_dir, step)
    if meta is None:
        raise FileNotFoundError(f"no checkpoint in {ckpt_dir}")
    t = load_file(meta["path"])
    model.load_state_dict({k[6:]: v for k, v in t.items() if k.startswith("model.")})
    if optimizer is not None and "optimizer" in meta:
        state: dict[int, dict[str, Any]] = {}
        for k, v in t.items():
            if k.startswith("optim."):
                _, pid, name = k.split(".", 2)
                state.setdefault(int(pid), {})[name] = v
        for k, v in meta["optimizer"]["scalars"].items():
            pid, name = k.split(".", 1)
            state.setdefault(int(pid), {})[name] = v
        optimizer.load_state_dict({"state": state, "param_groups": meta["optimizer"]["param_groups"]})
    return meta


# ------------------------------------------------------------------------------------- logging
class MetricLogger:
    """Append per-step metrics to ``log.csv`` (header from the first row) and TensorBoard if installed."""

    def __init__(self, out_dir: Path, tensorboard: bool = True) -> None:
        self.path = Path(out_dir) / LOG_CSV
        self._fields: list[str] | None = None  # the file's header, once known
        self.tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(Path(out_dir) / "tb"))
            except Exception:  # tensorboard not installed: CSV only
                self.tb = None

    def log(self, step: int, metrics: dict[str, float]) -> None:
        """One row; an existing file keeps its header (a resumed run whose step logs gained or lost a
        metric writes the header's columns, blank where missing), so the file stays one table."""
        row = {"step": step, **metrics}
        new = not self.path.exists() or self.path.stat().st_size == 0
        if new:
            self._fields = list(row)
        elif self._fields is None:  # read the header once, not on every step
            with self.path.open(newline="") as f:
                self._fields = next(csv.reader(f), list(row))
        with self.path.open("a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self._fields, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(row)
        if self.tb is not None:
            for k, v in metrics.items():
                self.tb.add_scalar(k, v, step)

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after ``step`` (work lost by an interruption is redone on resume)."""
        if not self.path.exists():
            return
        with self.path.open() as f:
            rows = list(csv.DictReader(f))
        keep = [r for r in rows if int(r["step"]) <= step]
        if len(keep) != len(rows):
            with self.path.open("w", newline="") as f:
                if keep:
                    w = csv.DictWriter(f, fieldnames=list(keep[0]))
                    w.writeheader()
                    w.writerows(keep)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


# ------------------------------------------------------------------------------------- the loop
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


def default_checkpoint_dir(method: str, data_root: Path) -> Path:
    """runs/checkpoints/<method>/<dataset name> (what `bench run` looks for by default)."""
    return Path("runs") / "checkpoints" / method / Path(data_root).resolve().name


def missing_checkpoint(method: str, label: str, path: Path, data: str) -> UserError:
    """The one-line `bench run` error of a learned method without a checkpoint: where it looked, how to train."""
    return UserError("checkpoint", f"no {label} checkpoint in '{path}'",
                     f"train one with `bench train --method {method} --data {data} --split train --out {path}` "
                     f"or set `checkpoint:` in configs/methods/{method}.yaml")


def resolve_checkpoint(config: dict[str, Any], method: str, label: str, data_root: Path) -> dict[str, Any]:
    """A learned method's `resolve_run_config`: ``checkpoint`` (default ``default_checkpoint_dir``) made
    absolute and the step that will be loaded recorded (``checkpoint_step`` when the config names one,
    else the latest), or the ``missing_checkpoint`` error."""
    path = Path(config.get("checkpoint") or default_checkpoint_dir(method, data_root))
    meta = latest_checkpoint(path, config.get("checkpoint_step"))
    if meta is None:
        raise missing_checkpoint(method, label, path, str(data_root))
    return {**config, "checkpoint": str(path.resolve()), "checkpoint_step": int(meta["step"])}


def check_trained_with(ckpt_dir: Path, cfg: dict[str, Any], keys: tuple[str, ...], step: int | None = None) -> None:
    """Refuse a checkpoint (the latest, or ``step``'s) trained with other values of ``keys``: settings that
    change what its outputs mean (the ranges they are squashed into), which would otherwise be decoded
    silently wrong."""
    meta = latest_checkpoint(Path(ckpt_dir), step) or {}
    trained = meta.get("config") or {}
    for k in keys:
        if k in trained and json.loads(json.dumps(trained[k])) != json.loads(json.dumps(cfg[k])):
            raise UserError("--method-config", f"checkpoint '{ckpt_dir}' was trained with {k} = {trained[k]}, "
                            f"the run config has {cfg[k]}", "run with the training config's value or train a new checkpoint")


def load_trained_model(build: Callable[[], Any], checkpoint: str | None, method: str, label: str,
                       cfg: dict[str, Any] | None = None, same: tuple[str, ...] = ()):
    """``build()`` with the latest weights of ``checkpoint`` (or those of ``cfg["checkpoint_step"]``), in eval
    mode (or the ``missing_checkpoint`` error); ``same``: config keys that must equal the checkpoint's training config (``check_trained_with``)."""
    if not checkpoint or latest_checkpoint(Path(checkpoint)) is None:
        raise missing_checkpoint(method, label, Path(checkpoint or f"runs/checkpoints/{method}/<dataset>"), "DATA")
    step = (cfg or {}).get("checkpoint_step")
    if same:  # the training config of the step that is loaded
        check_trained_with(Path(checkpoint), cfg or {}, same, step)
    model = build()
    load_checkpoint(Path(checkpoint), model, step=step)
    return model.eval()


def train_method(method_name: str, data_root: Path, split: str, out_dir: Path | None, config: dict[str, Any],
                 resume: bool = True) -> dict[str, Any]:
    """Select ``split`` of ``data_root`` and call the method's ``train(samples, out_dir)``."""
    from core.dataset import check_split, select_samples
    from methods.registry import make_method

    check_split(split)
    if not Path(data_root).exists():
        raise UserError("--data", f"dataset directory '{data_root}' does not exist", "generate one with `bench gen --out DIR`")
    method = make_method(method_name, config)
    if not callable(getattr(method, "train", None)):
        raise UserError("--method", f"method '{method_name}' has no training stage",
                        "`bench train` is for learned methods (e.g. reconphys); run the others with `bench run`")
    samples = [Path(data_root) / r["sample_id"] for r in select_samples(Path(data_root), split)]
    if not samples:
        raise UserError("--split", f"no completed samples in split '{split}' of {data_root}",
                        "generate more samples (`bench gen --n N`) or choose another split")
    out = Path(out_dir) if out_dir else default_checkpoint_dir(method_name, Path(data_root))
    if not resume and out.exists():  # also nested runs (ReconPhys's calibration predictor)
        for d in [out] + [sub for sub in out.iterdir() if (sub / LATEST).exists()]:
            for f in list(d.glob("step_*")) + [d / LATEST, d / LOG_CSV]:
                f.unlink(missing_ok=True)
    return method.train(samples, out)
