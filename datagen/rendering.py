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


def render_sample_frames(profile: DatasetProfile, scene: Any, cameras: Sequence[Any], sample_dir: Path) -> dict[str, dict[str, np.ndarray]]:
    """``{view: {"rgb": (T,H,W,3), "alpha": (T,H,W), "depth": (T,H,W)}}`` float32."""
    rc = profile.render
    if rc.renderer == "splat":
        from render.frames import render_trajectory

        return render_trajectory(scene.points, scene.colors, scene.gaussian_scale, 1.0, cameras, rc.background)
    if rc.renderer == "blender":
        from render.blender import render_scene_blender

        return render_scene_blender(rc, scene, cameras, sample_dir)
    raise ValueError(f"unknown renderer {rc.renderer!r}")
