"""Write one sample directory (format v1) from a simulated scene, atomically."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from datagen.profile import DatasetProfile
from core.dataset import SAMPLE_FORMAT, GTTrack, SampleDir
from core.frames import write_rgba_png
from core.hashing import sha256_file
from core.jsonio import write_json
from core.versions import package_versions
from datagen.sample_build import Scene, asset_record

#: Files kept in a sample dir but left out of its manifest hashes (logs with timings).
UNHASHED = frozenset({"blender.log"})

CAMERA_CONVENTION = (
    "cameras.json: OpenCV (x right, y down, z forward) camera-to-world + pixel K; "
    "transforms.json: OpenGL/Blender camera-to-world = c2w_opencv @ diag(1,-1,-1,1)"
)


PLATE_NOTE = ("each view rendered once more with the object and the manipulator hidden (same look, camera, samples and "
              "seed; so without the object's shadow): what evaluation composites a prediction over "
              "(pred_rgb + (1 - pred_alpha) * (plate - background)) before the image metrics")


def content_points(scene: Scene) -> np.ndarray:
    """Every position the rendered content takes: mesh vertices and surface points over all frames, of both
    interactions, and the control points."""
    parts = [scene.mesh_vertices, scene.points]
    if scene.transfer is not None:
        parts += [scene.transfer["mesh_vertices"], scene.transfer["points"], scene.transfer["controls"]]
    if scene.controls is not None:
        parts.append(scene.controls)
    return np.concatenate([np.asarray(p, np.float64).reshape(-1, 3) for p in parts])


def scene_look(profile: DatasetProfile, seed: int) -> dict[str, Any]:
    """What the frames show besides the object, drawn from the sample's seed (its own stream)."""
    from core.hashing import stable_seed
    from render.blender.look import photoreal_look, splat_look, studio_look

    rc = profile.render
    if rc.renderer == "splat":
        return splat_look(rc.background)
    if rc.look == "photoreal":
        return photoreal_look(np.random.default_rng(stable_seed(seed, "look")), rc.background, rc.ground_plane)
    return studio_look(rc.background, rc.ground_plane)


def make_cameras(profile: DatasetProfile, scene: Scene | None = None) -> tuple[list[Any], dict[str, Any]]:
    """The sample's cameras and the record of how they were placed (sample.json ``render.framing``)."""
    from render.cameras import framing_cameras, orbit_cameras

    rc = profile.render
    if rc.framing == "trajectory" and scene is not None:
        return framing_cameras(rc.n_views, content_points(scene), rc.camera_elevation_deg, rc.width, rc.height,
                               rc.fov_deg, fill=rc.frame_fill, margin_m=2.0 * float(scene.gaussian_scale))
    cams = orbit_cameras(rc.n_views, radius=rc.camera_distance_m, elevation_deg=rc.camera_elevation_deg,
                         target=(0.0, 0.0, rc.look_at_height_m), width=rc.width, height=rc.height, fov_deg=rc.fov_deg)
    return cams, {"method": "fixed", "target": [0.0, 0.0, rc.look_at_height_m], "distance_m": rc.camera_distance_m,
                  "fov_deg": rc.fov_deg, "elevation_deg": rc.camera_elevation_deg}


