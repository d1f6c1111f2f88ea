"""Object assets for dataset generation: the mesh type and its utilities, queries, sampling and file IO,
and the offline procedural pack. Pure numpy/scipy/trimesh (never imports torch). Loading by id from any
source (procedural, Objaverse, GSO, local folders) is ``datagen.assets.sources.load_asset``."""
from __future__ import annotations

from .mesh import AssetError, AssetMesh, check_mesh, is_closed, normalize, repair, sample_texture, volume
from .meshio import load_mesh_file, save_obj
from .procedural import SHAPES, list_objects, load_object, object_seed
from .query import inside, winding_number
from .sampling import sample_surface, sample_surface_even, sample_volume, volume_grid

__all__ = [
    "AssetError", "AssetMesh", "SHAPES", "check_mesh", "inside", "is_closed", "list_objects", "load_mesh_file",
    "load_object", "normalize", "object_seed", "repair", "sample_surface", "sample_surface_even",
    "sample_texture", "sample_volume", "save_obj", "volume", "volume_grid", "winding_number",
]
