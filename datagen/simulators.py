"""Ground-truth simulators for datagen: spring-mass (warp) and reduced-order LBS (torch).

Each returns particle trajectories plus the trajectories of query points (surface material points
and mesh vertices), and the record that sample.json stores so the rollout can be reproduced.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from datagen.profile import MPMConfig, ReducedConfig, SpringMassConfig
from physics.spring_mass.record import params_from_record as spring_mass_params


@dataclass
class GTRollout:
    particles: np.ndarray  # (T, N, 3)
    queries: list[np.ndarray]  # per query set (T, Q, 3)
    record: dict[str, Any]  # sample.json "physics" block (without "params")
    binding: dict[str, Any] | None  # how the queries follow the particles (None: the model moves them itself)
    extra: dict[str, np.ndarray]  # arrays for gt/ (springs ...)


def anchor_sampling_record(cfg: SpringMassConfig) -> dict[str, Any]:
    """How the GT anchors were drawn (sample.json physics.anchor_sampling)."""
    if cfg.anchor_sampling == "object_hash":
        return {"kind": "object_hash", "fill": cfg.anchor_fill, "fill_res": cfg.anchor_fill_res,
                "function": "physics.spring_mass.anchors.sample_anchors(canonical Gaussian centres at frame 0, "
                            "n_particles, object_seed(object_id), fill_res, fill)",
                "equation": "ReconPhys §4.1 consistent anchor sampling (seed = sha256 hash of the object id)"}
    if cfg.anchor_sampling == "fps":
        return {"kind": "fps", "pool": "20 n_particles uniform interior samples of the mesh (sample seed)"}
    return {"kind": "uniform", "pool": "n_particles uniform interior samples of the mesh (sample seed)"}


def spring_mass_rollout(cfg: SpringMassConfig, gt: dict[str, Any], anchors0: np.ndarray, v0: np.ndarray,
                        queries0: list[np.ndarray], n_frames: int, fps: float, controls: np.ndarray | None,
                        control_cfg: Any | None, other_controls: list[np.ndarray] = ()) -> GTRollout:
    """Simulate the spring-mass GT; queries follow by LBS with IDW weights (Spring-Gaus eq. 15).

    ``other_controls`` (e.g. the held-out transfer interaction) only enter the substep count, so
    every rollout of the sample uses the same dt and a method can reproduce any of them exactly.
    """
    from physics.binding import apply_binding, idw_binding
    from physics.spring_mass import control_springs, knn_springs, recommend_substeps, simulate

    edges, rest = knn_springs(anchors0, cfg.knn)
    n = anchors0.shape[0]
    params = spring_mass_params(gt)
    cedges = None
    if controls is not None:
        params.control_stiffness = float(control_cfg.control_stiffness)
        springs = [control_springs(c[0], anchors0, control_cfg.control_radius_m, control_cfg.control_max_neighbors)[0]
                   for c in [controls, *other_controls]]
        cedges = springs[0]
        substeps = cfg.substeps or max(recommend_substeps(edges, rest, params, n, fps, control_edges=ce) for ce in springs)
    else:
        substeps = cfg.substeps or recommend_substeps(edges, rest, params, n, fps)
    res = simulate(anchors0, np.broadcast_to(v0, anchors0.shape).copy(), edges, rest, params, n_frames=n_frames,
                   fps=fps, substeps=substeps, controls=controls, control_edges=cedges)
    particles = res.positions.astype(np.float32)
    out = []
    for q in queries0:
        idx, w = idw_binding(q, anchors0, k=cfg.binding_k)
        out.append(np.asarray(apply_binding(q, anchors0, particles, idx, w, mode="lbs"), np.float32))
    record = {"topology": {"kind": "knn", "k": cfg.knn, "n_springs": int(edges.shape[0])}, "n_particles": int(n),
              "substeps": int(substeps), "dt": 1.0 / (fps * substeps), "particle_mass_kg": gt["mass_kg"] / n,
              "anchor_sampling": anchor_sampling_record(cfg)}
    extra = {"edges": edges, "rest": rest}
    if cedges is not None:
        record["controls"] = {"n_control_springs": int(cedges.shape[0]), "radius_m": control_cfg.control_radius_m,
                              "max_neighbors": control_cfg.control_max_neighbors,
                              "stiffness_n_per_m": control_cfg.control_stiffness,
                              "topology": "each control point to its nearest particles within radius (PhysTwin)"}
        extra["control_edges"] = cedges
    binding = {"kind": "lbs", "k": cfg.binding_k, "power": 2.0, "lbs_neighbors": 8,
               "equation": "IDW weights of Spring-Gaus eq. 15 blending per-anchor rigid (Kabsch) fits, "
                           "mu_t = sum_j w_j (R_j^t (mu_0 - x_j^0) + x_j^t); exact at t=0 and for rigid motion"}
    return GTRollout(particles, out, record, binding, extra)


def reduced_rollout(cfg: ReducedConfig, gt: dict[str, Any], volume_pts: np.ndarray, total_volume: float,
                    v0: np.ndarray, queries0: list[np.ndarray], n_frames: int, fps: float, seed: int,
                    controls: np.ndarray | None = None, control_cfg: Any | None = None) -> GTRollout:
    """Simulate the reduced-order LBS GT (Vid2Sim §3): Simplicits weights trained data-free, implicit Euler.
    With ``controls`` the cubature points within ``control_cfg.control_radius_m`` of a control point at
    frame 0 follow its displacement through the solver's control penalty (``physics.reduced.solver``)."""
    from core.processes import torch_threads

    with torch_threads():  # the same bits on any worker thread share (core.processes.GT_TORCH_THREADS)
        return _reduced_rollout(cfg, gt, volume_pts, total_volume, v0, queries0, n_frames, fps, seed, controls, control_cfg)


