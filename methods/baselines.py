"""Baselines that bound the leaderboard: ``static`` (lower), ``oracle`` (upper), ``train_mean`` (parameter prior)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from methods.base import Method, MethodInputs, Observation, Prediction, Query


def render_prediction(points: np.ndarray, canonical: dict[str, np.ndarray], query: Query, background) -> Prediction:
    """Render canonical Gaussians moved to ``points`` (T, M, 3) into every queried camera."""
    from render.frames import render_trajectory

    fr = render_trajectory(points, canonical["colors"], canonical["scales"], canonical["opacities"],
                           query.cameras, background)
    return Prediction(rgb={v: f["rgb"] for v, f in fr.items()}, alpha={v: f["alpha"] for v, f in fr.items()},
                      points=np.asarray(points, np.float32), points_correspond=True)


def _isotropic_scales(canonical: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    s = np.asarray(canonical["scales"])
    return {**canonical, "scales": s.mean(axis=-1) if s.ndim == 2 else s}


class StaticBaseline(Method):
    """The object stays as last observed: the lower bound every method must beat on future frames.

    It is given the observed 3D surface tracks and the canonical Gaussians, so its observed frames
    reproduce the inputs; every future frame repeats the last observed state.
    """

    name = "static"
    label = "Static (last observed state)"
    paper = "baseline"
    description = "Holds the last observed surface state for every future frame (zero-motion lower bound)."
    inputs = MethodInputs(views="multi", canonical=True, tracks=True)
    kind = "baseline"

    def fit(self, obs: Observation) -> Any:
        assert obs.tracks is not None and obs.canonical is not None
        return {"tracks": obs.tracks, "canonical": _isotropic_scales(obs.canonical), "background": obs.background}

    def predict(self, asset: Any, query: Query) -> Prediction:
        tr = asset["tracks"]
        idx = np.minimum(np.arange(query.n_frames), tr.shape[0] - 1)
        return render_prediction(tr[idx], asset["canonical"], query, asset["background"])


class OracleBaseline(Method):
    """GT physics pushed through the method-side simulator, binding and renderer (upper bound).

    Reads the GT parameters, initial particles and springs, re-simulates with physics/, binds the
    canonical Gaussians as sample.json says (IDW weights of Spring-Gaus eq. 15, LBS) and renders
    with render/. If its observed-frame PSNR is not very high, the dataset and method-side
    conventions disagree: that is a bug.
    """

    name = "oracle"
    label = "Oracle (GT physics)"
    paper = "baseline"
    description = ("Re-simulates the GT (spring-mass; MPM and reduced under new controls, replayed otherwise) from "
                   "the GT initial state; renders the canonical Gaussians.")
    inputs = MethodInputs(views="multi", canonical=True, gt_physics=True, controls=True)
    kind = "baseline"

    def fit(self, obs: Observation) -> Any:
        assert obs.gt is not None and obs.canonical is not None
        return {"gt": obs.gt, "canonical": _isotropic_scales(obs.canonical), "background": obs.background}

    def predict(self, asset: Any, query: Query) -> Prediction:
        """Re-simulate spring-mass GT, and MPM / reduced GT under new controls (transfer); otherwise replay
        the GT points."""
        gt = asset["gt"]
        if gt["physics"]["model"] != "spring_mass":
            same = (query.controls is None or (gt.get("controls") is not None
                                               and np.array_equal(query.controls, gt["controls"][: len(query.controls)])))
            if not same:  # new controls (transfer): every GT model is re-simulated from its stored state
                return {"mpm": self._resimulate_mpm, "reduced": self._resimulate_reduced}[gt["physics"]["model"]](
                    asset, query)
            pred = render_prediction(gt["points"][: query.n_frames], asset["canonical"], query, asset["background"])
            pred.params = {"model": gt["physics"]["model"], "params": dict(gt["physics"]["params"])}
            return pred
        return self._resimulate(asset, query)

    def _resimulate(self, asset: Any, query: Query) -> Prediction:
        from datagen.physics_sampling import spring_mass_params_from_record
        from physics.spring_mass import simulate

        gt = asset["gt"]
        p = gt["physics"]["params"]
        x0 = np.asarray(gt["particles0"], np.float32)
        params = spring_mass_params_from_record(p)
        cedges = None
        if query.controls is not None:  # control springs from the queried controls (transfer: new contacts)
            from physics.spring_mass import control_springs

            c = gt["physics"]["controls"]
            params.control_stiffness = float(c["stiffness_n_per_m"])
            cedges, _ = control_springs(query.controls[0], x0, float(c["radius_m"]), int(c["max_neighbors"]))
        v0 = np.broadcast_to(np.asarray(gt["scenario"]["initial_velocity"], np.float32), x0.shape).copy()
        res = simulate(x0, v0, gt["edges"], gt["rest"], params, n_frames=query.n_frames, fps=query.fps,
                       substeps=int(gt["physics"]["substeps"]), controls=query.controls, control_edges=cedges)
        pred = self._bind_and_render(asset, x0, res.positions, query)
        pred.params = {"model": "spring_mass", "params": {k: p[k] for k in ("stiffness", "damping", "friction", "restitution")}}
        return pred

    @staticmethod
    def _bind_and_render(asset: Any, x0: np.ndarray, positions: np.ndarray, query: Query) -> Prediction:
        """Bind the canonical Gaussians to the simulated particles as the GT's binding record says, render."""
        from physics.binding import apply_binding, idw_binding

        means0 = np.asarray(asset["canonical"]["means"], np.float32)
        b = asset["gt"]["binding"]
        idx, w = idw_binding(means0, x0, k=int(b["k"]), power=float(b["power"]))
        points = np.asarray(apply_binding(means0, x0, np.asarray(positions, np.float32), idx, w, mode=b["kind"]),
                            np.float32)
        return render_prediction(points, asset["canonical"], query, asset["background"])

    def _resimulate_mpm(self, asset: Any, query: Query) -> Prediction:
        """MLS-MPM GT from its stored state (particles at frame 0, per-particle E / nu / volume, grid and
        collider as sample.json records them) under ``query.controls``; LBS binding as the GT's."""
        from physics.mpm import MPMParams, simulate_mpm

        gt, ph = asset["gt"], asset["gt"]["physics"]
        p, ctl = ph["params"], ph.get("controls")
        if ctl is None or "fields" not in gt:
            raise ValueError("this MPM sample does not record its control attachment (sample.json physics.controls) "
                             "or gt/fields.npz: regenerate it with the current datagen to re-simulate new controls")
        x0 = np.asarray(gt["particles0"], np.float64)
        f = gt["fields"]
        params = MPMParams(n_grid=int(ph["n_grid"]), domain_lo=tuple(ph["domain"]["lo"]), domain_hi=tuple(ph["domain"]["hi"]),
                           density=float(p["density"]), E=np.asarray(f["E"], np.float64), nu=np.asarray(f["nu"], np.float64),
                           ground=p["ground"], friction=float(p["friction"]), ground_height=0.0)
        v0 = np.broadcast_to(np.asarray(gt["scenario"]["initial_velocity"], np.float64), x0.shape).copy()
        res = simulate_mpm(x0, v0, np.asarray(f["volume"], np.float64), params, query.n_frames, query.fps,
                           substeps=None, controls=query.controls, control_radius=float(ctl["radius_m"]))
        pred = self._bind_and_render(asset, x0, res.positions, query)
        pred.params = {"model": "mpm", "params": dict(p)}
        return pred

    @staticmethod
    def _resimulate_reduced(asset: Any, query: Query) -> Prediction:
        """Reduced LBS GT from its stored skinning MLP and cubature points under ``query.controls``; the
        canonical Gaussian centres are the simulation's query points (the GT deforms them by LBS)."""
        import torch

        from physics.reduced import ReducedParams, simulate_reduced, translation_velocity
        from physics.reduced.skinning import SkinningMLP

        gt, ph = asset["gt"], asset["gt"]["physics"]
        p, ctl, arr = ph["params"], ph.get("controls"), gt.get("reduced")
        if ctl is None or arr is None or "total_volume_m3" not in ph:
            raise ValueError("this reduced sample does not record its control attachment (sample.json physics.controls) "
                             "or gt/reduced.npz: regenerate it with the current datagen to re-simulate new controls")
        state = {k[4:]: torch.as_tensor(v) for k, v in arr.items() if k.startswith("mlp.")}
        n_layers = sum(1 for k in state if k.startswith("weights."))
        w0 = state["weights.0"]
        model = SkinningMLP(int(ph["n_handles"]) - 1, state["center"].numpy(), float(state["scale"]),
                            width=int(w0.shape[0]), depth=n_layers - 1, dtype=w0.dtype)
        model.load_state_dict(state)
        xc = np.asarray(arr["cubature_points"], np.float64)
        vc = np.full(len(xc), float(ph["total_volume_m3"]) / len(xc))
        params = ReducedParams(E=float(p["youngs_modulus"]), nu=float(p["poisson_ratio"]), density=float(p["density"]),
                               dt=float(ph["dt"]), substeps=int(ph["substeps"]), ground=True, ground_height=0.0,
                               friction=float(p["friction"]), control_stiffness=float(ctl["stiffness_per_kg"]))
        zdot0 = translation_velocity(model.n_total, gt["scenario"]["initial_velocity"], w0.dtype)
        means0 = np.asarray(asset["canonical"]["means"], np.float64)
        with torch.no_grad():
            res = simulate_reduced(model, xc, vc, means0, params, query.n_frames, zdot0=zdot0, controls=query.controls,
                                   control_radius=float(ctl["radius_m"]))
        pred = render_prediction(np.asarray(res.positions, np.float32), asset["canonical"], query, asset["background"])
        pred.params = {"model": "reduced", "params": dict(p)}
        return pred


