"""ReconPhys (feed-forward physical reconstruction from monocular video) at benchmark scale.

Training (`bench train --method reconphys`): self-supervised, no physics labels. For each training
video the physical predictor (§3.3) outputs global mass, stiffness, damping, friction (+ restitution);
the initial velocity comes from a closed-form ballistic fit of the pre-contact silhouettes
(``motion.ballistic_v0``; a bench addition: our drops start with a random v0), optionally refined along the
camera's ground-plane viewing direction by a line search of eq. 11 (``v0_refine: depth``, the component a
monocular silhouette fit barely sees); the differentiable loop (§3.4) simulates hash-seeded anchors,
IDW-binds the canonical Gaussians and renders them; the photometric loss (eq. 11) on the observed frames of the monocular view is
minimised with self-forcing and truncated backprop (§3.5), optionally after a self-supervised warm start
(``curriculum.py``: per-video inversion targets of the same loss, regressed first). Inference (`bench run`): one forward pass
+ one simulation per sample, from the checkpoint found by ``resolve_run_config`` (``physics_refine``, a bench
addition, adds a local line search of eq. 11 around the predicted parameters: no longer feed-forward). Interaction samples:
the control trajectory (observed part in training, ``Query.controls`` at inference) drives the anchors
through control springs (``physics.spring_mass.controls``); the physics stays feed-forward.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from methods.reconphys.spec import CARD, ReconPhysConfig
from methods.base import TrainableMethod, Method, MethodInputs, Observation, Prediction, Query

def mono_target(obs: Observation):
    """(T, H, W, 4) float32 tensor: RGB + alpha of the monocular view's observed frames (eq. 11 target)."""
    import torch

    view = next(iter(obs.rgb))
    return torch.cat([torch.as_tensor(obs.rgb[view], dtype=torch.float32),
                      torch.as_tensor(obs.alpha[view], dtype=torch.float32)[..., None]], dim=-1)


