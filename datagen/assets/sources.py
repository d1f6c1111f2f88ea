"""Asset sources: the procedural pack, Objaverse (through the ``objaverse`` package and its local
cache), Google Scanned Objects folders, and any local folder of meshes.

Object ids carry their source: ``proc/<shape>/<NNN>``, ``objaverse/<uid>``, ``gso/<name>``,
``local/<relative path>``. Every loader returns an :class:`AssetMesh` normalized to unit size
(longest AABB side 1, centred in x/y, bottom at z = 0) with ``meta['source_sha256']`` and a licence.
"""
from __future__ import annotations

import shutil
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from core.errors import UserError
from core.hashing import sha256_file

from .mesh import AssetError, AssetMesh, normalize
from .meshio import MESH_SUFFIXES, load_mesh_file
from .procedural import list_objects, load_object

GSO_LICENSE = "CC-BY-4.0 (Google Scanned Objects)"
# The default LVIS categories that look deformable live in datagen.profile (ObjaverseConfig).


def _finish(mesh: AssetMesh, object_id: str, category: str, path: Path, license: str) -> AssetMesh:
    mesh = normalize(mesh, 1.0)
    mesh.object_id, mesh.category, mesh.license = object_id, category, license
    mesh.meta["source_file"] = str(path)
    mesh.meta["source_sha256"] = sha256_file(path)
    return mesh


# ---------------------------------------------------------------- local folders
def list_local(root: Path) -> list[str]:
    if not root.is_dir():
        raise UserError("assets.root", f"'{root}' is not a directory", "point assets.root at a folder of .obj/.glb/.ply/.stl files")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in MESH_SUFFIXES and p.is_file())
    return [f"local/{p.relative_to(root).as_posix()}" for p in files]


def load_local(object_id: str, root: Path) -> AssetMesh:
    rel = object_id.removeprefix("local/")
    path = root / rel
    if not path.is_file():
        raise AssetError("missing", f"{path} does not exist")
    mesh = load_mesh_file(path, object_id=object_id, source="local")
    return _finish(mesh, object_id, Path(rel).parent.name or Path(rel).stem, path, "unknown (local file)")


# ---------------------------------------------------------------- Google Scanned Objects
def list_gso(root: Path) -> list[str]:
    if not root.is_dir():
        raise UserError("assets.root", f"'{root}' is not a directory", "point assets.root at the unpacked Google Scanned Objects folder")
    return [f"gso/{d.name}" for d in sorted(root.iterdir()) if (d / "meshes" / "model.obj").is_file()]


def load_gso(object_id: str, root: Path) -> AssetMesh:
    """``<root>/<name>/meshes/model.obj`` with ``materials/textures/texture.png`` (GSO layout)."""
    name = object_id.removeprefix("gso/")
    obj = root / name / "meshes" / "model.obj"
    if not obj.is_file():
        raise AssetError("missing", f"{obj} does not exist (expected the GSO layout <name>/meshes/model.obj)")
    tex_path = root / name / "materials" / "textures" / "texture.png"
    with tempfile.TemporaryDirectory() as tmp:
        src = obj
        if tex_path.is_file() and not (obj.parent / "texture.png").exists():
            # GSO's model.mtl names texture.png, which lives in ../materials/textures/: copy the mesh files next
            # to it (trimesh resolves a symlinked model.obj to its real folder and would not find the texture)
            for f in obj.parent.iterdir():
                if f.is_file():
                    shutil.copyfile(f, Path(tmp) / f.name)
            shutil.copyfile(tex_path, Path(tmp) / "texture.png")
            src = Path(tmp) / "model.obj"
        mesh = load_mesh_file(src, object_id=object_id, source="gso", license=GSO_LICENSE)
    meta_path = root / name / "metadata.pbtxt"
    category = name
    if meta_path.is_file():
        for line in meta_path.read_text(errors="replace").splitlines():
            if line.strip().startswith("categories"):
                category = line.split(":", 1)[1].strip().strip('"') or name
                break
    return _finish(mesh, object_id, category, obj, GSO_LICENSE)


