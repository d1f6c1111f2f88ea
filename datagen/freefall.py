"""Free-fall scenario: an object dropped onto the ground plane, simulated with the GT spring-mass.

The object is posed with a seeded rotation, its lowest point at the sampled drop height, given a
seeded initial velocity, and simulated; the surface material points follow the particles through
an LBS binding with Spring-Gaus eq. 15 IDW weights (physics.binding, mode "lbs"): exact at t=0
and for rigid motion, unlike plain eq. 15 which shrinks points towards their anchors.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.config import DatasetProfile
from datagen.physics_sampling import (random_rotation, random_unit_vector, sample_spring_mass_params,
                                      spring_mass_params_from_record)


@dataclass
class FreefallScene:
    """Everything the writer needs: GT trajectories, appearance and the recorded parameters."""

    particles: np.ndarray  # (T, N, 3) float32
    points: np.ndarray  # (T, M, 3) float32 surface material points
    colors: np.ndarray  # (M, 3) float32
    gaussian_scale: float
    edges: np.ndarray  # (S, 2) int32
    rest: np.ndarray  # (S,) float32
    mesh: Any  # normalized AssetMesh in the object frame (scaled to object_size_m)
    mesh_vertices: np.ndarray | None = None  # (T, V, 3) float32 world positions of the mesh vertices (same binding)
    scenario: dict[str, Any] = field(default_factory=dict)
    physics: dict[str, Any] = field(default_factory=dict)
    binding: dict[str, Any] = field(default_factory=dict)


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


def build_freefall(profile: DatasetProfile, object_id: str, rng: np.random.Generator) -> FreefallScene:
    """Sample and simulate one free-fall sample; raises physics.errors.SimulationDiverged on blow-up."""
    from scipy.spatial import cKDTree

    from datagen.assets import sample_surface_even, sample_volume
    from physics.binding import apply_binding, idw_binding
    from physics.spring_mass import knn_springs, recommend_substeps, simulate

    sc, sm, rc = profile.scenario, profile.physics.spring_mass, profile.render
    mesh = load_scaled_mesh(object_id, profile.assets)
    anchors_obj = sample_volume(mesh, sm.n_anchors, rng)
    surf_obj, _normals, colors, _f, _b = sample_surface_even(mesh, rc.n_surface_points, rng)

    rot = random_rotation(rng) if sc.random_orientation else np.eye(3)
    both = np.concatenate([anchors_obj, surf_obj]) @ rot.T
    height = float(rng.uniform(*sc.drop_height_m))
    offset = np.array([0.0, 0.0, height - both[:, 2].min()]) - np.array([*both[:, :2].mean(0), 0.0])
    anchors0 = (anchors_obj @ rot.T + offset).astype(np.float32)
    surf0 = (surf_obj @ rot.T + offset).astype(np.float32)
    speed = float(rng.uniform(*sc.initial_speed_mps))
    v0 = (speed * random_unit_vector(rng)).astype(np.float32)

    gt = sample_spring_mass_params(sm, rng)
    edges, rest = knn_springs(anchors0, sm.knn)
    n = anchors0.shape[0]
    params = spring_mass_params_from_record(gt)
    substeps = sm.substeps or recommend_substeps(edges, rest, params, n, sc.fps)
    res = simulate(anchors0, np.broadcast_to(v0, anchors0.shape).copy(), edges, rest, params,
                   n_frames=sc.n_frames, fps=sc.fps, substeps=substeps)
    particles = res.positions.astype(np.float32)
    idx, w = idw_binding(surf0, anchors0, k=sm.binding_k)
    points = np.asarray(apply_binding(surf0, anchors0, particles, idx, w, mode="lbs"), dtype=np.float32)
    verts0 = (mesh.vertices @ rot.T + offset).astype(np.float32)
    vidx, vw = idw_binding(verts0, anchors0, k=sm.binding_k)
    mesh_vertices = np.asarray(apply_binding(verts0, anchors0, particles, vidx, vw, mode="lbs"), dtype=np.float32)

    spacing = float(np.mean(cKDTree(surf0).query(surf0, k=2)[0][:, 1]))
    scenario = {
        "kind": "freefall",
        "drop_height_m": height,
        "initial_rotation": rot.tolist(),
        "initial_velocity": v0.tolist(),
        "initial_speed_mps": speed,
    }
    physics = {
        "model": "spring_mass",
        "params": gt,
        "topology": {"kind": "knn", "k": sm.knn, "n_springs": int(edges.shape[0])},
        "n_particles": int(n),
        "substeps": int(substeps),
        "dt": 1.0 / (sc.fps * substeps),
        "particle_mass_kg": gt["mass_kg"] / n,
    }
    return FreefallScene(
        particles=particles,
        points=points,
        colors=np.asarray(colors, np.float32),
        gaussian_scale=rc.gaussian_scale_factor * spacing,
        edges=edges,
        rest=rest,
        mesh=mesh,
        mesh_vertices=mesh_vertices,
        scenario=scenario,
        physics=physics,
        binding={"kind": "lbs", "k": sm.binding_k, "power": 2.0, "lbs_neighbors": 8,
                 "equation": "IDW weights of Spring-Gaus eq. 15 blending per-anchor rigid (Kabsch) fits, "
                             "mu_t = sum_j w_j (R_j^t (mu_0 - x_j^0) + x_j^t); exact at t=0 and for rigid motion"},
    )
