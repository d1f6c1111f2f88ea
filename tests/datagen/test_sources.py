"""Asset sources on local fixtures in their published layouts: local folder, GSO, Objaverse cache."""
import json
import socket
import urllib.request

import numpy as np
import pytest
import trimesh

from datagen.profile import AssetConfig
from core.errors import UserError
from datagen.assets import check_mesh, load_object, save_obj
from datagen.assets.sources import list_object_ids, load_asset
from objaverse_fixture import write_objaverse_cache_fixture


def _proc(name="proc/sphere/000"):
    return load_object(name)


def _glb(mesh, path):
    tm = trimesh.Trimesh(mesh.vertices @ np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]]).T, mesh.faces, process=False)
    tm.export(path)  # z-up mesh written y-up as glTF wants
    return path


def test_local_folder(tmp_path):
    root = tmp_path / "meshes"
    (root / "toys").mkdir(parents=True)
    save_obj(_proc("proc/torus/000"), root / "toys" / "donut")
    trimesh.Trimesh(_proc("proc/box/000").vertices, _proc("proc/box/000").faces).export(root / "brick.stl")
    cfg = AssetConfig(source="local", root=str(root))
    ids = list_object_ids(cfg)
    assert ids == ["local/brick.stl", "local/toys/donut/model.obj"]
    for oid in ids:
        m = load_asset(oid, cfg)
        check_mesh(m)
        lo, hi = m.vertices.min(0), m.vertices.max(0)
        assert abs((hi - lo).max() - 1.0) < 1e-9 and abs(lo[2]) < 1e-12
        assert len(m.meta["source_sha256"]) == 64 and m.license.startswith("unknown")
    assert load_asset("local/toys/donut/model.obj", cfg).texture is not None


def test_gso_layout(tmp_path):
    root = tmp_path / "gso"
    m = _proc("proc/capsule/001")
    save_obj(m, root / "Squishy_Toy" / "meshes")
    tex = root / "Squishy_Toy" / "meshes" / "texture.png"
    (root / "Squishy_Toy" / "materials" / "textures").mkdir(parents=True)
    tex.rename(root / "Squishy_Toy" / "materials" / "textures" / "texture.png")  # GSO keeps it there
    (root / "Squishy_Toy" / "metadata.pbtxt").write_text('name: "Squishy_Toy"\ncategories: "Toys"\n')
    (root / "not_an_object").mkdir()
    cfg = AssetConfig(source="gso", root=str(root))
    assert list_object_ids(cfg) == ["gso/Squishy_Toy"]
    a = load_asset("gso/Squishy_Toy", cfg)
    assert a.category == "Toys" and "CC-BY-4.0" in a.license
    assert a.texture is not None and a.texture.shape[-1] == 3


def test_gso_texture_is_the_png_pixel_for_pixel(tmp_path):
    """Issue 24.2: a GSO object loaded with a 2x2 grey texture instead of its own image."""
    import imageio.v3 as iio

    root = tmp_path / "gso"
    save_obj(_proc("proc/capsule/001"), root / "Obj" / "meshes")
    (root / "Obj" / "meshes" / "texture.png").unlink()
    img = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    (root / "Obj" / "materials" / "textures").mkdir(parents=True)
    iio.imwrite(root / "Obj" / "materials" / "textures" / "texture.png", img)
    a = load_asset("gso/Obj", AssetConfig(source="gso", root=str(root)))
    assert a.texture.shape == (256, 256, 3) and np.array_equal(np.asarray(a.texture, np.uint8), img)


@pytest.fixture
def objaverse_cache(tmp_path):
    objs = {}
    for uid, shape, name, lic in (("aaa111", "proc/sphere/000", "squishy ball", "by"),
                                  ("bbb222", "proc/box/000", "wooden crate", "by-sa"),
                                  ("ccc333", "proc/torus/001", "rubber ring toy", "cc0")):
        glb = _glb(_proc(shape), tmp_path / f"{uid}.glb")
        objs[uid] = (glb, {"name": name, "license": lic, "uri": f"https://example.invalid/{uid}",
                           "tags": [{"name": name.split()[0]}], "categories": []})
    cache = tmp_path / "objaverse"
    write_objaverse_cache_fixture(cache, objs, {"ball": ["aaa111"], "toy": ["ccc333"], "crate": ["bbb222"]})
    return cache


