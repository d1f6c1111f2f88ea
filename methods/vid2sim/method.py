"""Vid2Sim (Chen et al.) at benchmark scale: a feed-forward Stage I + a lightweight Stage II on the
mesh-free reduced-order LBS simulator (``physics.reduced``: eq. 1-2, stable neo-Hookean, implicit Euler).

Stage I (§4.1, `bench train --method vid2sim`): a video transformer trained from scratch regresses
E, nu (two 4-layer MLPs) and, through a 4-layer hypernetwork, the final layer of the LBS weight MLP;
+ a v0 head (bench addition: the drops start with a random velocity). Supervision: E, nu and v0 of the
*training* samples, read from their sample.json (Vid2Sim trains on its own simulated animations with
known parameters), in normalised range units; the hypernetwork by the Simplicits data-free objective
of the object it sees (the paper's per-object LBS targets come from that same objective; we evaluate it
directly on the hyper-predicted W_theta, so no per-object GT MLP is read).
Stage II (§4.2, ``fit``): Gaussian refinement, a free-flight v0 fit (bench addition), data-free LBS
training (+ the Neural Jacobian of eq. 5 when ``neural_jacobian``), then joint Adam on eq. 6 over random
Delta s = 4 windows (``methods.vid2sim.refine``). ``bench run`` loads the Stage I checkpoint found by
``resolve_run_config``. The Neural Jacobian is off by default (the paper's "w/o J_theta" variant, exact
LBS Jacobian), because at bench budgets J_theta's error moves the rendering loss's minimum in E
(docs/RESULTS.md).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import UserError
from methods.vid2sim.spec import CARD, Vid2SimConfig
from methods.base import TrainableMethod, Method, MethodInputs, Observation, Prediction, Query



def gt_labels(meta: dict[str, Any]) -> dict[str, Any] | None:
    """Stage I labels of a training sample.json: E, nu (models with a Young's modulus) and v0; else None."""
    p = meta["physics"]["params"]
    if "youngs_modulus" not in p or "poisson_ratio" not in p:
        return None
    return {"log10_E": float(np.log10(p["youngs_modulus"])), "nu": float(p["poisson_ratio"]),
            "v0": np.asarray(meta["scenario"].get("initial_velocity", [0.0, 0.0, 0.0]), np.float32)}


class Vid2Sim(Method, TrainableMethod):
    """Vid2Sim: feed-forward E, nu and LBS prediction from a front-view video, then scene-specific
    refinement through the differentiable reduced-order simulator and the splat renderer.

    Reported ``youngs_modulus`` assumes the configured ``density`` (only E / rho shapes the motion).
    The reduced simulator has no control points, so interaction samples are not applicable.
    """

    card = CARD
    Config = Vid2SimConfig

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        self._model = None

    def _log(self, msg: str) -> None:
        if self.cfg["verbose"]:
            print(f"vid2sim: {msg}", flush=True)

    # ------------------------------------------------------------------ checkpoint resolution
    @classmethod
    def resolve_run_config(cls, config: dict[str, Any], data_root: Path) -> dict[str, Any]:
        """`bench run` hook: resolve ``checkpoint`` (default runs/checkpoints/vid2sim/<dataset>) or fail."""
        from methods.training.checkpoints import resolve_checkpoint

        return resolve_checkpoint(config, cls.name, cls.label, data_root)

    def build_model(self) -> Any:
        """A fresh Stage I network (``Vid2SimNet``) for this config."""
        from methods.vid2sim.network import Vid2SimNet

        return Vid2SimNet(self.cfg)

    def load_model(self) -> Any:
        """The Stage I network with the latest weights of ``checkpoint`` (cached)."""
        from methods.training.checkpoints import load_trained_model

        if self._model is None:
            self._model = load_trained_model(self.build_model, self.cfg.get("checkpoint"), self.name, self.label,
                                             self.cfg, same=("bounds", "v0_max"))
        return self._model

    # ------------------------------------------------------------------ Stage I forward
    def predict_stage1(self, model: Any, obs: Observation, grad: bool = False) -> dict[str, Any]:
        """One forward pass on the observed frames of the front view: log10_E, E, nu, v0, lbs_last."""
        import torch

        from methods.reconphys.network import video_tensor
        from methods.vid2sim.network import decode

        view = next(iter(obs.rgb))
        with torch.set_grad_enabled(grad):
            out = decode(model(video_tensor(obs.rgb[view], obs.alpha[view])), self.cfg)
        return {k: v[0] for k, v in out.items()}

    @staticmethod
    def _target(obs: Observation) -> Any:
        import torch

        view = next(iter(obs.rgb))
        return torch.cat([torch.as_tensor(obs.rgb[view], dtype=torch.float32),
                          torch.as_tensor(obs.alpha[view], dtype=torch.float32)[..., None]], dim=-1)

    def initial_estimate(self, obs: Observation) -> tuple[Any, Any, float]:
        """Stage I forward pass -> Stage II's scene (volume samples, cubature, Gaussians) and its starting
        ``refine.Estimate`` (E, nu, v0 and the LBS MLP whose last layer the hypernetwork predicted, §4.1),
        plus the forward pass's seconds. Shared by ``fit`` and probes/vid2sim_discretization.py."""
        from methods.vid2sim.lbs import make_skinning
        from methods.vid2sim.refine import Estimate, build_scene

        assert obs.canonical is not None
        t0 = time.perf_counter()
        s1 = self.predict_stage1(self.load_model(), obs)
        stage1_s = time.perf_counter() - t0
        scene = build_scene(obs.canonical, obs.object_id, obs.world, self.cfg)
        est = Estimate(E=float(s1["E"]), nu=float(s1["nu"]), v0=s1["v0"].numpy().astype(np.float64),
                       lbs=make_skinning(self.cfg, scene.center, scene.scale, s1["lbs_last"]))
        return scene, est, stage1_s

    def fit(self, obs: Observation) -> dict[str, Any]:
        """Stage I forward pass, then Stage II refinement on the observed frames (§4.2)."""
        import torch

        from methods.vid2sim.refine import fit_launch_velocity, prepare_lbs, refine_gaussians, refine_physics, scan_stiffness

        torch.set_num_threads(int(self.cfg["threads"]))
        t0 = time.perf_counter()
        scene, est, stage1_s = self.initial_estimate(obs)
        t1 = t0 + stage1_s
        stage1 = {"E": est.E, "nu": est.nu, "v0": est.v0.tolist()}
        target, cam = self._target(obs), obs.cameras[0]
        gs = refine_gaussians(scene, target[0], cam, obs.background, self.cfg)
        est.history["v0_fit"] = fit_launch_velocity(scene, est, target, cam, obs.background, obs.fps, self.cfg)
        t2 = time.perf_counter()
        prepare_lbs(scene, est, self.cfg)
        if int(self.cfg["E_scan"]) > 0:
            est.history["E_scan"] = scan_stiffness(scene, est, target, cam, obs.background, obs.fps, self.cfg)
        t3 = time.perf_counter()
        refine_physics(scene, est, target, cam, obs.background, obs.fps, self.cfg, self._log if self.cfg["verbose"] else None)
        t4 = time.perf_counter()
        est.history["gs"] = gs
        return {"scene": scene, "estimate": est, "stage1": stage1, "background": tuple(obs.background), "fps": obs.fps,
                "cfg": self.cfg,
                "timing": {"stage1_s": t1 - t0, "gaussians_v0_s": t2 - t1, "lbs_s": t3 - t2, "joint_s": t4 - t3}}

    def parameter_ranges(self) -> dict[str, dict[str, tuple[float, float]]]:
        """Stage I's output ranges and Stage II's clamp (``bounds``); E assumes the configured density."""
        b = self.cfg["bounds"]
        return {"reduced": {"youngs_modulus": tuple(10.0 ** v for v in b["log10_E"]), "poisson_ratio": tuple(b["nu"])}}

    def predict(self, asset: dict[str, Any], query: Query) -> Prediction:
        """Simulate the refined asset for every queried frame (reduced model) and render every camera."""
        import torch

        from methods.rendering import render_prediction
        from methods.vid2sim.refine import appearance, reduced_params, render_rgba, rollout

        if query.controls is not None:
            raise ValueError("vid2sim's reduced-order simulator has no control points; it cannot follow controls")
        sc, est = asset["scene"], asset["estimate"]
        t0 = time.perf_counter()
        with torch.no_grad():
            res = rollout(est.sim_model(), sc, reduced_params(self.cfg, sc, query.fps), query.n_frames, est.E, est.nu,
                          est.v0, fallback_tol=self.cfg["newton_fallback_tol"])
        pts = res.positions.numpy().astype(np.float32)
        asset["timing"]["simulate_s"] = time.perf_counter() - t0
        if self.cfg["deform_covariances"]:  # Sigma' = F Sigma F^T: render each frame with its covariances
            app = appearance(sc)
            rgb, alpha = {}, {}
            with torch.no_grad():
                for cam in query.cameras:
                    fr = torch.stack([render_rgba(res.positions[t], res.F[t], app, cam, asset["background"])
                                      for t in range(query.n_frames)]).numpy()
                    rgb[cam.name], alpha[cam.name] = fr[..., :3], fr[..., 3]
            pred = Prediction(rgb=rgb, alpha=alpha, points=pts, points_correspond=True)
        else:
            can = {"colors": sc.colors, "scales": sc.scales, "opacities": sc.opacities}
            pred = render_prediction(pts, can, query, asset["background"])
        pred.params = {"model": "reduced", "params": {"youngs_modulus": est.E, "poisson_ratio": est.nu}}
        return pred

    def export_asset(self, asset: dict[str, Any], out_dir: Path) -> None:
        """physics.json + lbs.safetensors + gaussians.ply (``methods.vid2sim.asset``; re-simulate with
        ``simulate_asset``)."""
        from methods.vid2sim.asset import export_asset

        export_asset(asset, self.cfg, out_dir)

    # ------------------------------------------------------------------ Stage I training (§4.1, §5.1)
    def load_training_set(self, samples: list[Path]) -> list[dict[str, Any]]:
        """Videos, GT labels (training sample.json) and the LBS features of each training object."""
        import torch

        from core.jsonio import read_json
        from methods.observation import build_observation
        from methods.reconphys.network import video_tensor
        from physics.spring_mass.anchors import object_seed
        from methods.vid2sim.lbs import hidden_features, object_frame, volume_samples

        items = []
        for sp in samples:
            obs = build_observation(Path(sp), self.inputs)
            labels = gt_labels(read_json(Path(sp) / "sample.json"))
            if labels is None:
                continue
            X, _ = volume_samples(obs.canonical["means"], int(self.cfg["n_volume"]), object_seed(obs.object_id),
                                  int(self.cfg["fill_res"]), str(self.cfg["volume_sampling"]))
            center, scale = object_frame(X)
            h, dh = hidden_features(self.cfg, center, scale, X)
            view = next(iter(obs.rgb))
            items.append({"video": video_tensor(obs.rgb[view], obs.alpha[view]), "labels": labels,
                          "X": torch.as_tensor(X, dtype=torch.float32), "center": center, "scale": scale,
                          "h": h, "dh": dh, "sample_id": obs.sample_id})
        if not items:
            raise UserError("--data", "no training sample has a Young's modulus in its GT (sample.json physics.params)",
                            "generate reduced-model data, e.g. `bench gen --profile tiny_reduced` or `--physics reduced`")
        return items

    def sample_loss(self, model: Any, item: dict[str, Any], step: int = 0) -> tuple[Any, dict[str, float]]:
        """Stage I loss: range-normalised squared errors of log10 E, nu, v0 + w_lbs x Simplicits(hyper W)."""
        import torch

        from methods.vid2sim.lbs import hyper_simplicits_loss
        from methods.vid2sim.network import decode, normalised

        c, lab = self.cfg, item["labels"]
        out = {k: v[0] for k, v in decode(model(item["video"]), c).items()}
        err = {n: normalised(n, out[n], c) - normalised(n, torch.as_tensor(lab[n], dtype=torch.float32), c)
               for n in ("log10_E", "nu", "v0")}
        l_e, l_nu, l_v0 = err["log10_E"] ** 2, err["nu"] ** 2, (err["v0"] ** 2).mean()
        gen = torch.Generator().manual_seed(int(c["seed"]) * 1_000_003 + int(step))
        l_lbs, lbs_log = hyper_simplicits_loss(item, out["lbs_last"], lab["nu"], c, gen)
        loss = float(c["w_E"]) * l_e + float(c["w_nu"]) * l_nu + float(c["w_v0"]) * l_v0 + float(c["w_lbs"]) * l_lbs
        return loss, {"loss": float(loss.detach()), "log10_E_abs": float(err["log10_E"].abs().detach())
                      * (float(c["bounds"]["log10_E"][1]) - float(c["bounds"]["log10_E"][0])),
                      "nu_sq": float(l_nu.detach()), "v0_sq": float(l_v0.detach()), "lbs": float(l_lbs.detach()),
                      **lbs_log}

    def train(self, samples: list[Path], out_dir: Path, stop_after: int | None = None) -> dict[str, Any]:
        """Stage I training on ``samples`` (labels from their sample.json); checkpoints into ``out_dir``."""
        import torch

        from methods.training.loop import train_minibatches

        torch.set_num_threads(int(self.cfg["threads"]))
        items = self.load_training_set(samples)
        return train_minibatches(self, items, self.sample_loss, Path(out_dir), stop_after)
