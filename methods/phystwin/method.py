"""PhysTwin (Jiang et al. 2025) at benchmark scale: the ``phystwin`` method.

Pipeline (paper §B.2, App. A; stand-ins in ``perception``):

1. perception: fused partial clouds per observed frame (depth + masks of <= 3 seen views), lifted
   3D tracks from the tracker stand-in, v0 from the first tracked frames;
2. geometry: mass nodes = voxel-downsampled union of the fused frame-0 points and a depth-aware
   visual hull (shape-prior stand-in); control points from ``Observation.controls`` when present;
3. physics, sparse to dense: CMA-ES over topology + homogeneous parameters, then Adam on per-spring
   stiffness and collision parameters through the differentiable simulator (``optimize``);
4. appearance: isotropic Gaussians fitted at frame 0, LBS-bound to the nodes (``appearance``).

``predict`` simulates the fitted twin for the queried frames (``query.controls`` drive the control
springs), deforms the Gaussians and renders every camera; ``export_asset`` writes the Gaussians PLY
and a physics JSON that :func:`simulate` re-simulates (transfer track).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from methods.base import Method, MethodInputs, Observation, Prediction, Query
from methods.phystwin import appearance as app
from methods.phystwin import perception as per
from methods.phystwin.model import Cost, Twin
from methods.phystwin.optimize import adam_stage, cma_stage
from methods.phystwin.spec import CARD, PhysTwinConfig



class PhysTwin(Method):
    """PhysTwin: spring-mass twin + Gaussians from sparse RGB-D views, 3D tracks and controls.

    Stand-ins (no pretrained models run here): CoTracker3 -> GT surface tracks of the observed frames
    projected into each seen view with Gaussian pixel noise, depth-test occlusion and random dropout,
    lifted back with the observed depth; Grounded-SAM2 -> the dataset masks; TRELLIS + registration ->
    fused first-frame depth points + a depth-aware visual hull of the seen views.
    """

    card = CARD
    Config = PhysTwinConfig

    def _log(self, msg: str) -> None:
        if self.cfg["verbose"]:
            print(f"[phystwin] {msg}", flush=True)

    # ------------------------------------------------------------------ fit
    def fit(self, obs: Observation) -> Any:
        import torch

        cfg = self.cfg
        torch.set_num_threads(int(cfg["threads"]))
        rng = np.random.default_rng(int(cfg["seed"]))
        t_start = time.perf_counter()
        views = [c.name for c in obs.cameras if c.name in obs.depth][: int(cfg["max_views"])]
        cams = [c for c in obs.cameras if c.name in views]
        if not views or obs.tracks is None:
            raise ValueError("phystwin needs depth of at least one seen view and the observed tracks")
        clouds, col0 = per.fused_clouds(obs, views)
        sub = [c[rng.choice(len(c), min(len(c), int(cfg["n_obs_points"])), replace=False)] for c in clouds]
        pick = rng.choice(obs.tracks.shape[1], min(obs.tracks.shape[1], int(cfg["n_tracks"])), replace=False)
        tracks, vis, tstats = per.stand_in_tracks(
            obs.tracks[:, np.sort(pick)], cams, obs.depth, obs.alpha, noise_px=float(cfg["track_noise_px"]),
            dropout=float(cfg["track_dropout"]), depth_tol_px=float(cfg["track_depth_tol_px"]), rng=rng)
        v0 = per.initial_velocity(tracks, vis, obs.fps, n_frames=int(cfg["v0_frames"]))
        hull = (per.carve_hull(clouds[0], cams, {v: obs.depth[v][0] for v in views}, {v: obs.alpha[v][0] for v in views},
                               n_cells=int(cfg["hull_cells"]), tol_px=float(cfg["hull_tol_px"]))
                if cfg["hull"] else np.zeros((0, 3)))
        nodes = per.voxel_downsample(np.concatenate([clouds[0], hull]), int(cfg["n_nodes"]))
        from scipy.spatial import cKDTree

        spacing = float(np.median(cKDTree(nodes).query(nodes, k=2)[0][:, 1]))
        cost = Cost(sub, tracks, vis, nodes, cfg["w_chamfer"], cfg["w_track"], cfg["w_acc"], int(cfg["embed_k"]))
        controls = None if obs.controls is None else np.asarray(obs.controls, np.float64)[: obs.n_observed]
        twin_kw = {"control_radius": float(cfg["control_radius_spacing"]) * spacing,
                   "control_max_neighbors": int(cfg["control_max_neighbors"]),
                   "control_stiffness": float(cfg["control_stiffness"])}
        self._log(f"{len(nodes)} nodes (spacing {spacing:.3f} m), hull {len(hull)} cells, v0 {np.round(v0, 3)}")
        twin, cma_info = cma_stage(nodes, v0, spacing, cost, obs.n_observed, obs.fps, float(cfg["total_mass_kg"]),
                                   cfg, controls, twin_kw, self._log)
        twin, adam_info = adam_stage(twin, cost, obs.n_observed, obs.fps, cfg, controls, self._log)
        g = app.init_gaussians(clouds[0], col0, hull, int(cfg["n_gaussians"]), float(cfg["gaussian_scale_factor"]))
        g, app_info = app.fit_gaussians(g, cams, {v: obs.rgb[v][0] for v in views}, {v: obs.alpha[v][0] for v in views},
                                        tuple(obs.background), int(cfg["appearance_iterations"]),
                                        float(cfg["appearance_lr"]), self._log,
                                        lambda_dssim=float(cfg["appearance_lambda_dssim"]),
                                        lr_means=float(cfg["appearance_lr_means"]))
        idx, w = app.bind(g["means"], twin.x0, int(cfg["binding_k"]))
        info = {"tracker": tstats, "n_nodes": len(nodes), "n_springs": int(len(twin.edges)), "spacing": spacing,
                "v0": v0.tolist(), "cma": cma_info, "adam": adam_info, "appearance": app_info,
                "fit_s": time.perf_counter() - t_start}
        return {"twin": twin, "gaussians": g, "idx": idx, "w": w, "background": tuple(obs.background),
                "max_substeps": int(cfg["max_substeps"]), "info": info}

    def parameter_ranges(self) -> dict[str, dict[str, tuple[float, float]]]:
        """CMA-ES box (``model.DEFAULT_BOUNDS`` + ``bounds``), widened by Adam's per-spring log-shift for Y and its
        clamps for friction / restitution (``optimize.adam_stage``)."""
        from methods.phystwin.model import DEFAULT_BOUNDS

        b = {**DEFAULT_BOUNDS, **{k: tuple(v) for k, v in (self.cfg.get("bounds") or {}).items()}}
        shift = float(np.exp(self.cfg["adam_max_log_shift"])) if self.cfg["adam_iterations"] > 0 else 1.0
        adam = self.cfg["adam_iterations"] > 0
        return {"spring_mass": {
            "stiffness": (10.0 ** b["log10_Y"][0] / shift, 10.0 ** b["log10_Y"][1] * shift),
            "damping": (10.0 ** b["log10_zeta"][0], 10.0 ** b["log10_zeta"][1]),
            "friction": (min(b["friction"][0], 0.0) if adam else b["friction"][0], max(b["friction"][1], 2.0) if adam else b["friction"][1]),
            "restitution": (min(b["restitution"][0], 0.02) if adam else b["restitution"][0],
                            max(b["restitution"][1], 0.98) if adam else b["restitution"][1])}}

    # ------------------------------------------------------------------ predict
    def predict(self, asset: Any, query: Query) -> Prediction:
        from render.frames import render_trajectory

        out = simulate(asset, query.controls, query.n_frames, query.fps)
        g = asset["gaussians"]
        fr = render_trajectory(out["gaussians"], g["colors"], g["scales"], g["opacities"], query.cameras,
                               asset["background"])
        tw: Twin = asset["twin"]
        params = {"stiffness": float(np.mean(tw.Y)), "damping": float(tw.zeta), "friction": float(tw.friction),
                  "restitution": float(tw.restitution), "drag": float(tw.drag)}
        return Prediction(rgb={v: f["rgb"] for v, f in fr.items()}, alpha={v: f["alpha"] for v, f in fr.items()},
                          points=out["gaussians"], points_correspond=False,
                          params={"model": "spring_mass", "params": params})

    # ------------------------------------------------------------------ export
    def export_asset(self, asset: Any, out_dir: Path) -> None:
        export_asset(asset, out_dir)


def export_asset(asset: dict, out_dir: Path) -> None:
    """``gaussians.ply`` (frame-0 Gaussians, 3DGS layout) + ``physics.json`` (twin, binding, entry point)."""
    from render.gaussians_ply import write_gaussians_ply

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    g, tw = asset["gaussians"], asset["twin"]
    write_gaussians_ply(out_dir / "gaussians.ply", g["means"], g["scales"], g["colors"], g["opacities"])
    rec = {
        "format": "physrecon-phystwin-asset/1", "simulate": "methods.phystwin:simulate",
        "model": "spring_mass", "force_law": "phystwin", "ground_model": "phystwin",
        "units": {"Y": "N per unit strain", "zeta": "N s per unit strain rate (dashpot gamma_ij = zeta / rest_ij)",
                  "drag": "1/s", "positions": "m"},
        "nodes": np.asarray(tw.x0).tolist(), "v0": np.asarray(tw.v0).tolist(),
        "springs": np.asarray(tw.edges).tolist(), "rest": np.asarray(tw.rest).tolist(), "Y": np.asarray(tw.Y).tolist(),
        "zeta": tw.zeta, "drag": tw.drag, "friction": tw.friction, "restitution": tw.restitution,
        "total_mass_kg": tw.total_mass, "control": {"radius": tw.control_radius, "max_neighbors": tw.control_max_neighbors,
                                                     "stiffness": tw.control_stiffness},
        "binding": {"mode": "lbs", "idx": np.asarray(asset["idx"]).tolist(), "w": np.asarray(asset["w"]).tolist()},
        "background": list(asset["background"]), "max_substeps": asset["max_substeps"], "globals": tw.globals,
        "fit_info": _jsonable(asset.get("info", {})),
    }
    (out_dir / "physics.json").write_text(json.dumps(rec))


def load_asset(path: str | Path) -> dict:
    """Inverse of :func:`export_asset`."""
    from render.gaussians_ply import read_gaussians_ply

    path = Path(path)
    rec = json.loads((path / "physics.json").read_text())
    g = read_gaussians_ply(path / "gaussians.ply")
    twin = Twin(x0=np.asarray(rec["nodes"]), v0=np.asarray(rec["v0"]), edges=np.asarray(rec["springs"], np.int32),
                rest=np.asarray(rec["rest"]), Y=np.asarray(rec["Y"]), zeta=rec["zeta"], drag=rec["drag"],
                friction=rec["friction"], restitution=rec["restitution"], total_mass=rec["total_mass_kg"],
                control_radius=rec["control"]["radius"], control_max_neighbors=rec["control"]["max_neighbors"],
                control_stiffness=rec["control"]["stiffness"], globals=rec["globals"])
    gs = {"means": g["means"], "colors": g["colors"], "scales": g["scales"].mean(1), "opacities": g["opacities"]}
    return {"twin": twin, "gaussians": gs, "idx": np.asarray(rec["binding"]["idx"]), "w": np.asarray(rec["binding"]["w"]),
            "background": tuple(rec["background"]), "max_substeps": rec["max_substeps"], "info": rec["fit_info"]}


def simulate(asset: dict | str | Path, controls: np.ndarray | None = None, n_frames: int = 1,
             fps: float = 24.0) -> dict[str, np.ndarray]:
    """Transfer-track entry: roll the twin (a fitted asset or an exported directory) for ``n_frames``.

    ``controls`` (n_frames, C, 3) drive control points attached by control springs (PhysTwin radius +
    max neighbours around their frame-0 positions). Returns {"nodes": (T,N,3), "gaussians": (T,G,3)}.
    If the rollout diverges, it is retried once with twice the substep cap.
    """
    from physics.errors import SimulationDiverged

    if not isinstance(asset, dict):
        asset = load_asset(asset)
    tw: Twin = asset["twin"]
    try:
        nodes = tw.rollout(n_frames, fps, controls, asset["max_substeps"])
    except SimulationDiverged:
        nodes = tw.rollout(n_frames, fps, controls, 2 * asset["max_substeps"])
    means = app.deform(asset["gaussians"]["means"], tw.x0, nodes, asset["idx"], asset["w"])
    return {"nodes": nodes, "gaussians": means}


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return x
