"""Object assets for dataset generation: the mesh type and utilities, the offline procedural
pack, and `get_asset(object_id)` dispatching on the id prefix. Pure numpy/scipy/trimesh
(never imports torch)."""
from __future__ import annotations

from .mesh import (
    AssetError,
    AssetMesh,
    check_mesh,
    farthest_point_sampling,
    inside,
    is_closed,
    load_mesh_file,
    normalize,
    repair,
    sample_surface,
    sample_surface_even,
    sample_texture,
    sample_volume,
    save_obj,
    volume,
    volume_grid,
    winding_number,
)
from .procedural import SHAPES, list_objects, load_object, object_seed

SOURCES = ("proc/",)  # later: "objaverse/", "gso/", "local/"


def get_asset(object_id: str) -> AssetMesh:
    """Load any asset by id; only procedural ("proc/...") ids exist so far."""
    if object_id.startswith("proc/"):
        return load_object(object_id)
    prefix = object_id.split("/", 1)[0] + "/" if "/" in object_id else object_id
    raise AssetError("unknown_source", f"no asset source for prefix {prefix!r} "
                     f"(available: {', '.join(SOURCES)})")


__all__ = [
    "AssetError", "AssetMesh", "SHAPES", "SOURCES", "check_mesh", "farthest_point_sampling",
    "get_asset", "inside", "is_closed", "list_objects", "load_mesh_file", "load_object",
    "normalize", "object_seed", "repair", "sample_surface", "sample_surface_even",
    "sample_texture", "sample_volume", "save_obj", "volume", "volume_grid", "winding_number",
]
