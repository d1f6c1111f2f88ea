"""save_obj / load_mesh_file round trips (OBJ textured and vertex-coloured, GLB y-up, STL)."""
from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import trimesh
from PIL import Image

import datagen.assets as A


def test_obj_round_trip_textured(tmp_path: Path) -> None:
    m = A.load_object("proc/ring/001")
    path = A.save_obj(m, tmp_path / "asset")
    assert path.name == "model.obj"
    assert {p.name for p in path.parent.iterdir()} == {"model.obj", "model.mtl", "texture.png"}
    np.testing.assert_array_equal(iio.imread(path.parent / "texture.png"), m.texture)
    r = A.load_mesh_file(path, object_id=m.object_id, category="ring")
    np.testing.assert_array_equal(r.vertices, m.vertices)  # 17 significant digits: exact
    np.testing.assert_array_equal(r.faces, m.faces)
    np.testing.assert_allclose(r.uv, m.uv, atol=1e-12)
    np.testing.assert_array_equal(r.texture, m.texture)
    assert r.object_id == m.object_id and r.source == "local" and A.is_closed(r)
    fi, bary = np.arange(0, m.n_faces, 7), np.full((len(range(0, m.n_faces, 7)), 3), 1 / 3)
    np.testing.assert_allclose(r.color_at(fi, bary), m.color_at(fi, bary), atol=1e-9)


def test_obj_round_trip_vertex_colors(tmp_path: Path) -> None:
    m = A.load_object("proc/sphere/000")
    m.uv, m.texture = None, None
    m.vertex_colors = np.random.default_rng(0).random((m.n_vertices, 3))
    r = A.load_mesh_file(A.save_obj(m, tmp_path))
    assert not (tmp_path / "texture.png").exists() and r.texture is None
    np.testing.assert_array_equal(r.vertices, m.vertices)
    np.testing.assert_array_equal(r.faces, m.faces)
    np.testing.assert_allclose(r.vertex_colors, m.vertex_colors, atol=1e-6)


def test_glb_is_rotated_to_z_up_and_keeps_texture(tmp_path: Path) -> None:
    m = A.load_object("proc/cone/000")
    # write a y-up glTF the way exporters do: (x, y, z)_zup -> (x, z, -y)_yup
    yup = m.vertices[:, [0, 2, 1]] * [1, 1, -1]
    vis = trimesh.visual.TextureVisuals(uv=m.uv, image=Image.fromarray(m.texture))
    trimesh.Trimesh(yup, m.faces, visual=vis, process=False).export(tmp_path / "x.glb")
    r = A.load_mesh_file(tmp_path / "x.glb")
    assert r.meta["y_up_converted"]
    np.testing.assert_allclose(r.vertices, m.vertices, atol=1e-6)  # glb stores float32
    np.testing.assert_array_equal(r.faces, m.faces)
    np.testing.assert_array_equal(r.texture, m.texture)
    assert A.load_mesh_file(tmp_path / "x.glb", y_up=False).vertices[:, 1].max() > 0.9


def test_stl_is_welded_and_closed(tmp_path: Path) -> None:
    m = A.load_object("proc/gear/000")
    trimesh.Trimesh(m.vertices, m.faces, process=False).export(tmp_path / "g.stl")
    r = A.load_mesh_file(tmp_path / "g.stl", category="gear")
    assert r.n_vertices == m.n_vertices and r.n_faces == m.n_faces
    assert A.is_closed(r) and A.volume(r) == pytest.approx(A.volume(m), rel=1e-6)
    A.check_mesh(r)


def test_load_errors(tmp_path: Path) -> None:
    (tmp_path / "a.xyz").write_text("1 2 3\n")
    with pytest.raises(A.AssetError) as e:
        A.load_mesh_file(tmp_path / "a.xyz")
    assert e.value.reason == "unsupported"
    (tmp_path / "b.obj").write_text("# nothing\n")
    with pytest.raises(A.AssetError) as e:
        A.load_mesh_file(tmp_path / "b.obj")
    assert e.value.reason in ("empty", "corrupt")