def test_objaverse_from_cache(objaverse_cache, monkeypatch):
    def no_network(*a, **k):
        raise AssertionError("must not download: everything is cached")
    monkeypatch.setattr(urllib.request, "urlretrieve", no_network)
    cfg = AssetConfig(source="objaverse", objaverse={"cache_dir": str(objaverse_cache)})
    assert list_object_ids(cfg) == ["objaverse/aaa111", "objaverse/ccc333"]  # deformable LVIS only
    kw = AssetConfig(source="objaverse", objaverse={"cache_dir": str(objaverse_cache), "keywords": ["rubber"]})
    assert list_object_ids(kw) == ["objaverse/ccc333"]
    uid = AssetConfig(source="objaverse", objaverse={"cache_dir": str(objaverse_cache), "uids": ["bbb222"]})
    assert list_object_ids(uid) == ["objaverse/bbb222"]
    m = load_asset("objaverse/aaa111", cfg)
    assert m.license == "by" and m.meta["objaverse"]["name"] == "squishy ball"
    ext = m.vertices.max(0) - m.vertices.min(0)
    assert abs(ext.max() - 1.0) < 1e-9
    ref = _proc("proc/sphere/000").vertices
    assert np.allclose(np.sort(m.vertices[:, 2]), np.sort(ref[:, 2]), atol=1e-6)  # y-up glTF back to z-up


def test_objaverse_offline_is_one_clear_error(objaverse_cache, monkeypatch, tmp_path):
    def offline(*a, **k):
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))
    monkeypatch.setattr(urllib.request, "urlretrieve", offline)
    empty = AssetConfig(source="objaverse", objaverse={"cache_dir": str(tmp_path / "empty"), "download_timeout_s": 1})
    with pytest.raises(UserError) as e:
        list_object_ids(empty)
    msg = str(e.value)
    assert "offline" in msg and "cache" in msg and "\n" not in msg
    assert socket.getdefaulttimeout() is None  # the timeout guard is restored


def test_bad_assets_are_recorded_and_the_run_goes_on(tmp_path):
    from datagen.profile import load_profile, profile_from_dict
    from datagen.generate import generate

    root = tmp_path / "meshes"
    root.mkdir()
    save_obj(_proc("proc/sphere/001"), root / "good")
    box = _proc("proc/box/000")
    trimesh.Trimesh(box.vertices, box.faces[:-6], process=False).export(root / "open_box.obj")  # holes
    (root / "garbage.glb").write_bytes(b"not a mesh at all")
    trimesh.Trimesh(np.zeros((3, 3)), np.array([[0, 1, 2]])).export(root / "flat.stl")
    big = trimesh.creation.icosphere(subdivisions=4)  # 5120 faces
    big.export(root / "too_many.obj")
    d = load_profile("tiny").model_dump(mode="json")
    d.update(n_samples=5, seed=1)
    d["assets"] = {"source": "local", "root": str(root), "max_faces": 4000}
    d["splits"] = {"train": 0.0, "val": 0.0, "test": 1.0}
    made = generate(tmp_path / "data", profile_from_dict(d))
    recs = {}
    for r in made:
        recs.setdefault(r["object_id"], r)
    assert len(recs) == 5 and recs["local/good/model.obj"]["status"] == "ok"
    # replacements are drawn for the failures (bounded: at most n + max(4, n) candidates); only the good object yields
    assert len(made) == 10 and {r["object_id"] for r in made if r["status"] == "ok"} == {"local/good/model.obj"}
    reasons = {k: r["reason"] for k, r in recs.items() if r["status"] != "ok"}
    assert "[corrupt]" in reasons["local/garbage.glb"] or "[empty]" in reasons["local/garbage.glb"]
    assert "[too_many_faces]" in reasons["local/too_many.obj"]
    assert "[not_closed]" in reasons["local/open_box.obj"] or "[non_manifold]" in reasons["local/open_box.obj"]
    assert any(t in reasons["local/flat.stl"] for t in ("[empty]", "[zero_volume]", "[corrupt]", "[non_manifold]"))
    man = [json.loads(l) for l in (tmp_path / "data" / "manifest.jsonl").read_text().splitlines()]
    assert len(man) == 10
