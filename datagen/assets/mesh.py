"""Canonical triangle-mesh asset type and core mesh utilities (numpy + trimesh, no torch).

`AssetMesh` is what every asset source (procedural, local files, later Objaverse / GSO) returns.
UV convention: OBJ / OpenGL / Blender — (0, 0) is the *bottom-left* of the texture image, the
texture array is stored top row first (H x W x 3 uint8), so texel row = (1 - v) * H.

Query (``query``), sampling (``sampling``) and file IO (``meshio``) live in sibling modules that build
on this one; the package ``datagen.assets`` exports all of them.
"""
from __future__ import annotations

import copy as _copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class AssetError(ValueError):
    """A mesh that cannot be used as an asset; `reason` is a short machine-readable code."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(f"{reason}: {message}" if message else reason)
        self.reason = reason


@dataclass(eq=False)
class AssetMesh:
    """A triangle mesh with optional UV texture or vertex colours, plus provenance."""

    object_id: str
    category: str
    vertices: np.ndarray  # (V, 3) float64
    faces: np.ndarray  # (F, 3) int64, counter-clockwise seen from outside
    uv: np.ndarray | None = None  # (V, 2) float64, OBJ convention (v up)
    texture: np.ndarray | None = None  # (H, W, 3) uint8, top row first
    vertex_colors: np.ndarray | None = None  # (V, 3) float in [0, 1]
    source: str = "procedural"
    license: str = "unknown"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.vertices = np.asarray(self.vertices, dtype=np.float64)
        faces = np.asarray(self.faces)
        if faces.dtype.kind in "iu" or faces.size == 0:
            faces = faces.astype(np.int64)
        self.faces = faces
        if self.uv is not None:
            self.uv = np.asarray(self.uv, dtype=np.float64)
        if self.texture is not None:
            self.texture = np.asarray(self.texture, dtype=np.uint8)
        if self.vertex_colors is not None:
            self.vertex_colors = np.asarray(self.vertex_colors, dtype=np.float64)

    # -- small conveniences -------------------------------------------------------------
    @property
    def n_vertices(self) -> int:
        return int(len(self.vertices))

    @property
    def n_faces(self) -> int:
        return int(len(self.faces))

    @property
    def bounds(self) -> np.ndarray:
        """(2, 3) axis-aligned bounding box [min, max]."""
        return np.stack([self.vertices.min(0), self.vertices.max(0)])

    def triangles(self) -> np.ndarray:
        """(F, 3, 3) vertex positions per face."""
        return self.vertices[self.faces]

    def face_areas(self) -> np.ndarray:
        t = self.triangles()
        return 0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1)

    def face_normals(self) -> np.ndarray:
        """(F, 3) unit outward normals (zero for degenerate faces)."""
        t = self.triangles()
        n = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
        ln = np.linalg.norm(n, axis=1, keepdims=True)
        return np.divide(n, ln, out=np.zeros_like(n), where=ln > 0)

    def copy(self) -> "AssetMesh":
        return _copy.deepcopy(self)

    def color_at(self, face_idx: np.ndarray, bary: np.ndarray) -> np.ndarray:
        """RGB in [0, 1] at barycentric points: bilinear texture lookup at the interpolated UV,
        else interpolated vertex colours, else `meta['base_color']` (default mid grey)."""
        face_idx = np.asarray(face_idx, dtype=np.int64)
        bary = np.asarray(bary, dtype=np.float64).reshape(-1, 3)
        corners = self.faces[face_idx]  # (P, 3)
        if self.texture is not None and self.uv is not None:
            uv = np.einsum("pk,pkc->pc", bary, self.uv[corners])
            return sample_texture(self.texture, uv)
        if self.vertex_colors is not None:
            return np.clip(np.einsum("pk,pkc->pc", bary, self.vertex_colors[corners]), 0.0, 1.0)
        base = np.asarray(self.meta.get("base_color", (0.6, 0.6, 0.6)), dtype=np.float64)
        return np.broadcast_to(base, (len(face_idx), 3)).copy()


def sample_texture(texture: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear lookup (clamp to edge, texel centres at +0.5) of an (H, W, 3) uint8 image at
    OBJ-convention UVs (P, 2); returns (P, 3) float in [0, 1]."""
    tex = np.asarray(texture, dtype=np.float64) / 255.0
    h, w = tex.shape[:2]
    x = np.clip(uv[:, 0] * w - 0.5, 0.0, w - 1.0)
    y = np.clip((1.0 - uv[:, 1]) * h - 0.5, 0.0, h - 1.0)
    x0 = np.floor(x).astype(np.int64)
    y0 = np.floor(y).astype(np.int64)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    fx = (x - x0)[:, None]
    fy = (y - y0)[:, None]
    top = tex[y0, x0] * (1 - fx) + tex[y0, x1] * fx
    bot = tex[y1, x0] * (1 - fx) + tex[y1, x1] * fx
    return top * (1 - fy) + bot * fy


