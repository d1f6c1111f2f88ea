"""Checkpoints of learned methods: safetensors weights + optimiser state, a JSON side-car, ``latest.json``;
finding and loading the one a run config names (or refusing it when it was trained with other ranges)."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable

from core.errors import UserError

LATEST = "latest.json"


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


def default_checkpoint_dir(method: str, data_root: Path) -> Path:
    """runs/checkpoints/<method>/<dataset name> (what `bench run` looks for by default)."""
    return Path("runs") / "checkpoints" / method / Path(data_root).resolve().name


def seed_checkpoint_dir(base: Path, index: int) -> Path:
    """Where `bench train --seeds K` puts training seed ``index`` (config seed + index) of checkpoint dir ``base``."""
    return Path(base) / f"seed-{int(index)}"


def has_seed_checkpoints(base: Path) -> bool:
    """Whether ``base`` holds per-training-seed checkpoint dirs (`bench train --seeds`)."""
    return seed_checkpoint_dir(base, 0).is_dir()


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
