"""Watertight parametric mesh builders with seam-free per-vertex UVs (used by the procedural pack).

Every builder returns (vertices (V, 3), faces (F, 3), uv (V, 2)) with one vertex per surface
point, so meshes are closed without welding. UVs use a *mirrored wrap*: around a closed loop the
coordinate runs 0 -> 1 -> 0 (`tri_wave`), so there is no seam and no triangle interpolates
across the whole texture; the texture appears mirrored on the two halves of a loop.
"""
from __future__ import annotations

import numpy as np

Mesh = tuple[np.ndarray, np.ndarray, np.ndarray]


def tri_wave(x: np.ndarray) -> np.ndarray:
    """Periodic, continuous 0 -> 1 -> 0 over each unit interval."""
    return 1.0 - np.abs(2.0 * np.mod(x, 1.0) - 1.0)


def _arclen(pts: np.ndarray, closed: bool) -> np.ndarray:
    p = np.vstack([pts, pts[:1]]) if closed else pts
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])


def polyline_even(pts: np.ndarray, n: int, closed: bool = False) -> np.ndarray:
    """n points evenly spaced by arc length along a dense polyline (ends kept when open)."""
    pts = np.asarray(pts, dtype=np.float64)
    s = _arclen(pts, closed)
    p = np.vstack([pts, pts[:1]]) if closed else pts
    t = np.linspace(0.0, s[-1], n, endpoint=not closed)
    return np.stack([np.interp(t, s, p[:, k]) for k in range(p.shape[1])], axis=1)


def polyline_corners(pts: np.ndarray, n: int, closed: bool = False) -> np.ndarray:
    """n points on a polyline of key vertices, keeping every key vertex (sharp corners), the
    rest spread over segments in proportion to their length."""
    pts = np.asarray(pts, dtype=np.float64)
    p = np.vstack([pts, pts[:1]]) if closed else pts
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    n_seg = len(seg)
    free = n - (n_seg if closed else n_seg + 1)
    if free < 0:
        raise ValueError(f"need at least {n_seg + (not closed)} points")
    extra = free * seg / seg.sum()
    k = np.floor(extra).astype(int)
    k[np.argsort(extra - k)[::-1][: free - k.sum()]] += 1
    out = []
    for i in range(n_seg):
        t = np.arange(k[i] + 1) / (k[i] + 1)
        out.append(p[i] + t[:, None] * (p[i + 1] - p[i]))
    if not closed:
        out.append(p[-1:])
    return np.vstack(out)


def loop_param(outline: np.ndarray) -> np.ndarray:
    """Arc-length fraction in [0, 1) of each point of a closed 2D loop."""
    s = _arclen(outline, closed=True)
    return s[:-1] / s[-1]