# ---------------------------------------------------------------------------------------
def normalize(mesh: AssetMesh, size: float = 1.0) -> AssetMesh:
    """Copy scaled so the longest AABB side equals `size`, centred in x, y, bottom at z = 0.

    Records the cumulative transform in meta: original point p maps to (p - meta['offset'])
    * meta['scale']."""
    lo, hi = mesh.bounds
    extent = float((hi - lo).max())
    if not np.isfinite(extent) or extent <= 0:
        raise AssetError("empty", "cannot normalize a mesh with zero extent")
    s = size / extent
    origin = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]])
    out = mesh.copy()
    out.vertices = (mesh.vertices - origin) * s
    # exact bottom / extent despite rounding: pin the extreme coordinates
    out.vertices[:, 2] -= out.vertices[:, 2].min()
    prev_s = float(mesh.meta.get("scale", 1.0))
    prev_o = np.asarray(mesh.meta.get("offset", (0.0, 0.0, 0.0)), dtype=np.float64)
    out.meta["scale"] = prev_s * s
    out.meta["offset"] = (prev_o + origin / prev_s).tolist()
    out.meta["size"] = float(size)
    return out


def volume(mesh: AssetMesh) -> float:
    """Signed enclosed volume (divergence theorem); positive for outward-facing closed meshes."""
    t = mesh.triangles()
    if len(t) == 0:
        return 0.0
    c = t.mean(axis=(0, 1))  # shift for numerical accuracy; exact for closed meshes
    a, b, d = t[:, 0] - c, t[:, 1] - c, t[:, 2] - c
    return float(np.einsum("ij,ij->", a, np.cross(b, d)) / 6.0)


