"""Asset mesh file IO: OBJ + MTL + PNG writer, trimesh-based reader (.obj/.glb/.gltf/.ply/.stl)."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from .mesh import AssetError, AssetMesh

MESH_SUFFIXES = (".obj", ".glb", ".gltf", ".ply", ".stl", ".off")
_Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def _rows(fmt: str, arr: np.ndarray) -> str:
    buf = io.StringIO()
    np.savetxt(buf, arr, fmt=fmt)
    return buf.getvalue()


def save_obj(mesh: AssetMesh, directory: str | Path) -> Path:
    """Write `model.obj`, `model.mtl` and (when textured) `texture.png` into `directory`;
    vertex colours, if any, go on the `v` lines (x y z r g b). Returns the .obj path.
    Coordinates are written with 17 significant digits, so reading back is exact."""
    import imageio.v3 as iio

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    textured = mesh.texture is not None and mesh.uv is not None
    kd = mesh.meta.get("base_color", (1.0, 1.0, 1.0)) if not textured else (1.0, 1.0, 1.0)
    mtl = ["# physrecon-bench asset material", "newmtl material_0", "Ka 1 1 1",
           "Kd {:.6f} {:.6f} {:.6f}".format(*kd), "Ks 0 0 0", "d 1", "illum 1"]
    if textured:
        iio.imwrite(d / "texture.png", np.ascontiguousarray(mesh.texture, dtype=np.uint8))
        mtl.append("map_Kd texture.png")
    (d / "model.mtl").write_text("\n".join(mtl) + "\n")

    head = f"# physrecon-bench asset {mesh.object_id}\n# source {mesh.source} license {mesh.license}\n"
    head += "mtllib model.mtl\nusemtl material_0\n"
    if mesh.vertex_colors is not None:
        v = _rows("v %.17g %.17g %.17g %.6f %.6f %.6f",
                  np.hstack([mesh.vertices, np.clip(mesh.vertex_colors, 0, 1)]))
    else:
        v = _rows("v %.17g %.17g %.17g", mesh.vertices)
    f1 = mesh.faces + 1
    if textured:
        vt = _rows("vt %.17g %.17g", mesh.uv)
        f = _rows("f %d/%d %d/%d %d/%d", np.repeat(f1, 2, axis=1))
    else:
        vt, f = "", _rows("f %d %d %d", f1)
    path = d / "model.obj"
    path.write_text(head + v + vt + f)
    return path


def _image_array(img: Any) -> np.ndarray | None:
    if img is None:
        return None
    arr = np.asarray(img.convert("RGB") if hasattr(img, "convert") else img)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.dtype != np.uint8:
        scale = 255.0 if arr.max() <= 1.0 else 1.0
        arr = np.clip(arr * scale, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr[..., :3])


def _material_image_and_color(material: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    img = getattr(material, "image", None)
    if img is None:
        img = getattr(material, "baseColorTexture", None)
    color = getattr(material, "main_color", None)
    if color is None:
        color = getattr(material, "baseColorFactor", None)
    rgb = None
    if color is not None:
        c = np.asarray(color)
        rgb = c[:3].astype(np.float64) / (255.0 if c.dtype.kind in "iu" else 1.0)
    return _image_array(img), rgb


def load_mesh_file(
    path: str | Path,
    object_id: str | None = None,
    category: str = "unknown",
    source: str = "local",
    license: str = "unknown",
    y_up: bool | None = None,
) -> AssetMesh:
    """Read a mesh file with trimesh (scenes are flattened into one mesh) into an AssetMesh,
    keeping the UV texture or vertex colours when present. Vertex order is kept (no welding,
    except exact duplicates in STL, which has no shared vertices).
    `y_up=None` means: glTF (.glb/.gltf) files are y-up and are rotated to z-up; others not."""
    import trimesh

    p = Path(path)
    if p.suffix.lower() not in MESH_SUFFIXES:
        raise AssetError("unsupported", f"{p.suffix} not in {MESH_SUFFIXES}")
    try:
        tm = trimesh.load(p, force="mesh", process=False, maintain_order=True)
    except Exception as exc:  # trimesh raises many types on broken files
        raise AssetError("corrupt", f"trimesh could not read {p.name}: {exc}") from exc
    if not isinstance(tm, trimesh.Trimesh) or len(tm.faces) == 0:
        raise AssetError("empty", f"no triangles in {p.name}")
    verts = np.asarray(tm.vertices, dtype=np.float64)
    if y_up is None:
        y_up = p.suffix.lower() in (".glb", ".gltf")
    if y_up:
        verts = verts @ _Y_UP_TO_Z_UP.T
    uv = tex = vc = None
    meta: dict[str, Any] = {"file": str(p), "y_up_converted": bool(y_up)}
    vis = tm.visual
    attr_color = getattr(tm, "vertex_attributes", {}).get("color")  # OBJ "v x y z r g b"
    if getattr(vis, "kind", None) == "texture":
        img, rgb = _material_image_and_color(getattr(vis, "material", None))
        if vis.uv is not None and img is not None and len(vis.uv) == len(verts):
            uv, tex = np.asarray(vis.uv, dtype=np.float64), img
        elif rgb is not None:
            meta["base_color"] = rgb.tolist()
    elif getattr(vis, "kind", None) in ("vertex", "face"):
        vc = np.asarray(vis.vertex_colors, dtype=np.float64)[:, :3] / 255.0
    if tex is None and vc is None and attr_color is not None and len(attr_color) == len(verts):
        c = np.asarray(attr_color)
        vc = c[:, :3].astype(np.float64) / (255.0 if c.dtype.kind in "iu" else 1.0)
    faces = np.asarray(tm.faces, dtype=np.int64)
    if p.suffix.lower() == ".stl":  # STL has no shared vertices: weld exact duplicates
        verts, inv = np.unique(verts, axis=0, return_inverse=True)
        faces = inv.reshape(-1)[faces]
    return AssetMesh(
        object_id=object_id or f"{source}/{p.stem}",
        category=category,
        vertices=verts,
        faces=faces,
        uv=uv,
        texture=tex,
        vertex_colors=vc,
        source=source,
        license=license,
        meta=meta,
    )
