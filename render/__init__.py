"""Cameras, Gaussian splatting and preview helpers.

Importing ``render`` (or ``render.cameras`` / ``render.gaussians_ply`` / ``render.video``) stays light:
numpy only. torch is imported by ``render.splat`` (pure-torch rasterizer) and ``render.gsplat_backend``.
"""

from .cameras import (
    Camera,
    backproject_pixels,
    cameras_to_transforms_json,
    look_at,
    orbit_cameras,
    project_points,
    transforms_json_to_cameras,
)

__all__ = [
    "Camera",
    "backproject_pixels",
    "cameras_to_transforms_json",
    "look_at",
    "orbit_cameras",
    "project_points",
    "transforms_json_to_cameras",
]