def _reduced_rollout(cfg: ReducedConfig, gt: dict[str, Any], volume_pts: np.ndarray, total_volume: float,
                     v0: np.ndarray, queries0: list[np.ndarray], n_frames: int, fps: float, seed: int,
                     controls: np.ndarray | None, control_cfg: Any | None) -> GTRollout:
    import torch

    from physics.reduced import (ReducedParams, cubature_points, simulate_reduced, train_skinning_weights,
                                 translation_velocity)

    torch.manual_seed(seed % (2**31))
    model, _hist = train_skinning_weights(volume_pts, n_handles=cfg.n_handles, E=gt["youngs_modulus"], nu=gt["poisson_ratio"],
                                          steps=cfg.skinning_steps, seed=seed % (2**31))
    xc, vc = cubature_points(volume_pts, cfg.n_cubature, total_volume)
    params = ReducedParams(E=gt["youngs_modulus"], nu=gt["poisson_ratio"], density=gt["density"], dt=1.0 / (fps * cfg.substeps),
                           substeps=cfg.substeps, ground=True, ground_height=0.0, friction=gt["friction"],
                           control_stiffness=cfg.control_stiffness)
    zdot0 = translation_velocity(model.n_total, np.asarray(v0, np.float64))
    allq = np.concatenate([xc, *queries0]).astype(np.float64)
    with torch.no_grad():
        res = simulate_reduced(model, xc, vc, allq, params, n_frames, zdot0=zdot0, controls=controls,
                               control_radius=None if controls is None else control_cfg.control_radius_m)
    pos = np.asarray(res.positions, np.float32)
    n = xc.shape[0]
    out, k = [], n
    for q in queries0:
        out.append(pos[:, k:k + q.shape[0]])
        k += q.shape[0]
    from physics.reduced.record import record_from_params

    record = {"n_particles": int(n), "n_handles": int(model.n_total), "skinning_steps": cfg.skinning_steps,
              **record_from_params(params), "cubature": "farthest-point", "integrator": "implicit Euler + Newton",
              "material": "stable neo-Hookean (Smith et al. 2018)",
              "total_volume_m3": float(total_volume), "skinning_seed": int(seed % (2**31))}
    if controls is not None:  # what a re-simulation under other controls needs (oracle, transfer track)
        record["controls"] = {"radius_m": float(control_cfg.control_radius_m), "mode": "penalty",
                              "stiffness_per_kg": float(params.control_stiffness),
                              "attachment": "cubature points within radius_m of c(0) are pulled towards x(0) + c(t) - c(0) "
                                            "(E_ctrl = kappa/2 sum m_c |x_c - y_c|^2)"}
    state = {f"mlp.{k}": v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    return GTRollout(pos[:, :n], out, record, None, {"cubature_points": xc.astype(np.float32), **state})


def mpm_rollout(cfg: MPMConfig, gt: dict[str, Any], verts: np.ndarray, faces: np.ndarray, v0: np.ndarray,
                queries0: list[np.ndarray], n_frames: int, fps: float, controls: np.ndarray | None,
                control_cfg: Any | None) -> GTRollout:
    """Simulate the MLS-MPM GT (PhysInteract §3): voxel-filled particles, E field, ground collider."""
    from physics.binding import apply_binding, idw_binding
    from physics.mpm import MPMParams, fill_mesh_particles, simulate_mpm

    fill = fill_mesh_particles(verts, faces, n=cfg.n_particles, density=gt["density"])
    x0 = fill.positions.astype(np.float64)
    e = np.full(x0.shape[0], gt["youngs_modulus"])
    if gt["E_field"] == "two_region":  # the half on the normal's side is stiffer by the sampled ratio
        side = (x0 - x0.mean(0)) @ np.asarray(gt["region_normal"]) > 0
        e[side] *= 10.0 ** gt["region_log10_ratio"]
    w, h = cfg.domain_half_width_m, cfg.domain_height_m
    lo_z = -4.0 * max(2.0 * w, h) / cfg.n_grid  # the ground sits above the 3-cell wall layer
    params = MPMParams(n_grid=cfg.n_grid, domain_lo=(-w, -w, lo_z), domain_hi=(w, w, h + lo_z), density=gt["density"],
                       E=e, nu=gt["poisson_ratio"], ground=gt["ground"], friction=gt["friction"], ground_height=0.0)
    res = simulate_mpm(x0, np.broadcast_to(v0, x0.shape).copy(), fill.volumes, params, n_frames, fps, controls=controls,
                       control_radius=None if controls is None else control_cfg.control_radius_m)
    particles = res.positions.astype(np.float32)
    out = []
    for q in queries0:
        idx, wts = idw_binding(q, x0, k=8)
        out.append(np.asarray(apply_binding(q, x0, particles, idx, wts, mode="lbs"), np.float32))
    from physics.mpm.engine import p2g_mode
    from physics.mpm.record import record_from_params

    record = {"n_particles": int(x0.shape[0]), "particle_spacing_m": float(fill.spacing), **record_from_params(params),
              "dx_m": float(res.dx), "substeps": int(res.substeps), "dt": float(res.dt),
              "constitutive": "fixed-corotated (PhysInteract eq. 1)", "transfer": "MLS-MPM, quadratic B-splines",
              "p2g": f"{p2g_mode(params)} scatter (physics/mpm/colored_p2g.py; serial and colored agree to rounding)"}
    if controls is not None:  # what a re-simulation under other controls needs (oracle, transfer track)
        record["controls"] = {"radius_m": float(control_cfg.control_radius_m), "mode": "position",
                              "attachment": "particles within radius_m of c(0) follow c(t) - c(0)"}
    binding = {"kind": "lbs", "k": 8, "power": 2.0, "lbs_neighbors": 8,
               "equation": "IDW weights (Spring-Gaus eq. 15) over the nearest MPM particles, blended with per-particle rigid fits"}
    return GTRollout(particles, out, record, binding, {"E": e.astype(np.float32), "nu": np.full(x0.shape[0], gt["poisson_ratio"], np.float32),
                                                        "volume": fill.volumes.astype(np.float32)})