def _quads(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Triangles joining two index rings a, b of equal length (periodic)."""
    a1, b1 = np.roll(a, -1), np.roll(b, -1)
    return np.concatenate([np.stack([a, a1, b1], 1), np.stack([a, b1, b], 1)])


def orient_outward(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Faces flipped if needed so the signed volume is positive."""
    t = v[f] - v.mean(0)
    vol = np.einsum("ij,ij->", t[:, 0], np.cross(t[:, 1], t[:, 2]))
    return f[:, ::-1].copy() if vol < 0 else f


def star_solid(outline: np.ndarray, profile: np.ndarray, u_repeat: int = 1) -> Mesh:
    """Sphere-topology solid: ring j is `profile[j, 0] * outline` at height `profile[j, 1]`.

    `outline` (U, 2) is a closed loop star-shaped about the origin; `profile` (T, 2) starts and
    ends with scale 0 (the two poles) and is > 0 in between. Covers lathes (circle outline),
    prisms, pyramids, octahedra and puffy extrusions."""
    outline = np.asarray(outline, np.float64)
    profile = np.asarray(profile, np.float64)
    if profile[0, 0] != 0 or profile[-1, 0] != 0 or np.any(profile[1:-1, 0] <= 0):
        raise ValueError("profile must be 0 at both ends and > 0 inside")
    nu, nt = len(outline), len(profile)
    rings = profile[1:-1]
    ring_v = np.concatenate(
        [np.column_stack([s * outline, np.full(nu, z)]) for s, z in rings])
    v = np.vstack([[0, 0, profile[0, 1]], ring_v, [0, 0, profile[-1, 1]]])
    rad = np.linalg.norm(outline, axis=1).mean()
    vpar = _arclen(profile * [rad, 1.0], closed=False)
    vpar /= vpar[-1]
    u = tri_wave(u_repeat * loop_param(outline))
    uv = np.vstack([[0.5, 0.0],
                    np.column_stack([np.tile(u, nt - 2), np.repeat(vpar[1:-1], nu)]),
                    [0.5, 1.0]])
    idx = 1 + np.arange((nt - 2) * nu).reshape(nt - 2, nu)
    top = len(v) - 1
    fan0 = np.stack([np.zeros(nu, int), np.roll(idx[0], -1), idx[0]], 1)
    fan1 = np.stack([np.full(nu, top), idx[-1], np.roll(idx[-1], -1)], 1)
    mids = [_quads(idx[j], idx[j + 1]) for j in range(nt - 3)]
    f = np.vstack([fan0, *mids, fan1]).astype(np.int64)
    return v, orient_outward(v, f), uv


def torus_solid(outline: np.ndarray, loop: np.ndarray, u_repeat: int = 1,
                v_repeat: int = 1) -> Mesh:
    """Genus-1 solid of revolution-like sweep: ring j is `loop[j, 0] * outline` at height
    `loop[j, 1]`; `loop` (T, 2) is a closed cross-section with scale > 0 everywhere."""
    outline = np.asarray(outline, np.float64)
    loop = np.asarray(loop, np.float64)
    if np.any(loop[:, 0] <= 0):
        raise ValueError("loop must stay off the axis")
    nu, nt = len(outline), len(loop)
    v = np.concatenate([np.column_stack([s * outline, np.full(nu, z)]) for s, z in loop])
    rad = np.linalg.norm(outline, axis=1).mean()
    uv = np.column_stack([np.tile(tri_wave(u_repeat * loop_param(outline)), nt),
                          np.repeat(tri_wave(v_repeat * loop_param(loop * [rad, 1.0])), nu)])
    idx = np.arange(nt * nu).reshape(nt, nu)
    f = np.vstack([_quads(idx[j], idx[(j + 1) % nt]) for j in range(nt)]).astype(np.int64)
    return v, orient_outward(v, f), uv


def tube_sweep(curve: np.ndarray, radius: float, sides: int, u_repeat: int = 3) -> Mesh:
    """Circular tube around a closed 3D curve (N, 3), rotation-minimising frames with the
    closure twist spread evenly. The curve must stay > 2 * radius from itself."""
    c = np.asarray(curve, np.float64)
    n = len(c)
    tan = np.roll(c, -1, 0) - np.roll(c, 1, 0)
    tan /= np.linalg.norm(tan, axis=1, keepdims=True)
    ref = np.array([0.0, 0.0, 1.0]) if abs(tan[0, 2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    nor = np.empty_like(c)
    nor[0] = np.cross(np.cross(tan[0], ref), tan[0])
    nor[0] /= np.linalg.norm(nor[0])
    for i in range(1, n + 1):  # parallel transport (projection), one extra step to measure twist
        t = tan[i % n]
        m = nor[i - 1] - np.dot(nor[i - 1], t) * t
        m /= np.linalg.norm(m)
        if i < n:
            nor[i] = m
    bin0 = np.cross(tan[0], nor[0])
    twist = np.arctan2(np.dot(m, bin0), np.dot(m, nor[0]))
    bi = np.cross(tan, nor)
    phase = -twist * np.arange(n) / n
    ang = 2 * np.pi * np.arange(sides) / sides
    a = phase[:, None] + ang[None, :]
    v = (c[:, None, :] + radius * (np.cos(a)[..., None] * nor[:, None, :]
                                   + np.sin(a)[..., None] * bi[:, None, :])).reshape(-1, 3)
    uv = np.column_stack([np.repeat(tri_wave(u_repeat * np.arange(n) / n), sides),
                          np.tile(tri_wave(np.arange(sides) / sides), n)])
    idx = np.arange(n * sides).reshape(n, sides)
    f = np.vstack([_quads(idx[j], idx[(j + 1) % n]) for j in range(n)]).astype(np.int64)
    return v, orient_outward(v, f), uv


def icosphere(subdivisions: int = 3) -> Mesh:
    """Unit icosphere with mirrored spherical UVs (u = tri_wave(longitude), v = latitude)."""
    import trimesh

    s = trimesh.creation.icosphere(subdivisions=subdivisions, radius=1.0)
    v = np.asarray(s.vertices, np.float64)
    return v, orient_outward(v, np.asarray(s.faces, np.int64)), spherical_uv(v)


def spherical_uv(v: np.ndarray) -> np.ndarray:
    d = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    lon = np.arctan2(d[:, 1], d[:, 0]) / (2 * np.pi)
    return np.column_stack([tri_wave(lon), 1.0 - np.arccos(np.clip(d[:, 2], -1, 1)) / np.pi])


def bend(v: np.ndarray, angle: float) -> np.ndarray:
    """Bend geometry whose axis is z in [0, L] into an arc of `angle` radians in the x-z plane
    (centre of curvature on +x). Requires max |x| < L / angle."""
    zlen = v[:, 2].max() - v[:, 2].min()
    rb = zlen / angle
    phi = (v[:, 2] - v[:, 2].min()) / rb
    r = rb - v[:, 0]
    return np.column_stack([rb - r * np.cos(phi), v[:, 1], r * np.sin(phi)])


# -- 2D outlines (closed loops, counter-clockwise, star-shaped about the origin) -------------
def circle(n: int, rx: float = 1.0, ry: float = 1.0) -> np.ndarray:
    a = 2 * np.pi * np.arange(n) / n
    return np.column_stack([rx * np.cos(a), ry * np.sin(a)])


def polygon(keys: np.ndarray, n: int) -> np.ndarray:
    """n points on the closed polygon through `keys`, corners kept."""
    return polyline_corners(np.asarray(keys, np.float64), n, closed=True)


def star(points: int, r_in: float, n: int, r_out: float = 1.0) -> np.ndarray:
    a = np.pi * np.arange(2 * points) / points + np.pi / 2
    r = np.where(np.arange(2 * points) % 2 == 0, r_out, r_in)
    return polygon(np.column_stack([r * np.cos(a), r * np.sin(a)]), n)


def heart(n: int) -> np.ndarray:
    """Classic heart curve, scaled to unit-ish size and centred on a star-centre."""
    t = np.linspace(0, 2 * np.pi, 2000, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
    pts = np.column_stack([x, y + 2.0]) / 17.0
    return polyline_even(pts[::-1] if _signed_area(pts) < 0 else pts, n, closed=True)


def _signed_area(p: np.ndarray) -> float:
    q = np.roll(p, -1, 0)
    return 0.5 * float(np.sum(p[:, 0] * q[:, 1] - q[:, 0] * p[:, 1]))
