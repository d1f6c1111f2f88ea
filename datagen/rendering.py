"""Render a simulated sample into every camera with the profile's renderer.

``splat``: the canonical surface Gaussians following the GT surface points (render/splat.py).
``blender``: the textured mesh following the GT binding (``scene.mesh_vertices``) over a ground plane,
Cycles or Workbench, one worker process per sample (render/blender/; log kept as ``blender.log``).
Both renderers return the same arrays and follow docs/CONVENTIONS.md (RGB over the background,
alpha = coverage, z-depth in metres with 0 on background).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from datagen.profile import DatasetProfile


def manipulator_positions(profile: DatasetProfile, scene: Any) -> np.ndarray | None:
    """The control points the manipulator proxy is drawn at (T, C, 3), or None (free fall, or switched off)."""
    controls = getattr(scene, "controls", None)
    return None if controls is None or not profile.render.show_manipulator else np.asarray(controls, np.float64)


def _splat_with_manipulator(scene: Any, controls: np.ndarray, cameras: Sequence[Any], bg) -> dict[str, dict[str, np.ndarray]]:
    """Object + manipulator spheres: RGB of both, the object's and the manipulator's visible coverage (a second
    render of both sets coloured red / green over black), the object's depth where it is visible."""
    from render import manipulator as M
    from render.frames import render_trajectory

    obj = render_trajectory(scene.points, scene.colors, scene.gaussian_scale, 1.0, cameras, bg)
    proxy = M.proxy_points(controls)
    pts = np.concatenate([np.asarray(scene.points, np.float32), proxy], axis=1)
    m, k = scene.points.shape[1], proxy.shape[1]
    scales = np.concatenate([np.full(m, scene.gaussian_scale), np.full(k, 0.3 * M.RADIUS_M)]).astype(np.float32)
    colors = np.concatenate([np.asarray(scene.colors, np.float32), np.tile(np.asarray(M.COLOR_SRGB, np.float32), (k, 1))])
    labels = np.concatenate([np.tile([1.0, 0.0, 0.0], (m, 1)), np.tile([0.0, 1.0, 0.0], (k, 1))]).astype(np.float32)
    both = render_trajectory(pts, colors, scales, 1.0, cameras, bg)
    cover = render_trajectory(pts, labels, scales, 1.0, cameras, (0.0, 0.0, 0.0))
    out = {}
    for v in obj:
        alpha = np.clip(cover[v]["rgb"][..., 0], 0.0, 1.0)
        out[v] = {"rgb": both[v]["rgb"], "alpha": alpha, "depth": np.where(alpha >= 0.5, obj[v]["depth"], 0.0).astype(np.float32),
                  "manip": np.clip(cover[v]["rgb"][..., 1], 0.0, 1.0)}
    return out


def render_sample_frames(profile: DatasetProfile, scene: Any, cameras: Sequence[Any], sample_dir: Path,
                         plate: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """``{view: {"rgb": (T,H,W,3), "alpha": (T,H,W), "depth": (T,H,W)[, "normal", "manip", "plate"]}}`` float32.

    ``plate``: the Blender renderer also renders each view once without the object (``"plate"`` (H, W, 3), the
    background plate that evaluation composites predictions over; docs/CONVENTIONS.md). The splat renderer's
    background is the flat colour, so it has no plate."""
    rc = profile.render
    controls = manipulator_positions(profile, scene)
    if rc.renderer == "splat":
        from render.frames import render_trajectory

        if controls is not None:
            return _splat_with_manipulator(scene, controls, cameras, rc.background)
        return render_trajectory(scene.points, scene.colors, scene.gaussian_scale, 1.0, cameras, rc.background)
    if rc.renderer == "blender":
        from render.blender import render_scene_blender

        return render_scene_blender(rc, scene, cameras, sample_dir, manipulator=controls, plate=plate)
    raise ValueError(f"unknown renderer {rc.renderer!r}")
