"""``train_mean``: the training split's mean GT parameters, the prior a learned predictor must beat."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from methods.base import TrainableMethod, Observation, Prediction, Query
from methods.baselines.spec import TRAIN_MEAN, TrainMeanConfig
from methods.baselines.static import StaticBaseline


TRAIN_MEAN_FILE = "train_mean.json"


def training_set_means(samples: list) -> dict[str, dict[str, Any]]:
    """Per GT physics model, the training split's mean of every scalar GT parameter.

    Parameters that span orders of magnitude (``physics.parameters.LOG_SCALE_PARAMS``) are
    averaged in log10 space (the geometric mean), the others arithmetically — the constant
    predictor that minimises the MAE each is scored with.
    """
    from core.dataset import SampleDir
    from physics.parameters import LOG_SCALE_PARAMS

    values: dict[str, dict[str, list[float]]] = {}
    for sp in samples:
        phys = SampleDir(Path(sp)).meta["physics"]
        for name, v in phys.get("params", {}).items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v):
                values.setdefault(phys["model"], {}).setdefault(name, []).append(float(v))
    out: dict[str, dict[str, Any]] = {}
    for model, params in values.items():
        means = {n: float(10 ** np.mean(np.log10(v))) if n in LOG_SCALE_PARAMS and min(v) > 0 else float(np.mean(v))
                 for n, v in params.items()}
        out[model] = {"params": means, "n": len(next(iter(params.values())))}
    return out


class TrainMeanBaseline(StaticBaseline, TrainableMethod):
    """The prior a learned predictor must beat on parameter error: the training split's mean GT parameters.

    ``bench train --method train_mean --data D --split train`` averages the GT parameters of the
    training samples (log10 space for stiffness / Young's modulus) into ``train_mean.json``; ``bench
    run`` predicts those constants for every sample. Its frames are the ``static`` baseline's (no
    simulation), so only its parameter errors are informative.
    """

    card = TRAIN_MEAN
    Config = TrainMeanConfig

    @classmethod
    def resolve_run_config(cls, config: dict[str, Any], data_root: Path) -> dict[str, Any]:
        from methods.training.checkpoints import default_checkpoint_dir, missing_checkpoint

        path = Path(config.get("checkpoint") or default_checkpoint_dir(cls.name, data_root))
        if not (path / TRAIN_MEAN_FILE).exists():
            raise missing_checkpoint(cls.name, cls.label, path, str(data_root))
        return {**config, "checkpoint": str(path.resolve())}

    def train(self, samples: list, out_dir: Path) -> dict[str, Any]:
        from core.jsonio import write_json

        means = training_set_means(samples)
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        write_json(out_dir / TRAIN_MEAN_FILE, {"format": "train-mean/1", "n_samples": len(samples),
                                                      "samples": [Path(s).name for s in samples], "models": means})
        self.config["checkpoint"] = str(out_dir.resolve())
        return {"out_dir": str(out_dir), "step": 1, "start_step": 0, "metrics": {"loss": float("nan")},
                "n_samples": len(samples)}

    def fit(self, obs: Observation) -> Any:
        from core.jsonio import read_json

        asset = super().fit(obs)
        models = read_json(Path(self.config["checkpoint"]) / TRAIN_MEAN_FILE)["models"]
        # the GT model family is not an input: predict the training split's majority model
        model = max(sorted(models), key=lambda m: models[m]["n"])
        asset["params"] = {"model": model, "params": dict(models[model]["params"])}
        return asset

    def predict(self, asset: Any, query: Query) -> Prediction:
        pred = super().predict(asset, query)
        pred.params = asset["params"]
        return pred
