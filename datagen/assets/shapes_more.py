"""Procedural shape families, part 2: prisms of fancy outlines, lathes, sweeps and bends."""
from __future__ import annotations

import numpy as np

from . import builders as b
from .shapes_basic import NT, NU, Built, _u, capsule_profile, prism, shape


@shape("star_prism")
def star_prism(rng: np.random.Generator) -> Built:
    k, r_in, h = int(rng.integers(5, 9)), _u(rng, 0.4, 0.65), _u(rng, 0.2, 0.6)
    v, f, uv = prism(b.star(k, r_in, 2 * k * 8), h)
    return v, f, uv, {"points": k, "inner_radius": r_in, "height": h}


@shape("cross")
def cross(rng: np.random.Generator) -> Built:
    """Plus-sign prism."""
    w, h = _u(rng, 0.18, 0.35), _u(rng, 0.2, 0.6)
    keys = [(1, -w), (1, w), (w, w), (w, 1), (-w, 1), (-w, w), (-1, w), (-1, -w), (-w, -w),
            (-w, -1), (w, -1), (w, -w)]
    v, f, uv = prism(b.polygon(keys, 96), h)
    return v, f, uv, {"arm_half_width": w, "height": h}


@shape("gear")
def gear(rng: np.random.Generator) -> Built:
    teeth, depth, h = int(rng.integers(8, 15)), _u(rng, 0.12, 0.25), _u(rng, 0.15, 0.5)
    a = 2 * np.pi * np.arange(teeth) / teeth
    da = np.pi / teeth
    keys = []
    for ai in a:  # root, flank up, tip, flank down
        for ang, r in ((ai - 0.5 * da, 1 - depth), (ai - 0.3 * da, 1.0), (ai + 0.3 * da, 1.0),
                       (ai + 0.5 * da, 1 - depth)):
            keys.append((r * np.cos(ang), r * np.sin(ang)))
    v, f, uv = prism(b.polygon(keys, 8 * teeth), h)
    return v, f, uv, {"teeth": teeth, "tooth_depth": depth, "height": h}


@shape("ovoid")
def ovoid(rng: np.random.Generator) -> Built:
    """Egg / pill: ellipse profile with one end fatter."""
    w, k = _u(rng, 0.5, 0.8), _u(rng, 0.05, 0.3)
    t = np.linspace(0, np.pi, 400)
    prof = np.column_stack([w * np.sin(t) * (1 + k * np.cos(t)), -np.cos(t)])
    prof[[0, -1], 0] = 0.0
    v, f, uv = b.star_solid(b.circle(NU), b.polyline_even(prof, NT + 4))
    return v, f, uv, {"half_length": 1.0, "radius": w, "asymmetry": k}


@shape("bean")
def bean(rng: np.random.Generator) -> Built:
    """Kidney bean: a capsule bent into an arc, lying flat, slightly squashed."""
    r, h = _u(rng, 0.25, 0.4), _u(rng, 1.0, 1.8)
    angle, squash = _u(rng, 0.8, 1.8), _u(rng, 0.7, 0.95)
    v, f, uv = b.star_solid(b.circle(NU), b.polyline_even(capsule_profile(r, h), 48))
    v = b.bend(v, angle)
    v = np.column_stack([v[:, 2], v[:, 0], squash * v[:, 1]])
    return v, b.orient_outward(v, f), uv, {"radius": r, "length": h, "bend": angle,
                                            "squash": squash}


@shape("dumbbell")
def dumbbell(rng: np.random.Generator) -> Built:
    rb, bar, half = _u(rng, 0.35, 0.5), _u(rng, 0.12, 0.25), _u(rng, 0.6, 1.2)
    z = -half - rb + (2 * half + 2 * rb) * (1 - np.cos(np.linspace(0, np.pi, 3000))) / 2
    r = np.maximum.reduce([np.sqrt(np.clip(rb**2 - (z - c) ** 2, 0, None)) for c in (-half, half)]
                          + [np.where(np.abs(z) <= half, bar, 0.0)])
    r[[0, -1]] = 0.0
    v, f, uv = b.star_solid(b.circle(NU), b.polyline_even(np.column_stack([r, z]), 56))
    return v, f, uv, {"ball_radius": rb, "bar_radius": bar, "half_distance": half}


@shape("mushroom")
def mushroom(rng: np.random.Generator) -> Built:
    rs, hs, rc, hc = _u(rng, 0.2, 0.35), _u(rng, 0.4, 0.9), _u(rng, 0.7, 1.0), _u(rng, 0.35, 0.7)
    lip = 0.08
    a = np.linspace(0, np.pi / 2, 120)
    stem = [(0.0, 0.0), (rs, 0.0), (0.9 * rs, hs)]
    under = [(0.9 * rs + (rc - 0.9 * rs) * t, hs + lip * t) for t in np.linspace(0, 1, 30)[1:]]
    dome = np.column_stack([rc * np.cos(a), hs + lip + hc * np.sin(a)])
    pts = np.vstack([b.polyline_even(np.array(stem), 60), under, dome])
    pts[-1, 0] = 0.0
    v, f, uv = b.star_solid(b.circle(NU), b.polyline_even(pts, 44))
    return v, f, uv, {"stem_radius": rs, "stem_height": hs, "cap_radius": rc,
                      "cap_height": hc}


