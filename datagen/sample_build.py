"""Build one sample's scene: asset, pose, scenario (free fall or interaction), GT physics rollout.

The object is posed with a seeded rotation (free fall) or resting on the ground (interaction), the
GT model (spring-mass, reduced-order LBS or MLS-MPM; `mixed` picks one per sample) is simulated, and the
surface material points and mesh vertices follow. Interaction samples also simulate a held-out
interaction from the same initial state for the transfer track.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from datagen.profile import DatasetProfile, observed_frames
from datagen.interaction import held_out_kind, plan_interaction
from datagen.physics_sampling import (random_rotation, random_unit_vector, sample_mpm_params, sample_reduced_params,
                                      sample_spring_mass_params)


@dataclass
class Scene:
    """Everything the writer needs: GT trajectories, appearance and the recorded parameters."""

    particles: np.ndarray  # (T, N, 3) float32
    points: np.ndarray  # (T, M, 3) float32 surface material points
    colors: np.ndarray  # (M, 3) float32
    gaussian_scale: float
    mesh: Any  # AssetMesh in the object frame (scaled to object_size_m)
    mesh_vertices: np.ndarray  # (T, V, 3) float32 world positions of the mesh vertices
    scenario: dict[str, Any] = field(default_factory=dict)
    physics: dict[str, Any] = field(default_factory=dict)
    binding: dict[str, Any] | None = None
    gt_arrays: dict[str, np.ndarray] = field(default_factory=dict)  # extra gt/*.npz content
    controls: np.ndarray | None = None  # (T, C, 3)
    transfer: dict[str, Any] | None = None  # held-out interaction: controls, particles, points, mesh_vertices, scenario
    look: dict[str, Any] | None = None  # what the renderer shows besides the object (render/blender/look.py)


def load_scaled_mesh(object_id: str, assets: Any) -> Any:
    """Load the asset (any source), check it can be filled, and scale it to ``object_size_m``."""
    from datagen.assets import check_mesh, normalize
    from datagen.assets.sources import load_asset

    mesh = load_asset(object_id, assets)
    check_mesh(mesh, max_faces=assets.max_faces)
    return normalize(mesh, assets.object_size_m) if assets.object_size_m != 1.0 else mesh


def asset_record(mesh: Any) -> dict[str, Any]:
    """What sample.json records about the asset: source, licence, file hash, size, normalization."""
    return {"object_id": mesh.object_id, "category": mesh.category, "source": mesh.source, "license": mesh.license,
            "source_sha256": mesh.meta.get("source_sha256"), "n_vertices": int(mesh.vertices.shape[0]),
            "n_faces": int(mesh.faces.shape[0]), "normalization": {"scale": mesh.meta.get("scale"),
                                                                 "offset": mesh.meta.get("offset")}}


def _choose_model(profile: DatasetProfile, rng: np.random.Generator) -> str:
    ph = profile.physics
    if ph.model != "mixed":
        return ph.model
    if ph.mixed_shares is None:  # uniform (kept as it was: the same draws as before shares existed)
        return str(rng.choice(ph.mixed_models))
    return str(rng.choice(ph.mixed_models, p=np.asarray(ph.mixed_shares, np.float64)))


def _simulate(model: str, profile: DatasetProfile, gt: dict[str, Any], body: dict[str, np.ndarray], v0: np.ndarray,
              queries: list[np.ndarray], controls: np.ndarray | None, seed: int, other_controls: list = ()) -> Any:
    from datagen.simulators import mpm_rollout, reduced_rollout, spring_mass_rollout

    sc, ph = profile.scenario, profile.physics
    if model == "mpm":
        return mpm_rollout(ph.mpm, gt, body["mesh_vertices"], body["mesh_faces"], v0, queries, sc.n_frames, sc.fps,
                           controls, sc.interaction if controls is not None else None)
    if model == "spring_mass":
        return spring_mass_rollout(ph.spring_mass, gt, body["anchors"], v0, queries, sc.n_frames, sc.fps, controls,
                                   sc.interaction if controls is not None else None, other_controls)
    return reduced_rollout(ph.reduced, gt, body["volume"], body["total_volume"], v0, queries, sc.n_frames, sc.fps, seed,
                           controls, sc.interaction if controls is not None else None)


def hashed_anchors(cfg: Any, object_id: str, surf0: np.ndarray) -> np.ndarray:
    """ReconPhys §4.1 consistent anchors: the shared sampler on the posed surface samples (float32, the
    values written as the canonical Gaussians' centres), seeded by the object id's hash."""
    from physics.spring_mass.anchors import object_seed, sample_anchors

    return sample_anchors(np.asarray(surf0, np.float32), cfg.n_anchors, object_seed(object_id), cfg.anchor_fill_res,
                          cfg.anchor_fill)


def build_scene(profile: DatasetProfile, object_id: str, rng: np.random.Generator) -> Scene:
    """Sample and simulate one sample; raises physics.errors.SimulationDiverged on blow-up."""
    from scipy.spatial import cKDTree

    from datagen.assets import sample_surface_even, sample_volume, volume
    from physics.point_sampling import farthest_point_sampling

    sc, ph, rc = profile.scenario, profile.physics, profile.render
    model = _choose_model(profile, rng)
    kind = sc.kind if sc.kind != "mixed" else ("interaction" if rng.uniform() < sc.interaction_fraction else "freefall")
    mesh = load_scaled_mesh(object_id, profile.assets)
    n_vol = {"spring_mass": ph.spring_mass.n_anchors, "reduced": ph.reduced.n_volume_samples, "mpm": 8}[model]
    hashed = model == "spring_mass" and ph.spring_mass.anchor_sampling == "object_hash"
    if hashed:  # drawn below from the posed surface samples (the canonical Gaussians the methods get)
        vol_obj = np.zeros((0, 3))
    elif model == "spring_mass" and ph.spring_mass.anchor_sampling == "fps":
        dense = sample_volume(mesh, 20 * n_vol, rng)
        vol_obj = dense[farthest_point_sampling(dense, n_vol, int(rng.integers(len(dense))))]
    else:
        vol_obj = sample_volume(mesh, n_vol, rng)
    surf_obj, normals_obj, colors, _f, _b = sample_surface_even(mesh, rc.n_surface_points, rng)

    interaction = kind == "interaction"
    rot = random_rotation(rng) if (sc.random_orientation and not interaction) else np.eye(3)
    allp = np.concatenate([vol_obj, surf_obj, mesh.vertices]) @ rot.T
    height = 0.0 if interaction else float(rng.uniform(*sc.drop_height_m))
    offset = np.array([0.0, 0.0, height - allp[:, 2].min()]) - np.array([*allp[:, :2].mean(0), 0.0])
    pose = lambda x: (x @ rot.T + offset).astype(np.float32)  # noqa: E731
    surf0, verts0 = pose(surf_obj), pose(mesh.vertices)
    body = {"anchors": pose(vol_obj), "volume": pose(vol_obj).astype(np.float64), "total_volume": volume(mesh),
            "mesh_vertices": verts0.astype(np.float64), "mesh_faces": mesh.faces}
    if hashed:
        body["anchors"] = hashed_anchors(ph.spring_mass, object_id, surf0)
    normals0 = (normals_obj @ rot.T).astype(np.float32)
    speed = 0.0 if interaction else float(rng.uniform(*sc.initial_speed_mps))
    v0 = (speed * random_unit_vector(rng)).astype(np.float32)
    sampler = {"spring_mass": lambda: sample_spring_mass_params(ph.spring_mass, rng),
               "reduced": lambda: sample_reduced_params(ph.reduced, rng), "mpm": lambda: sample_mpm_params(ph.mpm, rng)}
    gt = sampler[model]()
    seed = int(rng.integers(2**31))

    scenario: dict[str, Any] = {"kind": kind, "drop_height_m": height, "initial_rotation": rot.tolist(),
                                "initial_velocity": v0.tolist(), "initial_speed_mps": speed}
    controls = transfer_plan = None
    if interaction:
        ic = sc.interaction
        kind = str(rng.choice(ic.kinds))
        n_obs = observed_frames(sc.n_frames, sc.observed_fraction)
        plan = plan_interaction(kind, surf0, normals0, sc.n_frames, float(rng.uniform(*ic.displacement_m)), rng, n_obs)
        controls = plan["controls"]
        scenario["interaction"] = {k: v for k, v in plan.items() if k != "controls"}
        if ic.transfer:
            tkind = held_out_kind(kind, list(ic.kinds), rng)
            transfer_plan = plan_interaction(tkind, surf0, normals0, sc.n_frames, float(rng.uniform(*ic.displacement_m)),
                                             rng, n_obs)
            scenario["transfer"] = {k: v for k, v in transfer_plan.items() if k != "controls"}

    tctrl = [transfer_plan["controls"]] if transfer_plan is not None else []
    roll = _simulate(model, profile, gt, body, v0, [surf0, verts0], controls, seed, tctrl)
    transfer = None
    if transfer_plan is not None:
        troll = _simulate(model, profile, gt, body, v0, [surf0, verts0], transfer_plan["controls"], seed, [controls])
        transfer = {"controls": transfer_plan["controls"], "particles": troll.particles, "points": troll.queries[0],
                    "mesh_vertices": troll.queries[1], "scenario": scenario["transfer"]}
    spacing = float(np.mean(cKDTree(surf0).query(surf0, k=2)[0][:, 1]))
    return Scene(
        particles=roll.particles, points=roll.queries[0], colors=np.asarray(colors, np.float32),
        gaussian_scale=rc.gaussian_scale_factor * spacing, mesh=mesh, mesh_vertices=roll.queries[1],
        scenario=scenario, physics={"model": model, "params": gt, **roll.record}, binding=roll.binding,
        gt_arrays=roll.extra, controls=controls, transfer=transfer,
    )