def encode_normals(normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World-space unit normals (H, W, 3), 0 off the object -> (RGB (n + 1) / 2, A = 1 on the object)."""
    n = np.asarray(normal, np.float64)
    on = np.linalg.norm(n, axis=-1) > 0.5
    return np.where(on[..., None], 0.5 * (n + 1.0), 0.0), on.astype(np.float64)


def _write_frames(gt: GTTrack, frames: dict[str, dict[str, np.ndarray]], n_frames: int) -> None:
    for view, f in frames.items():
        for t in range(n_frames):
            write_rgba_png(gt.rgb_path(view, t), f["rgb"][t], f["alpha"][t])
            gt.depth_path(view, t).parent.mkdir(parents=True, exist_ok=True)
            np.save(gt.depth_path(view, t), f["depth"][t])
            if "normal" in f:  # the Blender renderer's object normals (Cycles)
                write_rgba_png(gt.normal_path(view, t), *encode_normals(f["normal"][t]))
            if "manip" in f:  # the manipulator proxy's visible coverage (interaction)
                m = f["manip"][t]
                write_rgba_png(gt.manip_path(view, t), np.repeat(m[..., None], 3, axis=-1), m)


def _write_transfer(sample: SampleDir, scene: Scene, profile: DatasetProfile, cams: list[Any]) -> float:
    """The held-out interaction (transfer track): controls, GT trajectories and frames under them."""
    from types import SimpleNamespace

    from datagen.rendering import render_sample_frames

    tr = scene.transfer
    assert tr is not None
    gt = sample.transfer
    gt.root.mkdir()
    np.save(gt.controls_path, tr["controls"])
    np.save(gt.points_path, tr["points"])
    np.save(gt.particles_path, tr["particles"])
    view = SimpleNamespace(points=tr["points"], mesh_vertices=tr["mesh_vertices"], colors=scene.colors,
                           gaussian_scale=scene.gaussian_scale, mesh=scene.mesh, look=scene.look, controls=tr["controls"])
    from render.cameras import border_clipped_fraction

    frames = render_sample_frames(profile, view, cams, gt.root)
    _write_frames(gt, frames, tr["points"].shape[0])
    return float(np.mean([border_clipped_fraction(f["alpha"]) for f in frames.values()]))


def write_sample(out: Path, meta: dict[str, Any], scene: Scene, profile: DatasetProfile) -> dict[str, str]:
    """Render every view/frame and write the sample into ``out`` (a temp dir). Returns {relpath: sha256}."""
    from render.cameras import cameras_to_transforms_json
    from datagen.rendering import render_sample_frames
    from render.gaussians_ply import write_gaussians_ply

    rc = profile.render
    sample = SampleDir(out)
    from render import manipulator
    from render.cameras import border_clipped_fraction

    scene.look = scene_look(profile, int(meta["seed"]))
    cams, framing = make_cameras(profile, scene)
    n_frames = scene.points.shape[0]
    frames = render_sample_frames(profile, scene, cams, out, plate=True)
    for view, f in frames.items():
        if "plate" in f:
            write_rgba_png(sample.plate_path(view), f["plate"], np.ones(f["plate"].shape[:2], np.float32))
    framing["clipped_fraction"] = float(np.mean([border_clipped_fraction(f["alpha"]) for f in frames.values()]))
    _write_frames(sample.main, frames, n_frames)
    write_json(sample.cameras_json, {"convention": "opencv", "cameras": [c.to_json() for c in cams]})
    first = {c.name: str(sample.rgb_path(c.name, 0).relative_to(out)) for c in cams}
    write_json(sample.transforms_json, cameras_to_transforms_json(cams, first))

    sample.gt_dir.mkdir(exist_ok=True)
    np.save(sample.main.points_path, scene.points)
    np.save(sample.main.particles_path, scene.particles)
    gt_npz = {"spring_mass": "springs", "mpm": "fields"}.get(scene.physics["model"], scene.physics["model"])
    np.savez(sample.gt_file(f"{gt_npz}.npz"), **scene.gt_arrays)  # springs / per-particle E, nu, volume / reduced
    if scene.controls is not None:
        np.save(sample.main.controls_path, scene.controls)
    if scene.transfer is not None:
        framing["clipped_fraction_transfer"] = _write_transfer(sample, scene, profile, cams)
    sample.asset_dir.mkdir(exist_ok=True)
    m = scene.points.shape[1]
    write_gaussians_ply(sample.gaussians_ply, scene.points[0], np.full(m, scene.gaussian_scale, np.float32),
                        scene.colors, np.ones(m, np.float32))
    from datagen.assets import save_obj

    save_obj(scene.mesh, sample.asset_dir)
    if rc.preview:
        from render.video import write_gif

        strip = [np.concatenate([frames[c.name]["rgb"][t] for c in cams], axis=1) for t in range(n_frames)]
        write_gif(sample.preview_gif, strip, fps=profile.scenario.fps)

    seen = [c.name for c in cams[: rc.n_views - rc.held_out_views]]
    meta = {
        **meta,
        "format": SAMPLE_FORMAT,
        "scenario": scene.scenario,
        "physics": scene.physics,
        "binding": scene.binding or {"kind": "model", "equation": "points are query points of the reduced model "
                                                                 "(x = X + sum_h w_h(X) A_h [X; 1], Vid2Sim eq. 1)"},
        "asset": asset_record(scene.mesh),
        "category": meta.get("category") or scene.mesh.category,
        "world": {
            "units": "SI (m, s, kg)",
            "up": "+z",
            "gravity": [0.0, 0.0, -9.81],
            "ground": {"height": 0.0, "friction": scene.physics["params"]["friction"],
                       "restitution": scene.physics["params"].get("restitution")},
            "object_size_m": profile.assets.object_size_m,
        },
        "render": {
            "renderer": rc.renderer,
            **({"engine": rc.blender_engine, "samples": rc.samples, "denoise": rc.denoise,
                "denoise_prefilter": rc.denoise_prefilter,
                "ground_plane": rc.ground_plane} if rc.renderer == "blender" else {}),
            "width": rc.width,
            "height": rc.height,
            "background": list(rc.background),
            "views": [c.name for c in cams],
            "seen_views": seen,
            "held_out_views": [c.name for c in cams if c.name not in seen],
            "monocular_view": seen[0],
            "camera_convention": CAMERA_CONVENTION,
            "framing": framing,
            "manipulator": (manipulator.record() if scene.controls is not None and rc.show_manipulator
                            and (rc.renderer == "splat" or rc.blender_engine == "cycles") else None),
            "scene": {**scene.look, "note": "what the frames show besides the object; alpha, depth and normals "
                                            "are the object's only; full-frame image metrics (PSNR, SSIM, LPIPS) "
                                            "see everything, IoU uses the object masks"},
            "background_plate": ({"path": "background/<view>.png", "note": PLATE_NOTE}
                                 if any("plate" in f for f in frames.values()) else None),
            "depth": "z-depth along camera +z (m), alpha-normalised, 0 where alpha < 0.5",
            "normals": ("normal/<view>/<t>.png: world-space unit normals of the object as RGB = (n + 1) / 2, "
                        "A = 255 on the object (alpha >= 0.5), 0 elsewhere"
                        if rc.renderer == "blender" and rc.blender_engine == "cycles" else None),
            "gaussians": {"n": int(m), "scale_m": scene.gaussian_scale, "opacity": 1.0, "isotropic": True},
        },
        # the renderer and simulator packages that made this sample's bytes, besides the common ones
        "versions": package_versions((("bpy",) if rc.renderer == "blender" else ())
                                     + {"mpm": ("taichi",), "reduced": ()}.get(scene.physics["model"], ())),
    }
    write_json(sample.sample_json, meta)
    return {str(p.relative_to(out)): sha256_file(p) for p in sorted(out.rglob("*")) if p.is_file() and p.name not in UNHASHED}
