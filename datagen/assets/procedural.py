"""Offline procedural asset pack: ids "proc/<shape>/<variant:03d>", deterministic from the id.

Geometry comes from seam-free parametric builders (`builders.py`), textures from
`textures.py`; every object is watertight, textured (UV + 256x256 image) and normalized to
size 1.0 (longest AABB side), centred in x, y, resting on z = 0.
"""
from __future__ import annotations

import re
from typing import Callable

import numpy as np

from . import shapes_more  # noqa: F401  (registers part-2 families)
from physics.spring_mass.anchors import object_seed  # stable 64-bit seed from the id (sha256), shared with the anchors

from .mesh import AssetError, AssetMesh, normalize
from .shapes_basic import SHAPE_FNS
from .textures import make_texture

PREFIX = "proc/"
LICENSE = "CC0-1.0"
TEXTURE_SIZE = 256
_ID_RE = re.compile(r"^proc/([a-z_]+)/(\d{3,})$")


def _make(name: str) -> Callable[[np.random.Generator], AssetMesh]:
    fn = SHAPE_FNS[name]

    def build(rng: np.random.Generator) -> AssetMesh:
        """Un-normalized textured mesh of this family (geometry draws from rng first)."""
        v, f, uv, params = fn(rng)
        tex, desc = make_texture(rng, TEXTURE_SIZE)
        return AssetMesh(object_id="", category=name, vertices=v, faces=f, uv=uv, texture=tex,
                         source="procedural", license=LICENSE,
                         meta={"shape": name, "params": params, "texture": desc})

    build.__name__ = name
    build.__doc__ = fn.__doc__ or f"Procedural {name}."
    return build


SHAPES: dict[str, Callable[[np.random.Generator], AssetMesh]] = {n: _make(n) for n in SHAPE_FNS}


def parse_object_id(object_id: str) -> tuple[str, int]:
    m = _ID_RE.match(object_id)
    if not m or m.group(1) not in SHAPES:
        raise AssetError("unknown_object", f"{object_id!r} is not proc/<shape>/<NNN> with shape "
                         f"in {sorted(SHAPES)}")
    return m.group(1), int(m.group(2))


def object_id(shape: str, variant: int) -> str:
    return f"{PREFIX}{shape}/{variant:03d}"


def list_objects(n_variants_per_shape: int = 3) -> list[str]:
    """All ids, shapes in registry order, variants 0 .. n-1."""
    return [object_id(s, k) for s in SHAPES for k in range(n_variants_per_shape)]


def load_object(object_id: str, size: float = 1.0) -> AssetMesh:
    """Build the object for `object_id`, normalized to `size`; identical arrays on every call."""
    shape_name, variant = parse_object_id(object_id)
    rng = np.random.default_rng(object_seed(object_id))
    mesh = normalize(SHAPES[shape_name](rng), size=size)
    mesh.object_id = object_id
    mesh.meta["variant"] = variant
    mesh.meta["seed"] = object_seed(object_id)
    return mesh
