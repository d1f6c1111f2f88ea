"""``oracle``: the GT physics re-simulated through the method-side simulator, binding and renderer (upper bound)."""
from __future__ import annotations

from typing import Any

import numpy as np

from methods.base import Method, Observation, Prediction, Query
from methods.baselines.spec import ORACLE, OracleConfig
from methods.rendering import isotropic_scales, render_prediction


class OracleBaseline(Method):
    """GT physics pushed through the method-side simulator, binding and renderer (upper bound).

    Reads the GT parameters, initial particles and springs, re-simulates with physics/, binds the
    canonical Gaussians as sample.json says (IDW weights of Spring-Gaus eq. 15, LBS) and renders
    with render/. If its observed-frame PSNR is not very high, the dataset and method-side
    conventions disagree: that is a bug.
    """

    card = ORACLE
    Config = OracleConfig

    def fit(self, obs: Observation) -> Any:
        assert obs.gt is not None and obs.canonical is not None
        return {"gt": obs.gt, "canonical": isotropic_scales(obs.canonical), "background": obs.background}

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
        from physics.spring_mass import simulate
        from physics.spring_mass.record import params_from_record

        gt = asset["gt"]
        p = gt["physics"]["params"]
        x0 = np.asarray(gt["particles0"], np.float32)
        cedges = None
        c = gt["physics"].get("controls") if query.controls is not None else None
        params = params_from_record(p, c)
        if c is not None:  # control springs from the queried controls (transfer: new contacts)
            from physics.spring_mass import control_springs

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
        from physics.mpm import simulate_mpm
        from physics.mpm.record import params_from_record

        gt, ph = asset["gt"], asset["gt"]["physics"]
        p, ctl = ph["params"], ph.get("controls")
        if ctl is None or "fields" not in gt:
            raise ValueError("this MPM sample does not record its control attachment (sample.json physics.controls) "
                             "or gt/fields.npz: regenerate it with the current datagen to re-simulate new controls")
        x0 = np.asarray(gt["particles0"], np.float64)
        f = gt["fields"]
        params = params_from_record(ph, f)
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

        from physics.reduced import simulate_reduced, translation_velocity
        from physics.reduced.record import params_from_record
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
        params = params_from_record(ph)
        zdot0 = translation_velocity(model.n_total, gt["scenario"]["initial_velocity"], w0.dtype)
        means0 = np.asarray(asset["canonical"]["means"], np.float64)
        from core.processes import torch_threads

        with torch.no_grad(), torch_threads():  # the GT's thread count, so the GT's bits
            res = simulate_reduced(model, xc, vc, means0, params, query.n_frames, zdot0=zdot0, controls=query.controls,
                                   control_radius=float(ctl["radius_m"]))
        pred = render_prediction(np.asarray(res.positions, np.float32), asset["canonical"], query, asset["background"])
        pred.params = {"model": "reduced", "params": dict(p)}
        return pred
