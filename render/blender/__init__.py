"""Blender renderer (``render.renderer: blender``): textured mesh, ground plane, Cycles or Workbench.

Importing this package does not import bpy; bpy is only loaded in the worker process
(:mod:`render.blender.worker`), started once per sample by :func:`render_mesh_frames`.
"""
from .job import BlenderRenderError, BlenderSettings, render_mesh_frames, render_scene_blender

__all__ = ["BlenderRenderError", "BlenderSettings", "render_mesh_frames", "render_scene_blender"]


def bpy_available() -> bool:
    """Whether ``import bpy`` can work in this environment (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("bpy") is not None
