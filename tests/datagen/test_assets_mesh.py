"""Mesh utilities against independent truth: analytic solids, hand-made meshes, trimesh."""
from __future__ import annotations

import numpy as np
import pytest
import trimesh

import datagen.assets as A


def _raw(m: A.AssetMesh, p: np.ndarray) -> np.ndarray:
    """Normalized coordinates back to the family's own coordinates (tests meta scale/offset)."""
    return p / m.meta["scale"] + np.asarray(m.meta["offset"])


def _mesh(v, f, **kw) -> A.AssetMesh:
    return A.AssetMesh("test/x", "test", np.asarray(v, float), np.asarray(f), **kw)


def _trimesh_box() -> A.AssetMesh:
    b = trimesh.creation.box(extents=(2.0, 1.0, 1.0))
    return _mesh(b.vertices, b.faces)


# -- inside ---------------------------------------------------------------------------------
def test_inside_hand_cases() -> None:
    m = A.load_object("proc/sphere/000")
    pts = np.array([[0, 0, 0.5], [0, 0, 5.0], [3, 3, 0.5], [0, 0, -0.01], [0.2, 0.1, 0.4]])
    np.testing.assert_array_equal(A.inside(m, pts), [True, False, False, False, True])
    box = _trimesh_box()
    assert A.inside(box, [[0.9, 0.4, 0.4], [1.1, 0, 0], [0, 0, 0]]).tolist() == [True, False, True]
    flipped = _mesh(box.vertices, box.faces[:, ::-1])  # inverted winding still works
    assert A.inside(flipped, [[0.9, 0.4, 0.4], [1.1, 0, 0]]).tolist() == [True, False]
    assert A.inside(box, np.zeros((0, 3))).shape == (0,)
    w = A.winding_number(box, [[0, 0, 0], [5, 0, 0]])
    np.testing.assert_allclose(w, [1.0, 0.0], atol=1e-9)


def _slack(oid: str, m: A.AssetMesh, p: np.ndarray) -> np.ndarray:
    """Analytic signed clearance (> 0 inside, < 0 outside) in the family's own coordinates."""
    q, prm = _raw(m, p), m.meta["params"]
    if oid.startswith("proc/box"):
        return np.min(np.asarray(prm["size"]) / 2 - np.abs(q - [0, 0, prm["size"][2] / 2]), 1)
    if oid.startswith("proc/pyramid"):
        k, h = prm["sides"], prm["height"]
        ang = (2 * np.arange(k) + 1) * np.pi / k
        lateral = np.max(q[:, :1] * np.cos(ang) + q[:, 1:2] * np.sin(ang), 1)
        return np.minimum(np.minimum(q[:, 2], h - q[:, 2]),
                          (1 - q[:, 2] / h) * np.cos(np.pi / k) - lateral)
    h = prm["half_height"]  # octahedron
    return 1 - np.abs(q[:, 2]) / h - np.abs(q[:, 0]) - np.abs(q[:, 1])


def test_inside_rays_through_vertices_and_edges() -> None:
    """Queries whose vertical ray passes exactly through mesh vertices / edges (the subdivided
    box, pyramid and octahedron have many) are classified exactly (analytic truth)."""
    for oid in ("proc/box/000", "proc/pyramid/000", "proc/pyramid/001", "proc/octahedron/000"):
        m = A.load_object(oid)
        lo, hi = m.bounds
        vx = np.unique(m.vertices[:, :2], axis=0)
        for frac in (0.4137, 0.05, 0.93):  # heights off the vertex rows
            q = np.column_stack([vx, np.full(len(vx), lo[2] + frac * (hi[2] - lo[2]))])
            s = _slack(oid, m, q)
            off = np.abs(s) > 1e-9  # drop points lying on the surface itself
            assert off.sum() > 100
            np.testing.assert_array_equal(A.inside(m, q[off]), s[off] > 0)
        assert not A.inside(m, np.column_stack([vx, np.full(len(vx), hi[2] + 1)])).any()


def test_inside_matches_analytic_sphere_and_torus() -> None:
    rng = np.random.default_rng(0)
    sph = A.load_object("proc/sphere/001")
    lo, hi = sph.bounds
    p = lo - 0.1 + rng.random((20_000, 3)) * (hi - lo + 0.2)
    truth = np.linalg.norm(_raw(sph, p), axis=1) < 1.0
    assert (A.inside(sph, p) == truth).mean() >= 0.99

    tor = A.load_object("proc/torus/001")
    prm = tor.meta["params"]
    lo, hi = tor.bounds
    p = lo - 0.1 + rng.random((20_000, 3)) * (hi - lo + 0.2)
    q = _raw(tor, p)
    truth = (np.hypot(q[:, 0], q[:, 1]) - prm["major_radius"]) ** 2 + q[:, 2] ** 2 \
        < prm["minor_radius"] ** 2
    assert truth.mean() > 0.05
    assert (A.inside(tor, p) == truth).mean() >= 0.99