# ---------------------------------------------------------------- Objaverse
@contextmanager
def _objaverse(cache_dir: str | None, timeout_s: float) -> Iterator[Any]:
    """The ``objaverse`` module pointed at ``cache_dir``; network calls bounded by ``timeout_s``."""
    try:
        import objaverse
    except ImportError:
        raise UserError("assets.source", "the objaverse package is not installed", "pip install objaverse") from None
    if cache_dir:
        objaverse.BASE_PATH = str(Path(cache_dir).expanduser())
        objaverse._VERSIONED_PATH = str(Path(objaverse.BASE_PATH) / "hf-objaverse-v1")
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout_s)
    try:
        yield objaverse
    except OSError as exc:  # urllib errors, timeouts, DNS failures
        raise UserError("assets.objaverse", f"could not reach the Objaverse hub ({type(exc).__name__}: {exc}); this machine may be offline",
                        f"pre-populate the cache under {getattr(objaverse, '_VERSIONED_PATH', '~/.objaverse')} "
                        "or set assets.objaverse.cache_dir to one") from None
    finally:
        socket.setdefaulttimeout(old)


def _tag_text(ann: dict[str, Any]) -> str:
    tags = " ".join(t.get("name", "") for t in ann.get("tags", []) if isinstance(t, dict))
    cats = " ".join(c.get("name", "") for c in ann.get("categories", []) if isinstance(c, dict))
    return f"{ann.get('name', '')} {tags} {cats}".lower()


def list_objaverse(cfg: Any) -> list[str]:
    """uids given explicitly, else LVIS categories (+ keyword filter on names/tags), sorted, capped."""
    with _objaverse(cfg.cache_dir, cfg.download_timeout_s) as ov:
        uids = list(cfg.uids)
        if not uids:
            lvis = ov.load_lvis_annotations()
            uids = sorted({u for c in cfg.lvis_categories for u in lvis.get(c, [])})
        if cfg.keywords:
            ann = ov.load_annotations(uids)
            uids = [u for u in uids if any(k.lower() in _tag_text(ann.get(u, {})) for k in cfg.keywords)]
    return [f"objaverse/{u}" for u in sorted(uids)[: cfg.max_objects]]


def load_objaverse(object_id: str, cfg: Any) -> AssetMesh:
    uid = object_id.removeprefix("objaverse/")
    with _objaverse(cfg.cache_dir, cfg.download_timeout_s) as ov:
        paths = ov.load_objects([uid])
        if uid not in paths:
            raise AssetError("missing", f"objaverse uid {uid} is unknown to the object-paths index")
        ann = ov.load_annotations([uid]).get(uid, {})
    license = ann.get("license") or "unknown (objaverse annotation has none)"
    lvis_cats = [c.get("name") for c in ann.get("categories", []) if isinstance(c, dict)]
    mesh = load_mesh_file(paths[uid], object_id=object_id, source="objaverse", license=license)
    mesh.meta["objaverse"] = {"name": ann.get("name"), "uri": ann.get("uri"), "license": license}
    return _finish(mesh, object_id, (lvis_cats[0] if lvis_cats else None) or "objaverse", Path(paths[uid]), license)


# ---------------------------------------------------------------- dispatch
def list_object_ids(cfg: Any) -> list[str]:
    """Object ids of the configured source (``AssetConfig``), in a stable order."""
    if cfg.source == "procedural":
        ids = list_objects(cfg.variants_per_shape)
        if cfg.shapes:
            known = {i.split("/")[1] for i in ids}
            bad = [s for s in cfg.shapes if s not in known]
            if bad:
                raise UserError("assets.shapes", f"unknown shape(s) {bad}", f"use some of {sorted(known)}")
            ids = [i for i in ids if i.split("/")[1] in cfg.shapes]
        return ids
    if cfg.source in ("local", "gso") and not cfg.root:
        raise UserError("assets.root", f"source '{cfg.source}' needs assets.root", "set assets.root to the folder of meshes")
    if cfg.source == "local":
        ids = list_local(Path(cfg.root))
    elif cfg.source == "gso":
        ids = list_gso(Path(cfg.root))
    else:
        ids = list_objaverse(cfg.objaverse)
    if not ids:
        raise UserError("assets", f"source '{cfg.source}' found no objects", "check assets.root / the objaverse selection")
    return ids


def load_asset(object_id: str, cfg: Any) -> AssetMesh:
    """Load and normalize (unit size) any object id of the configured sources."""
    if object_id.startswith("proc/"):
        return load_object(object_id)
    if object_id.startswith("local/"):
        return load_local(object_id, Path(cfg.root))
    if object_id.startswith("gso/"):
        return load_gso(object_id, Path(cfg.root))
    if object_id.startswith("objaverse/"):
        return load_objaverse(object_id, cfg.objaverse)
    raise AssetError("unknown_source", f"no asset source for {object_id!r}")