@shape("heart")
def heart(rng: np.random.Generator) -> Built:
    """Puffy heart lying flat: heart outline, superellipse thickness profile."""
    th, p = _u(rng, 0.25, 0.5), _u(rng, 0.45, 0.9)
    t = np.linspace(0, np.pi, NT)
    prof = np.column_stack([np.sin(t) ** p, -th * np.cos(t)])
    prof[[0, -1], 0] = 0.0
    v, f, uv = b.star_solid(b.heart(96), prof)
    return v, f, uv, {"thickness": 2 * th, "puffiness_exponent": p}


@shape("teardrop")
def teardrop(rng: np.random.Generator) -> Built:
    w, m = _u(rng, 0.5, 0.9), _u(rng, 1.0, 2.2)
    t = np.linspace(0, np.pi, 600)
    prof = np.column_stack([w * np.sin(t) * np.sin(t / 2) ** m, np.cos(t)])[::-1]
    prof[[0, -1], 0] = 0.0
    v, f, uv = b.star_solid(b.circle(NU), b.polyline_even(prof, NT + 4))
    return v, f, uv, {"width": w, "sharpness": m}


@shape("ring")
def ring(rng: np.random.Generator) -> Built:
    """Thick torus with a rounded-rectangle (superellipse) cross-section."""
    hw, hh, e = _u(rng, 0.12, 0.3), _u(rng, 0.15, 0.5), _u(rng, 3.0, 6.0)
    a = 2 * np.pi * np.arange(36) / 36
    c, s = np.cos(a), np.sin(a)
    loop = np.column_stack([1.0 + hw * np.sign(c) * np.abs(c) ** (2 / e),
                            hh * np.sign(s) * np.abs(s) ** (2 / e)])
    v, f, uv = b.torus_solid(b.circle(NU), loop)
    return v, f, uv, {"major_radius": 1.0, "half_width": hw, "half_height": hh, "exponent": e}


@shape("knot")
def knot(rng: np.random.Generator) -> Built:
    """Tube along a (p, q) torus knot."""
    p, q = [(2, 3), (2, 5), (3, 4), (3, 2)][int(rng.integers(4))]
    a = _u(rng, 0.35, 0.5)
    n = 60 * max(p, q)
    phi = 2 * np.pi * np.arange(n) / n
    rr = 1.0 + a * np.cos(q * phi)
    curve = np.column_stack([rr * np.cos(p * phi), rr * np.sin(p * phi), a * np.sin(q * phi)])
    tube_r = min(_u(rng, 0.12, 0.2), 0.45 * _self_clearance(curve))
    v, f, uv = b.tube_sweep(curve, tube_r, 12, u_repeat=p + q)
    return v, f, uv, {"p": p, "q": q, "knot_radius": a, "tube_radius": tube_r}


def _self_clearance(curve: np.ndarray) -> float:
    """Smallest distance between curve points more than ~pi * local-radius apart in arc."""
    seg = np.linalg.norm(np.diff(curve, axis=0, append=curve[:1]), axis=1)
    s = np.concatenate([[0], np.cumsum(seg)])[:-1]
    d = np.linalg.norm(curve[:, None] - curve[None], axis=2)
    ds = np.abs(s[:, None] - s[None])
    ds = np.minimum(ds, s[-1] + seg[-1] - ds)
    return float(d[ds > 1.0].min())


@shape("bowl")
def bowl(rng: np.random.Generator) -> Built:
    """Open bowl / cup with a closed wall of thickness `wall` (solid walls, hollow inside)."""
    rad, h, wall, rb = _u(rng, 0.8, 1.0), _u(rng, 0.35, 0.9), _u(rng, 0.06, 0.12), 0.5
    t = np.linspace(0, 1, 120)
    outer = np.column_stack([rb * rad + (1 - rb) * rad * np.sin(t * np.pi / 2), h * t ** 1.5])
    inner = outer[::-1] - [wall, 0.0]
    inner[:, 1] = np.maximum(inner[:, 1], wall)
    inner = np.vstack([inner[inner[:, 1] > wall + 1e-9], [(rb * rad - wall, wall)]])
    pts = np.vstack([[(0.0, 0.0)], outer, [(rad - wall, h)], inner, [(0.0, wall)]])
    v, f, uv = b.star_solid(b.circle(NU), b.polyline_even(pts, 56))
    return v, f, uv, {"radius": rad, "height": h, "wall": wall}


@shape("hourglass")
def hourglass(rng: np.random.Generator) -> Built:
    h, neck = _u(rng, 0.9, 2.0), _u(rng, 0.25, 0.6)
    z = np.linspace(0, h, 200)
    r = neck + (1 - neck) * (2 * z / h - 1) ** 2
    pts = np.vstack([[(0.0, 0.0)], np.column_stack([r, z]), [(0.0, h)]])
    v, f, uv = b.star_solid(b.circle(NU), b.polyline_even(pts, 44))
    return v, f, uv, {"height": h, "neck_radius": neck, "radius": 1.0}
