"""`bench train`: select a split's samples and call the method's ``train(samples, out_dir)``."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import UserError
from methods.training.checkpoints import LATEST, default_checkpoint_dir
from methods.training.logger import LOG_CSV


def train_method(method_name: str, data_root: Path, split: str, out_dir: Path | None, config: dict[str, Any],
                 resume: bool = True) -> dict[str, Any]:
    """Select ``split`` of ``data_root`` and call the method's ``train(samples, out_dir)``."""
    from core.dataset import check_split, select_samples
    from methods.base import is_trainable
    from methods.registry import make_method

    check_split(split)
    if not Path(data_root).exists():
        raise UserError("--data", f"dataset directory '{data_root}' does not exist", "generate one with `bench gen --out DIR`")
    method = make_method(method_name, config)
    if not is_trainable(type(method)):
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