TRAIN_MEAN_FILE = "train_mean.json"


def training_set_means(samples: list) -> dict[str, dict[str, Any]]:
    """Per GT physics model, the training split's mean of every scalar GT parameter.

    Parameters that span orders of magnitude (``metrics.physics_params.DEFAULT_LOG_PARAMS``) are
    averaged in log10 space (the geometric mean), the others arithmetically — the constant
    predictor that minimises the MAE each is scored with.
    """
    from core.jsonio import read_json
    from metrics.physics_params import DEFAULT_LOG_PARAMS

    values: dict[str, dict[str, list[float]]] = {}
    for sp in samples:
        phys = read_json(Path(sp) / "sample.json")["physics"]
        for name, v in phys.get("params", {}).items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v):
                values.setdefault(phys["model"], {}).setdefault(name, []).append(float(v))
    out: dict[str, dict[str, Any]] = {}
    for model, params in values.items():
        means = {n: float(10 ** np.mean(np.log10(v))) if n in DEFAULT_LOG_PARAMS and min(v) > 0 else float(np.mean(v))
                 for n, v in params.items()}
        out[model] = {"params": means, "n": len(next(iter(params.values())))}
    return out


class TrainMeanBaseline(StaticBaseline):
    """The prior a learned predictor must beat on parameter error: the training split's mean GT parameters.

    ``bench train --method train_mean --data D --split train`` averages the GT parameters of the
    training samples (log10 space for stiffness / Young's modulus) into ``train_mean.json``; ``bench
    run`` predicts those constants for every sample. Its frames are the ``static`` baseline's (no
    simulation), so only its parameter errors are informative.
    """

    name = "train_mean"
    label = "Training-set mean (parameter prior)"
    description = ("Predicts the training split's mean GT parameters for every sample (parameter-error lower "
                   "bound for learned predictors); frames as `static`.")

    @classmethod
    def resolve_run_config(cls, config: dict[str, Any], data_root: Path) -> dict[str, Any]:
        from methods.training import default_checkpoint_dir, missing_checkpoint

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