class ReconPhys(Method, TrainableMethod):
    """ReconPhys: a learned physical predictor + differentiable spring-mass/3DGS loop (monocular).

    Canonical Gaussians (asset/gaussians.ply) are the stand-in for the frozen TRELLIS 3DGS predictor.
    The image encoder is a small CNN trained from scratch (InternViT-300M cannot be loaded here).
    Reported ``stiffness`` is K in N per unit strain on our hash-seeded n_k-NN anchor graph at the
    predicted ``mass_kg`` (the dynamics identify K/m only; mass is weakly determined by video).
    """

    card = CARD
    Config = ReconPhysConfig

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        self._model = None
        self._calibration: dict[str, Any] | None = None  # calibration.json of the checkpoint (calibrate: holdout)
        if self.cfg["physics_refine"]:  # not feed-forward: the board shows it as its own row
            self.label = f"ReconPhys + eq. 11 refinement ({', '.join(self.cfg['physics_refine'])})"

    # ------------------------------------------------------------------ checkpoint resolution
    @classmethod
    def resolve_run_config(cls, config: dict[str, Any], data_root: Path) -> dict[str, Any]:
        """`bench run` hook: resolve ``checkpoint`` (default runs/checkpoints/reconphys/<dataset>) or fail."""
        from methods.training.checkpoints import resolve_checkpoint

        return resolve_checkpoint(config, cls.name, cls.label, data_root)

    def build_model(self):
        from methods.reconphys.motion import N_STATS
        from methods.reconphys.network import PhysPredictor

        c = self.cfg
        return PhysPredictor(int(c["dim"]), int(c["n_blocks"]), int(c["n_heads"]), 64, int(c["enc_width"]),
                             int(c["enc_size"]), N_STATS if c["silhouette_stats"] else 0)

    def load_model(self):
        """The predictor with the latest weights of ``checkpoint`` (cached), and with ``calibrate: holdout``
        its calibration.json; a checkpoint trained with other ``bounds`` (the decoder's output ranges) is refused."""
        from methods.training.checkpoints import load_trained_model

        if self._model is None:
            self._model = load_trained_model(self.build_model, self.cfg.get("checkpoint"), self.name,
                                             type(self).label, self.cfg, same=("bounds",))
            if self.cfg["calibrate"] != "none":
                from core.errors import UserError
                from methods.reconphys.calibration import CALIBRATION_JSON, load_calibration

                self._calibration = load_calibration(Path(self.cfg["checkpoint"]))
                if self._calibration is None:
                    raise UserError(str(Path(self.cfg["checkpoint"]) / CALIBRATION_JSON),
                                    "missing, and the method config asks for calibrate: holdout",
                                    "run `bench train` again with this config (the trained predictor is kept) "
                                    "or set calibrate: none")
        return self._model

    # ------------------------------------------------------------------ forward pass
    def motion_inputs(self, obs: Observation) -> dict[str, Any]:
        """Silhouette statistics (1,T,N_STATS) and the ballistic v0 (3,) of the monocular view (motion.py).

        Interaction videos start held/resting and are driven by the controls: v0 = 0 there.
        """
        import torch

        from methods.reconphys.motion import ballistic_v0, silhouette_stats

        view = next(iter(obs.alpha))
        stats = torch.as_tensor(silhouette_stats(obs.alpha[view]))[None]
        if obs.controls is not None or obs.canonical is None:
            v0 = np.zeros(3, np.float32)
        else:
            ground = float(obs.world.get("ground", {}).get("height", 0.0))
            v0, _ = ballistic_v0(obs.canonical["means"], obs.alpha[view], obs.cameras[0], obs.fps, ground,
                                 float(self.cfg["contact_margin"]))
        return {"stats": stats, "v0": torch.as_tensor(v0)}

    def predictor_logits(self, model, obs: Observation, motion: dict[str, Any], augment_rng=None):
        """The predictor's raw outputs (1, N_OUT) on the monocular observed frames (+ silhouette stats);
        on a ``curriculum.augment_video`` copy of them when ``augment_rng`` is given (stage B)."""
        from methods.reconphys.network import video_tensor

        view = next(iter(obs.rgb))
        video = video_tensor(obs.rgb[view], obs.alpha[view])
        stats = motion["stats"] if self.cfg["silhouette_stats"] else None
        if augment_rng is not None:
            from methods.reconphys.motion import augment_video

            video, stats = augment_video(video, stats, augment_rng)
        return model(video, stats)

    def predict_physics(self, model, obs: Observation, grad: bool = False,
                        motion: dict[str, Any] | None = None) -> dict[str, Any]:
        """One forward pass of the physical predictor on the monocular observed frames (+ v0); at inference
        (``grad`` off) shrunk by the checkpoint's calibration when there is one (``calibration.py``)."""
        import torch

        from methods.reconphys.network import decode

        motion = motion or self.motion_inputs(obs)
        with torch.set_grad_enabled(grad):
            raw = self.predictor_logits(model, obs, motion)
            if self._calibration is not None and not grad:
                from methods.reconphys.calibration import apply_shrinkage

                raw = torch.logit(apply_shrinkage(torch.sigmoid(raw), self._calibration).clamp(1e-6, 1 - 1e-6))
            phys = decode(raw, self.cfg)
        return {**{k: v[0] for k, v in phys.items()}, "v0": motion["v0"]}

    def fit(self, obs: Observation) -> dict[str, Any]:
        import torch

        from methods.reconphys.simulation import build_scene

        torch.set_num_threads(int(self.cfg["threads"]))
        assert obs.canonical is not None
        t0 = time.perf_counter()
        model = self.load_model()
        t1 = time.perf_counter()
        phys = {k: (v.numpy().astype(float).tolist() if k == "v0" else float(v))
                for k, v in self.predict_physics(model, obs).items()}
        t2 = time.perf_counter()
        scene = build_scene(obs.canonical, obs.object_id, obs.world.get("ground", {}).get("height", 0.0), self.cfg)
        t3 = time.perf_counter()
        timing = {"load_s": t1 - t0, "forward_s": t2 - t1, "scene_s": t3 - t2}
        if self.cfg["v0_refine"] == "depth" and obs.controls is None:
            phys["v0"] = self.refine_v0(scene, phys, obs).tolist()
            timing["v0_refine_s"] = time.perf_counter() - t3
        if self.cfg["physics_refine"]:
            t4 = time.perf_counter()
            phys = self.refine_physics(scene, phys, obs)
            timing["physics_refine_s"] = time.perf_counter() - t4
        return {"physics": phys, "scene": scene, "background": tuple(obs.background), "timing": timing}

    def refine_v0(self, scene, phys: dict[str, Any], obs: Observation) -> np.ndarray:
        """``v0_refine: depth`` at inference: the predicted physics fixed, a two-level line search of eq. 11
        on the observed monocular frames over v0's shift along ``motion.depth_axis`` (forward only)."""
        from methods.line_search import coordinate_search, memoized_loss
        from methods.reconphys.outputs import shifted_v0
        from methods.reconphys.motion import depth_axis
        from methods.reconphys.simulation import forward_loss

        target = mono_target(obs)
        axis, span, v0 = depth_axis(obs.cameras[0]), float(self.cfg["v0_span"]), np.asarray(phys["v0"])
        loss, _ = memoized_loss(lambda u: forward_loss(
            scene, {**phys, "v0": shifted_v0(v0, round(float(u[0]), 6), axis, span)}, self.cfg, obs.cameras[0],
            obs.background, target, obs.fps))
        u = coordinate_search(loss, np.full(1, 0.5), (0,), int(self.cfg["invert_grid"]))
        return shifted_v0(v0, u[0], axis, span)

    def refine_physics(self, scene, phys: dict[str, Any], obs: Observation) -> dict[str, Any]:
        """``physics_refine`` at inference: a local coordinate line search of eq. 11 on the observed
        monocular frames over the named parameters, in the decoder's normalised units, within
        +- ``refine_span`` of the prediction (v0 and the other parameters fixed; forward only)."""
        from methods.line_search import coordinate_search, memoized_loss
        from methods.reconphys.network import physics_from_u
        from methods.reconphys.outputs import PARAM_NAMES, search_order
        from methods.reconphys.simulation import forward_loss

        bounds = self.cfg["bounds"]
        value = {"log10_stiffness": np.log10(phys["stiffness"]), "log10_damping": np.log10(phys["damping"]),
                 "log10_mass": np.log10(phys["mass"]), "friction": phys["friction"], "restitution": phys["restitution"]}
        u0 = np.array([(value[n] - bounds[n][0]) / (bounds[n][1] - bounds[n][0]) for n in PARAM_NAMES])
        u0 = np.round(np.clip(u0, 0.0, 1.0), 6)
        target = mono_target(obs)

        def as_phys(u: np.ndarray) -> dict[str, Any]:
            return {**{k: float(v) for k, v in physics_from_u(u, self.cfg, None).items() if k != "v0"}, "v0": phys["v0"]}

        loss, _ = memoized_loss(lambda u: forward_loss(scene, as_phys(u), self.cfg, obs.cameras[0], obs.background,
                                                       target, obs.fps, obs.controls))
        u = coordinate_search(loss, u0, search_order(self.cfg["physics_refine"]), int(self.cfg["refine_grid"]),
                              span=float(self.cfg["refine_span"]))
        return as_phys(u)

    def parameter_ranges(self) -> dict[str, dict[str, tuple[float, float]]]:
        """The decoder's output ranges (``bounds``): every reported parameter is squashed into them."""
        b = self.cfg["bounds"]
        return {"spring_mass": {"stiffness": tuple(10.0 ** v for v in b["log10_stiffness"]),
                                "damping": tuple(10.0 ** v for v in b["log10_damping"]),
                                "friction": tuple(b["friction"]), "restitution": tuple(b["restitution"])}}

    def predict(self, asset: dict[str, Any], query: Query) -> Prediction:
        from methods.rendering import render_prediction
        from methods.reconphys.simulation import simulate_points

        t0 = time.perf_counter()
        pts = simulate_points(asset["scene"], asset["physics"], self.cfg, query.n_frames, query.fps, query.controls)
        asset["timing"]["simulate_s"] = time.perf_counter() - t0
        sc = asset["scene"]
        can = {"colors": sc.colors, "scales": sc.scales, "opacities": sc.opacities}
        pred = render_prediction(pts, can, query, asset["background"])
        p = asset["physics"]
        pred.params = {"model": "spring_mass", "params": {
            "stiffness": p["stiffness"], "damping": p["damping"], "friction": p["friction"],
            "restitution": p["restitution"], "mass_kg": p["mass"]}}
        return pred

    def export_asset(self, asset: dict[str, Any], out_dir: Path) -> None:
        """physics.json: predicted attributes, anchors, springs, binding and timings (simulation-ready)."""
        import json

        sc = asset["scene"]
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        doc = {"format": "reconphys-asset/1", "physics": asset["physics"], "timing": asset["timing"],
               "checkpoint": self.cfg.get("checkpoint"), "checkpoint_step": self.cfg.get("checkpoint_step"),
               "calibration": None if self._calibration is None else  # the shrinkage applied to the outputs
               {k: self._calibration[k] for k in ("format", "alpha", "centre")},
               "anchors": sc.anchors.tolist(), "edges": sc.edges.tolist(), "rest": sc.rest.tolist(),
               "binding": {"kind": self.cfg["binding_mode"], "k": int(self.cfg["n_b"]), "power": float(self.cfg["p_b"])},
               "gaussians": "the sample's canonical Gaussians (asset/gaussians.ply)"}
        (out_dir / "physics.json").write_text(json.dumps(doc))

    # ------------------------------------------------------------------ training (§3.4-3.5)
    def load_training_set(self, samples: list[Path]) -> list[dict[str, Any]]:
        """Observations, scenes and RGBA targets of the training videos (monocular view, observed frames)."""
        from methods.observation import build_observation
        from methods.reconphys.simulation import build_scene

        items = []
        for sp in samples:
            obs = build_observation(Path(sp), self.inputs)
            target = mono_target(obs)
            scene = build_scene(obs.canonical, obs.object_id, obs.world.get("ground", {}).get("height", 0.0), self.cfg)
            items.append({"obs": obs, "scene": scene, "target": target, "camera": obs.cameras[0],
                          "motion": self.motion_inputs(obs)})
        return items

    def sample_loss(self, model, item: dict[str, Any]):
        from methods.reconphys.simulation import rollout_loss

        phys = self.predict_physics(model, item["obs"], grad=True, motion=item["motion"])
        return rollout_loss(item["scene"], phys, self.cfg, item["camera"], item["obs"].background,
                            item["target"], item["obs"].fps, item["obs"].controls)

    def train(self, samples: list[Path], out_dir: Path, stop_after: int | None = None) -> dict[str, Any]:
        """Self-supervised training on ``samples`` (no physics labels); checkpoints into ``out_dir``
        (stage A/B curriculum, the paper's loop and the optional held-out calibration: ``trainer.py``)."""
        from methods.reconphys.trainer import train_reconphys

        return train_reconphys(self, samples, Path(out_dir), stop_after)