# -- surface sampling -------------------------------------------------------------------------
def test_sample_surface_on_surface_and_deterministic() -> None:
    m = A.load_object("proc/knot/001")
    pts, nrm, col, fi, bary = A.sample_surface(m, 300, np.random.default_rng(3))
    assert pts.shape == nrm.shape == col.shape == bary.shape == (300, 3) and fi.shape == (300,)
    # brute-force distance to every triangle, independent of face_idx / bary
    tri = m.vertices[m.faces]
    d = np.full(len(pts), np.inf)
    for s in range(0, len(pts), 20):
        q = np.repeat(pts[s:s + 20], len(tri), axis=0)
        cp = trimesh.triangles.closest_point(np.tile(tri, (len(q) // len(tri), 1, 1)), q)
        d[s:s + 20] = np.linalg.norm(cp - q, axis=1).reshape(-1, len(tri)).min(1)
    assert d.max() < 1e-9
    np.testing.assert_allclose(np.linalg.norm(nrm, axis=1), 1.0)
    assert col.min() >= 0 and col.max() <= 1 and col.std(0).max() > 0.05
    np.testing.assert_allclose(col, m.color_at(fi, bary))
    again = A.sample_surface(m, 300, np.random.default_rng(3))
    for x, y in zip((pts, nrm, col, fi, bary), again):
        np.testing.assert_array_equal(x, y)


def test_sample_surface_sphere_radius_and_normals() -> None:
    m = A.load_object("proc/sphere/000")
    pts, nrm, *_ = A.sample_surface(m, 2000, np.random.default_rng(1))
    q = _raw(m, pts)
    r = np.linalg.norm(q, axis=1)
    assert r.max() <= 1 + 1e-9 and r.min() > 0.99  # flat facets of a unit icosphere
    assert np.all(np.einsum("pk,pk->p", nrm, q) > 0)  # outward


def test_sample_surface_area_weighting_box() -> None:
    box = _trimesh_box()  # face areas: 2 (x2 for +-z, +-y), 1 (+-x)
    n = 60_000
    pts, *_ = A.sample_surface(box, n, np.random.default_rng(7))
    half = np.array([1.0, 0.5, 0.5])
    side = np.argmax(np.abs(pts) / half, axis=1)
    frac = np.bincount(side, minlength=3) / n
    expect = np.array([2 * 1.0, 2 * 2.0, 2 * 2.0]) / 10.0  # x-faces 1x1, y 2x1, z 2x1
    assert np.all(np.abs(frac - expect) < 4 * np.sqrt(expect * (1 - expect) / n))


def test_sample_surface_even_is_more_uniform() -> None:
    m = A.load_object("proc/capsule/000")
    rng = np.random.default_rng(2)
    even, *_ = A.sample_surface_even(m, 400, rng)
    plain, *_ = A.sample_surface(m, 400, np.random.default_rng(2))

    def min_gap(p: np.ndarray) -> float:
        d = np.linalg.norm(p[:, None] - p[None], axis=2)
        np.fill_diagonal(d, np.inf)
        return float(d.min(1).min())

    assert min_gap(even) > 3 * min_gap(plain)
    np.testing.assert_array_equal(even, A.sample_surface_even(m, 400, np.random.default_rng(2))[0])


def test_farthest_point_sampling_hand_case() -> None:
    from physics.point_sampling import farthest_point_sampling

    line = np.column_stack([np.arange(11.0), np.zeros(11), np.zeros(11)])
    assert farthest_point_sampling(line, 3).tolist() == [0, 10, 5]
    assert farthest_point_sampling(line, 2, start_index=4).tolist() == [4, 10]
    with pytest.raises(ValueError):
        farthest_point_sampling(line, 12)


# -- volume sampling ---------------------------------------------------------------------
def test_sample_volume_inside_and_deterministic() -> None:
    m = A.load_object("proc/sphere/002")
    p = A.sample_volume(m, 3000, np.random.default_rng(4))
    assert p.shape == (3000, 3)
    assert np.all(np.linalg.norm(_raw(m, p), axis=1) < 1.0)  # analytic
    assert A.inside(m, p).all()
    np.testing.assert_array_equal(p, A.sample_volume(m, 3000, np.random.default_rng(4)))
    centre = -np.asarray(m.meta["offset"]) * m.meta["scale"]
    assert np.linalg.norm(p.mean(0) - centre) < 0.02  # uniform fill: mean at the centre
    t = A.load_object("proc/tube/001")  # hollow: nothing in the bore
    q = _raw(t, A.sample_volume(t, 2000, np.random.default_rng(4)))
    apothem = t.meta["params"]["inner_radius"] * np.cos(np.pi / t.meta["params"]["segments"])
    assert np.hypot(q[:, 0], q[:, 1]).min() > apothem - 1e-9


def test_volume_grid() -> None:
    m = A.load_object("proc/sphere/000")
    s = 0.04
    g = A.volume_grid(m, s)
    assert A.inside(m, g).all()
    assert len(g) * s**3 == pytest.approx(A.volume(m), rel=0.03)
    steps = np.diff(np.unique(g[:, 0]))
    np.testing.assert_allclose(steps, s)


# -- colours ---------------------------------------------------------------------------------
def test_color_at_textured_quad() -> None:
    red, green, blue, white = [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]
    tex = np.array([[red, green], [blue, white]], dtype=np.uint8)  # row 0 = top (v = 1)
    v = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]
    quad = _mesh(v, [[0, 1, 2], [0, 2, 3]], uv=np.asarray(v, float)[:, :2], texture=tex)

    def bary(p, tri):  # barycentric of 2D point p in triangle of vertex indices
        a, b, c = (np.asarray(v[i][:2], float) for i in tri)
        m = np.column_stack([b - a, c - a])
        l1, l2 = np.linalg.solve(m, np.asarray(p, float) - a)
        return [1 - l1 - l2, l1, l2]

    got = quad.color_at(np.array([0, 0, 1, 1, 0]),
                        np.array([bary((0.25, 0.24), [0, 1, 2]), bary((0.75, 0.25), [0, 1, 2]),
                                  bary((0.25, 0.75), [0, 2, 3]), bary((0.75, 0.8), [0, 2, 3]),
                                  bary((0.5, 0.25), [0, 1, 2])]))
    np.testing.assert_allclose(got[:4] * 255, [blue, white, red, green], atol=1e-6)
    np.testing.assert_allclose(got[4] * 255, [127.5, 127.5, 255], atol=1e-6)  # bilinear

    vc = _mesh(v, [[0, 1, 2]], vertex_colors=[[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]])
    np.testing.assert_allclose(vc.color_at([0], [[0.2, 0.3, 0.5]]), [[0.2, 0.3, 0.5]])


# -- checks / normalize -----------------------------------------------------------------------
def _reason(m: A.AssetMesh, **kw) -> str | None:
    try:
        A.check_mesh(m, **kw)
    except A.AssetError as e:
        return e.reason
    return None


def test_check_mesh_reason_codes() -> None:
    good = A.load_object("proc/box/000")
    assert _reason(good) is None
    assert _reason(_mesh(np.zeros((0, 3)), np.zeros((0, 3), int))) == "empty"
    nan = good.copy()
    nan.vertices[5, 1] = np.nan
    assert _reason(nan) == "corrupt"
    bad = good.copy()
    bad.faces[3, 2] = good.n_vertices
    assert _reason(bad) == "corrupt"
    assert _reason(good, max_faces=100) == "too_many_faces"
    # open box: remove the whole top cap (many faces) -> beyond fill_holes
    top = good.vertices[good.faces][:, :, 2].min(1) > good.vertices[:, 2].max() - 1e-9
    opened = _mesh(good.vertices, good.faces[~top])
    assert top.sum() > 50 and not A.is_closed(opened)
    assert _reason(opened) == "not_closed"
    # a single missing triangle is repairable
    one = _mesh(good.vertices, good.faces[1:])
    assert not A.is_closed(one) and _reason(one) is None and A.is_closed(A.repair(one))
    # a fin sharing an edge with the closed box -> an edge with 3 faces
    tb = _trimesh_box()
    e = tb.faces[0, :2]
    fin = _mesh(np.vstack([tb.vertices, [[0, 0, 3.0]]]),
                np.vstack([tb.faces, [[e[0], e[1], len(tb.vertices)]]]))
    assert _reason(fin) == "non_manifold"
    flat = _mesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2], [0, 2, 1]])
    assert A.is_closed(flat) and _reason(flat) == "zero_volume"


def test_normalize_records_transform() -> None:
    b = trimesh.creation.capsule(height=3.0, radius=0.5)
    raw = _mesh(b.vertices * [1, 2, 1] + [5, -2, 7], b.faces)
    n = A.normalize(raw, size=2.0)
    lo, hi = n.bounds
    assert (hi - lo).max() == pytest.approx(2.0, abs=1e-12) and lo[2] == 0
    np.testing.assert_allclose((lo + hi)[:2] / 2, 0, atol=1e-12)
    np.testing.assert_allclose((raw.vertices - n.meta["offset"]) * n.meta["scale"], n.vertices,
                               atol=1e-12)
    n2 = A.normalize(n, size=1.0)  # composes
    np.testing.assert_allclose((raw.vertices - n2.meta["offset"]) * n2.meta["scale"],
                               n2.vertices, atol=1e-12)
    assert A.volume(n) == pytest.approx(A.volume(raw) * n.meta["scale"] ** 3)