def _edge_counts(mesh: AssetMesh, decimals: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """Undirected edges of the position-welded mesh and how many faces use each."""
    key = np.round(mesh.vertices, decimals)
    _, inv = np.unique(key, axis=0, return_inverse=True)
    f = inv.reshape(-1)[mesh.faces]
    e = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    edges, counts = np.unique(e, axis=0, return_counts=True)
    return edges, counts


def is_closed(mesh: AssetMesh) -> bool:
    """True when, after welding coincident vertices, every edge is shared by exactly 2 faces."""
    if mesh.n_faces == 0:
        return False
    _, counts = _edge_counts(mesh)
    return bool(np.all(counts == 2))


def _corrupt_reason(mesh: AssetMesh) -> str | None:
    v, f = mesh.vertices, mesh.faces
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3:
        return f"bad shapes vertices {v.shape} faces {f.shape}"
    if f.dtype.kind not in "iu":
        return f"faces dtype {f.dtype} is not integer"
    if not np.all(np.isfinite(v)):
        return "non-finite vertex coordinates"
    if f.min() < 0 or f.max() >= len(v):
        return f"face index out of range [0, {len(v)})"
    if mesh.uv is not None and (mesh.uv.shape != (len(v), 2) or not np.all(np.isfinite(mesh.uv))):
        return "uv must be finite (V, 2)"
    if mesh.texture is not None and (mesh.texture.ndim != 3 or mesh.texture.shape[2] != 3):
        return "texture must be (H, W, 3)"
    if mesh.texture is not None and mesh.uv is None:
        return "texture without uv"
    vc = mesh.vertex_colors
    if vc is not None and (vc.shape != (len(v), 3) or not np.all(np.isfinite(vc))):
        return "vertex_colors must be finite (V, 3)"
    return None


def repair(mesh: AssetMesh) -> AssetMesh:
    """Copy with trimesh's cheap repairs: weld by position, drop degenerate / duplicate faces,
    fill small holes, make winding consistent and outward. Appearance is re-attached when the
    vertex set is unchanged, else dropped to vertex colours sampled before welding."""
    import trimesh

    tm = trimesh.Trimesh(mesh.vertices.copy(), mesh.faces.copy(), process=False)
    n_before = len(tm.vertices)
    tm.merge_vertices()
    tm.update_faces(tm.nondegenerate_faces())
    tm.update_faces(tm.unique_faces())
    trimesh.repair.fill_holes(tm)
    trimesh.repair.fix_normals(tm)
    out = mesh.copy()
    same = len(tm.vertices) == n_before and np.array_equal(tm.vertices, mesh.vertices)
    out.vertices, out.faces = np.asarray(tm.vertices, np.float64), np.asarray(tm.faces, np.int64)
    if not same:
        out.uv, out.texture, out.vertex_colors = None, None, None
        if mesh.texture is not None or mesh.vertex_colors is not None:
            near = _nearest_vertex(mesh.vertices, out.vertices)
            vc = mesh.color_at(*_vertex_as_bary(mesh, near))
            out.vertex_colors = vc
    out.meta["repaired"] = True
    return out


def _nearest_vertex(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    from scipy.spatial import cKDTree

    return cKDTree(src).query(dst)[1]


def _vertex_as_bary(mesh: AssetMesh, vidx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A (face, barycentric) pair that lands exactly on each given vertex."""
    f_of_v = np.full(mesh.n_vertices, 0, dtype=np.int64)
    slot = np.zeros(mesh.n_vertices, dtype=np.int64)
    for k in range(3):
        f_of_v[mesh.faces[:, k]] = np.arange(mesh.n_faces)
        slot[mesh.faces[:, k]] = k
    bary = np.zeros((len(vidx), 3))
    bary[np.arange(len(vidx)), slot[vidx]] = 1.0
    return f_of_v[vidx], bary


def check_mesh(mesh: AssetMesh, max_faces: int = 200_000) -> None:
    """Raise AssetError(reason) for an unusable mesh; reasons in order of checking:
    empty, corrupt, too_many_faces, non_manifold, not_closed (open even after trimesh
    merge + fill_holes), zero_volume (|V| < 1e-9 * longest side^3)."""
    if mesh.vertices.size == 0 or mesh.faces.size == 0:
        raise AssetError("empty", f"{mesh.vertices.size} vertex / {mesh.faces.size} face entries")
    why = _corrupt_reason(mesh)
    if why:
        raise AssetError("corrupt", why)
    if mesh.n_faces > max_faces:
        raise AssetError("too_many_faces", f"{mesh.n_faces} > {max_faces}")
    _, counts = _edge_counts(mesh)
    if np.any(counts > 2):
        raise AssetError("non_manifold", f"{int((counts > 2).sum())} edges shared by > 2 faces")
    closed = mesh
    if not np.all(counts == 2):  # open: acceptable only if trimesh's cheap repair closes it
        closed = repair(mesh)
        _, c2 = _edge_counts(closed)
        if not np.all(c2 == 2):
            raise AssetError("not_closed", f"{int((c2 != 2).sum())} open edges after repair "
                             f"(of {int((counts == 1).sum())} before)")
    extent = float(np.ptp(mesh.vertices, axis=0).max())
    vol = abs(volume(closed))
    if not vol > 1e-9 * extent**3:
        raise AssetError("zero_volume", f"enclosed volume {vol:.3g}")


__all__ = ["AssetError", "AssetMesh", "check_mesh", "is_closed", "normalize", "repair", "sample_texture", "volume"]
