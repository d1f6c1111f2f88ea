"""Procedural asset pack: every family watertight, normalized, textured, deterministic; analytic
volumes; import hygiene."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest
import trimesh

import datagen.assets as A
from datagen.assets.procedural import object_seed

FAMILIES = sorted(A.SHAPES)


def test_at_least_twenty_families_and_ids() -> None:
    assert len(FAMILIES) >= 20
    ids = A.list_objects(3)
    assert len(ids) == 3 * len(FAMILIES) == len(set(ids))
    assert "proc/sphere/000" in ids and "proc/knot/002" in ids
    assert A.list_objects(1) == [f"proc/{s}/000" for s in A.SHAPES]


@pytest.mark.parametrize("family", FAMILIES)
def test_family_watertight_normalized_textured(family: str) -> None:
    for variant in range(2):
        m = A.load_object(f"proc/{family}/{variant:03d}")
        assert m.category == family and m.source == "procedural" and m.object_id.endswith(
            f"{variant:03d}")
        tm = trimesh.Trimesh(m.vertices, m.faces, process=False)  # no welding needed
        assert tm.is_watertight and tm.is_winding_consistent
        assert tm.volume > 0 and abs(A.volume(m) - tm.volume) < 1e-9
        assert A.is_closed(m)
        A.check_mesh(m)
        lo, hi = m.bounds
        assert abs((hi - lo).max() - 1.0) < 1e-9
        assert abs(lo[2]) < 1e-12
        assert np.allclose((lo[:2] + hi[:2]) / 2, 0.0, atol=1e-9)
        assert 200 <= m.n_faces <= 10_000
        assert m.texture is not None and m.texture.shape == (256, 256, 3)
        assert m.uv.shape == (m.n_vertices, 2) and m.uv.min() >= 0 and m.uv.max() <= 1
        assert m.texture.reshape(-1, 3).std(0).max() > 10  # visible structure


@pytest.mark.parametrize("family", FAMILIES)
def test_family_no_self_intersection(family: str) -> None:
    """The fast ray-parity test agrees with the solid-angle winding number, and the winding
    number only takes the values 0 / 1 (a self-intersecting or inverted part would give 2/-1)."""
    m = A.load_object(f"proc/{family}/001")
    rng = np.random.default_rng(5)
    lo, hi = m.bounds
    pts = lo + rng.random((48, 3)) * (hi - lo)
    pts = np.vstack([pts, A.sample_volume(m, 16, rng)])
    w = A.winding_number(m, pts)
    assert np.all(np.abs(w - np.rint(w)) < 1e-6)
    assert set(np.rint(w).astype(int)) <= {0, 1}
    np.testing.assert_array_equal(A.inside(m, pts), np.rint(w) == 1)


def test_deterministic_and_variants_differ() -> None:
    a, b = A.load_object("proc/blob/001"), A.load_object("proc/blob/001")
    for name in ("vertices", "faces", "uv", "texture"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.meta == b.meta
    c = A.load_object("proc/blob/002")
    assert not np.array_equal(a.texture, c.texture)
    assert a.vertices.shape != c.vertices.shape or not np.allclose(a.vertices, c.vertices)
    d0, d1 = A.load_object("proc/box/000"), A.load_object("proc/box/001")
    assert d0.meta["params"] != d1.meta["params"]
    seed = int.from_bytes(hashlib.sha256(b"proc/blob/001").digest()[:8], "little")
    assert object_seed("proc/blob/001") == seed == a.meta["seed"]


def test_load_asset_dispatch() -> None:
    from datagen.assets.sources import load_asset
    from datagen.profile import AssetConfig

    m = load_asset("proc/torus/000", AssetConfig())
    assert m.object_id == "proc/torus/000"
    with pytest.raises(A.AssetError) as e:
        load_asset("nosuchsource/abc", AssetConfig())
    assert e.value.reason == "unknown_source"
    for bad in ("proc/nothing/000", "proc/sphere/1", "proc/sphere"):
        with pytest.raises(A.AssetError):
            load_asset(bad, AssetConfig())


def _raw_volume(m: A.AssetMesh) -> float:
    return A.volume(m) / m.meta["scale"] ** 3


def _ngon_area(n: int, r: float) -> float:
    return 0.5 * n * np.sin(2 * np.pi / n) * r * r


def test_analytic_volumes() -> None:
    box = A.load_object("proc/box/002")
    assert _raw_volume(box) == pytest.approx(np.prod(box.meta["params"]["size"]), rel=1e-9)

    cyl = A.load_object("proc/cylinder/001")  # prism on a regular 64-gon: exact formula
    p = cyl.meta["params"]
    exact = _ngon_area(p["segments"], p["radius"]) * p["height"]
    assert _raw_volume(cyl) == pytest.approx(exact, rel=1e-9)
    assert _raw_volume(cyl) == pytest.approx(np.pi * p["radius"] ** 2 * p["height"], rel=2e-3)

    tube = A.load_object("proc/tube/000")
    p = tube.meta["params"]
    exact = (_ngon_area(p["segments"], p["outer_radius"])
             - _ngon_area(p["segments"], p["inner_radius"])) * p["height"]
    assert _raw_volume(tube) == pytest.approx(exact, rel=1e-9)

    # icosphere: vertices on the sphere, so r_in^3 <= V / (4/3 pi) <= r^3 (r_in = min face
    # plane distance), and tessellation error < 3 %
    sph = A.load_object("proc/sphere/000")
    tri = sph.vertices[sph.faces]
    centre = -np.asarray(sph.meta["offset"]) * sph.meta["scale"]
    r = sph.meta["scale"] * sph.meta["params"]["radius"]
    n = sph.face_normals()
    r_in = np.min(np.einsum("fk,fk->f", tri[:, 0] - centre, n))
    v_ball = 4 / 3 * np.pi
    assert r_in**3 * v_ball <= A.volume(sph) <= r**3 * v_ball
    assert A.volume(sph) == pytest.approx(r**3 * v_ball, rel=0.03)

    tor = A.load_object("proc/torus/002")  # 64 x 28 segments: chord error ~1 %
    p = tor.meta["params"]
    analytic = 2 * np.pi**2 * p["major_radius"] * p["minor_radius"] ** 2
    assert 0.98 * analytic < _raw_volume(tor) < analytic


@pytest.mark.parametrize("oid", ["proc/sphere/000", "proc/torus/001", "proc/knot/000",
                                 "proc/bowl/002", "proc/star_prism/000"])
def test_monte_carlo_volume(oid: str) -> None:
    """inside() fraction x AABB volume matches the mesh volume within 4 standard errors."""
    m = A.load_object(oid)
    lo, hi = m.bounds
    n = 40_000
    pts = lo + np.random.default_rng(11).random((n, 3)) * (hi - lo)
    frac = A.inside(m, pts).mean()
    box = np.prod(hi - lo)
    sigma = box * np.sqrt(frac * (1 - frac) / n)
    assert abs(frac * box - A.volume(m)) < 4 * sigma


def test_import_does_not_pull_torch() -> None:
    code = "import sys, datagen.assets; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
