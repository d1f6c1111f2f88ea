"""PhysInteract (physics-based interaction modelling with a per-particle material field), bench-scale.

Input: the monocular video, the static 3D representation (canonical Gaussians) and the recorded
control points (interaction). Pipeline: stand-in contact localisation + initial trajectory (§3.2,
``perception``), interior filling of the Gaussians into MPM particles (§3.5), joint optimisation
of per-particle E / nu and the contact trajectory through the differentiable MLS-MPM
(``physics.mpm.rollout_mpm_torch``) with the losses of eq. 3-5 (``optimize``), and novel
interaction synthesis (§3.4): the fitted field is driven by the queried control trajectory.
"""
from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from methods.physinteract.spec import CARD, PhysInteractConfig
from methods.base import Method, MethodInputs, Observation, Prediction, Query
from methods.physinteract import optimize as optim
from methods.physinteract import perception as per



class PhysInteract(Method):
    """PhysInteract (§3): per-particle Young's modulus field + contact trajectory, jointly optimised
    by analysis-by-synthesis through a differentiable MPM and Gaussian renderer (eq. 3-5)."""

    card = CARD
    Config = PhysInteractConfig

    def _log(self, msg: str) -> None:
        if self.cfg["verbose"]:
            print(f"[physinteract] {msg}", flush=True)

    def _mpm_params(self, x0: np.ndarray, extra_reach: float, E: Any, nu: Any, friction: float) -> Any:
        """Domain centred on the object, ground at z = 0 above the wall layer (like the GT)."""
        from physics.mpm import MPMParams

        cfg = self.cfg
        c = x0.mean(0)
        reach = float(np.abs(x0[:, :2] - c[:2]).max()) + extra_reach
        ng = int(cfg["n_grid"])
        # keep 4 cells (3 wall + 1) clear on every side: w (1 - 8/ng) > reach, 2w (1 - 8/ng) > z_max + reach
        free = 1.0 - 8.0 / ng
        if free <= 0.1:
            raise ValueError("physinteract: n_grid must be at least 9")
        w = 1.05 * max(float(cfg["domain_half_width_m"]), reach / free, (float(x0[:, 2].max()) + extra_reach) / (2 * free))
        lo_z = -4.0 * 2.0 * w / ng
        return MPMParams(n_grid=ng, domain_lo=(c[0] - w, c[1] - w, lo_z), domain_hi=(c[0] + w, c[1] + w, 2 * w + lo_z),
                         density=float(cfg["density"]), E=E, nu=nu, ground="separate", friction=friction,
                         ground_height=0.0, substeps=cfg["substeps"])

    def fit(self, obs: Observation) -> Any:
        import torch

        from physics.binding import idw_binding
        from physics.mpm import recommend_substeps

        cfg = self.cfg
        torch.set_num_threads(int(cfg["threads"]))
        rng = np.random.default_rng(int(cfg["seed"]))
        t0 = time.perf_counter()
        if obs.canonical is None or not obs.rgb:
            raise ValueError("physinteract needs the canonical Gaussians and the monocular frames")
        view = next(iter(obs.rgb))
        cam = next(c for c in obs.cameras if c.name == view)
        g = obs.canonical
        means0 = np.asarray(g["means"], np.float64)
        scales = np.asarray(g["scales"], np.float64)
        scales = scales.mean(-1) if scales.ndim == 2 else scales
        x0, h = per.fill_gaussians(means0, int(cfg["n_particles"]))  # §3.5 interior filling
        vol = np.full(len(x0), h**3)
        contacts = traj0 = ctrl_index = None
        reach = 0.1
        if obs.controls is not None:
            contacts, traj0 = per.stand_in_contacts(obs.controls, cam, rng, float(cfg["contact_pixel_noise"]),
                                                    float(cfg["contact_depth_noise_m"]), float(cfg["trajectory_noise_m"]))
            ctrl_index = per.contact_index(x0, contacts, float(cfg["control_radius_m"]))
            reach += float(np.abs(traj0 - traj0[:1]).max())
        friction = float(cfg["ground_friction"])  # not estimated by the paper; the GT value is not an input
        hi = float(cfg["log10_E_bounds"][1])
        params = self._mpm_params(x0, reach, 10.0**hi, float(cfg["nu_init"]), friction)
        if params.substeps is None:  # fixed from the stiffest E allowed, so the CFL holds throughout
            params.substeps = recommend_substeps(params, obs.fps, len(x0))
        idx, w = idw_binding(means0, x0, k=int(cfg["binding_k"]))
        scene = optim.Scene(x0=x0, vol=vol, params=params, means0=means0, colors=np.asarray(g["colors"], np.float64),
                            scales=scales, opacities=np.asarray(g["opacities"], np.float64).reshape(-1),
                            bind_idx=idx, bind_w=w, edges=per.knn_edges(x0, int(cfg["smooth_k"])), camera=cam,
                            background=tuple(obs.background), rgb=obs.rgb[view], alpha=obs.alpha[view], fps=obs.fps,
                            traj0=traj0, ctrl_index=ctrl_index)
        self._log(f"{len(x0)} particles (pitch {h:.4f} m), {params.substeps} substeps/frame, view {view}")
        res = optim.optimise(scene, cfg, log=self._log)
        return {"x0": x0, "vol": vol, "E": res["E"], "nu": res["nu"], "v0": res["v0"], "params": params,
                "means0": means0, "bind_idx": idx, "bind_w": w, "contacts": contacts, "trajectory0": traj0,
                "trajectory": res["trajectory"], "canonical": {**g, "scales": scales}, "background": obs.background,
                "info": {"fit_s": time.perf_counter() - t0, "best_rec": res["best_rec"], "iterations": len(res["history"]),
                         "history": res["history"], "pitch_m": h, "substeps": params.substeps}}

    def simulate(self, asset: dict[str, Any], n_frames: int, fps: float, controls: np.ndarray | None) -> np.ndarray:
        """Forward MPM with the fitted field under ``controls`` (§3.4); Gaussian centres (T,M,3)."""
        from dataclasses import replace

        from physics.mpm import simulate_mpm

        x0 = asset["x0"]
        params = replace(asset["params"], E=asset["E"], nu=asset["nu"])
        ci = None
        if controls is not None:
            ci = per.contact_index(x0, np.asarray(controls, np.float64)[0], float(self.cfg["control_radius_m"]))
        v0 = np.zeros(3) if controls is not None else asset["v0"]
        res = simulate_mpm(x0, v0, asset["vol"], params, n_frames, fps, controls=controls, control_index=ci)
        xs = res.positions.astype(np.float64)
        disp = xs[:, asset["bind_idx"], :] - xs[:1, asset["bind_idx"], :]
        return (asset["means0"][None] + (asset["bind_w"][None, ..., None] * disp).sum(-2)).astype(np.float32)

    def parameter_ranges(self) -> dict[str, dict[str, tuple[float, float]]]:
        """log10 E clamped to ``log10_E_bounds`` (per particle; the mean is reported), nu = 0.45 sigmoid(.)."""
        lo, hi = self.cfg["log10_E_bounds"]
        return {"mpm": {"youngs_modulus": (10.0 ** lo, 10.0 ** hi), "poisson_ratio": (0.0, 0.45)}}

    def predict(self, asset: Any, query: Query) -> Prediction:
        from methods.rendering import render_prediction

        means = self.simulate(asset, query.n_frames, query.fps, query.controls)
        pred = render_prediction(means, asset["canonical"], query, asset["background"])
        E, nu = asset["E"], asset["nu"]
        pred.params = {"model": "mpm", "params": {"youngs_modulus": float(E.mean()), "poisson_ratio": float(nu.mean()),
                                                  "density": float(self.cfg["density"])}}
        buf = io.BytesIO()
        np.savez(buf, E=E.astype(np.float32), nu=nu.astype(np.float32), x0=asset["x0"].astype(np.float32))
        pred.extra_files["pred/fields.npz"] = buf.getvalue()
        return pred

    def export_asset(self, asset: Any, out_dir: Path) -> None:
        """``particles.npz`` (x0, vol, E, nu) + ``physics.json`` (MPM settings, binding, fit info)."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        np.savez(out_dir / "particles.npz", x0=asset["x0"], vol=asset["vol"], E=asset["E"], nu=asset["nu"],
                 bind_idx=asset["bind_idx"], bind_w=asset["bind_w"])
        p = asset["params"]
        rec = {"format": "physrecon-physinteract-asset/1", "model": "mpm", "constitutive": "fixed-corotated (eq. 1)",
               "n_grid": p.n_grid, "domain_lo": list(map(float, p.domain_lo)), "domain_hi": list(map(float, p.domain_hi)),
               "density": float(p.density), "friction": p.friction, "substeps": p.substeps,
               "control_radius_m": self.cfg["control_radius_m"], "v0": np.asarray(asset["v0"]).tolist(),
               "binding": "mu_t = mu_0 + sum_j w_j (x_j^t - x_j^0), IDW weights (Spring-Gaus eq. 15)",
               "fit_info": {k: v for k, v in asset["info"].items() if k != "history"}}
        (out_dir / "physics.json").write_text(json.dumps(rec, indent=1))
