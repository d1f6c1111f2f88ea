"""Procedural shape families, part 1: primitives and polyhedra.

Each family is `fn(rng) -> (vertices, faces, uv, params)` registered with `@shape(name)`;
`params` records the generating parameters in the family's own (pre-normalization) units.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import builders as b

Built = tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]
SHAPE_FNS: dict[str, Callable[[np.random.Generator], Built]] = {}

NU = 64  # vertices around an outline
NT = 30  # rows along a profile (incl. both poles)


def shape(name: str) -> Callable[[Callable[[np.random.Generator], Built]], Callable]:
    def deco(fn: Callable[[np.random.Generator], Built]) -> Callable:
        if name in SHAPE_FNS:
            raise ValueError(f"duplicate shape family {name}")
        SHAPE_FNS[name] = fn
        return fn

    return deco


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def metric_profile(keys: list[tuple[float, float]], scale: float, n: int) -> np.ndarray:
    """Resample a (s, z) key profile with corners kept, spacing measured with s * scale."""
    k = np.asarray(keys, np.float64) * [scale, 1.0]
    return b.polyline_corners(k, n) / [scale, 1.0]


def prism(outline: np.ndarray, height: float, n: int = NT) -> tuple[np.ndarray, ...]:
    """Straight extrusion of a star-shaped outline, caps subdivided into concentric rings."""
    rad = float(np.linalg.norm(outline, axis=1).mean())
    prof = metric_profile([(0, 0), (1, 0), (1, height), (0, height)], rad, n)
    return b.star_solid(outline, prof)


@shape("sphere")
def sphere(rng: np.random.Generator) -> Built:
    v, f, uv = b.icosphere(3)
    return v, f, uv, {"radius": 1.0, "subdivisions": 3}


@shape("ellipsoid")
def ellipsoid(rng: np.random.Generator) -> Built:
    ax = np.array([1.0, _u(rng, 0.45, 0.9), _u(rng, 0.35, 1.3)])
    v, f, uv = b.icosphere(3)
    return v * ax, f, uv, {"semi_axes": ax.tolist()}


@shape("torus")
def torus(rng: np.random.Generator) -> Built:
    r = _u(rng, 0.22, 0.5)
    nv = 28
    loop = np.column_stack([1.0 + r * np.cos(2 * np.pi * np.arange(nv) / nv),
                            r * np.sin(2 * np.pi * np.arange(nv) / nv)])
    v, f, uv = b.torus_solid(b.circle(NU), loop)
    return v, f, uv, {"major_radius": 1.0, "minor_radius": r, "segments": [NU, nv]}


@shape("box")
def box(rng: np.random.Generator) -> Built:
    dims = np.array([1.0, _u(rng, 0.45, 1.0), _u(rng, 0.35, 1.0)])
    out = b.polygon([(0.5, -dims[1] / 2), (0.5, dims[1] / 2), (-0.5, dims[1] / 2),
                     (-0.5, -dims[1] / 2)], NU)
    v, f, uv = prism(out, dims[2])
    return v, f, uv, {"size": dims.tolist()}


@shape("rounded_box")
def rounded_box(rng: np.random.Generator) -> Built:
    v, f, uv, p = box(rng)
    dims = np.asarray(p["size"])
    r = _u(rng, 0.1, 0.25) * dims.min()
    c = np.array([0.0, 0.0, dims[2] / 2])
    q = v - c
    inner = dims / 2 - r
    cl = np.clip(q, -inner, inner)
    d = q - cl
    v = c + cl + r * d / np.linalg.norm(d, axis=1, keepdims=True)
    return v, f, uv, {"size": dims.tolist(), "corner_radius": r}


@shape("capsule")
def capsule(rng: np.random.Generator) -> Built:
    r, h = _u(rng, 0.25, 0.5), _u(rng, 0.4, 1.6)
    prof = capsule_profile(r, h)
    v, f, uv = b.star_solid(b.circle(NU), b.polyline_even(prof, 36))
    return v, f, uv, {"radius": r, "length": h}


def capsule_profile(r: float, h: float, n_arc: int = 200) -> np.ndarray:
    """Dense (s, z) profile of a capsule (radius r, cylinder length h) for a unit circle."""
    a = np.linspace(-np.pi / 2, 0, n_arc)
    bot = np.column_stack([r * np.cos(a), r * np.sin(a)])
    top = np.column_stack([r * np.cos(np.linspace(0, np.pi / 2, n_arc)),
                           h + r * np.sin(np.linspace(0, np.pi / 2, n_arc))])
    prof = np.vstack([bot, top])
    prof[0, 0] = prof[-1, 0] = 0.0
    return prof


@shape("cylinder")
def cylinder(rng: np.random.Generator) -> Built:
    h = _u(rng, 0.5, 2.5)
    v, f, uv = prism(b.circle(NU), h)
    return v, f, uv, {"radius": 1.0, "height": h, "segments": NU}


@shape("cone")
def cone(rng: np.random.Generator) -> Built:
    h = _u(rng, 0.8, 2.5)
    v, f, uv = b.star_solid(b.circle(NU), metric_profile([(0, 0), (1, 0), (0, h)], 1.0, NT))
    return v, f, uv, {"radius": 1.0, "height": h, "segments": NU}


@shape("blob")
def blob(rng: np.random.Generator) -> Built:
    """Icosphere with smooth seeded radial noise (sum of spherical Gaussian bumps)."""
    v, f, uv = b.icosphere(4)
    k = int(rng.integers(4, 9))
    centres = rng.normal(size=(k, 3))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    amp = rng.uniform(-0.35, 0.5, k)
    kappa = rng.uniform(2.0, 6.0, k)
    bump = np.exp(kappa[None, :] * (v @ centres.T - 1.0)) @ amp
    radius = np.clip(1.0 + bump, 0.55, 1.6)
    return v * radius[:, None], f, uv, {"bumps": k, "amplitudes": amp.round(4).tolist()}


@shape("pyramid")
def pyramid(rng: np.random.Generator) -> Built:
    sides = int(rng.choice([3, 4, 4, 5, 6]))
    h = _u(rng, 0.6, 1.5)
    out = b.polygon(b.circle(sides), NU - NU % sides)
    v, f, uv = b.star_solid(out, metric_profile([(0, 0), (1, 0), (0, h)], 1.0, NT))
    return v, f, uv, {"sides": sides, "circumradius": 1.0, "height": h}


@shape("octahedron")
def octahedron(rng: np.random.Generator) -> Built:
    h = _u(rng, 0.7, 1.6)
    out = b.polygon(b.circle(4), NU)
    v, f, uv = b.star_solid(out, metric_profile([(0, -h), (1, 0), (0, h)], 1.0, NT))
    return v, f, uv, {"half_height": h, "circumradius": 1.0}


@shape("wedge")
def wedge(rng: np.random.Generator) -> Built:
    """Right-triangle prism (door stop) resting on its long rectangular face."""
    length, height, depth = 1.0, _u(rng, 0.25, 0.7), _u(rng, 0.35, 0.9)
    tri = np.array([(0.0, 0.0), (length, 0.0), (0.0, height)])
    v, f, uv = prism(b.polygon(tri - tri.mean(0), NU), depth)
    v = np.column_stack([v[:, 0], -v[:, 2], v[:, 1]])  # +90 deg about x: extrusion along y
    return v, f, uv, {"length": length, "height": height, "depth": depth}


@shape("tube")
def tube(rng: np.random.Generator) -> Built:
    """Hollow cylinder with a closed wall of finite thickness."""
    ri, h = _u(rng, 0.45, 0.8), _u(rng, 0.4, 1.8)
    loop = b.polyline_corners(np.array([(ri, 0), (1.0, 0), (1.0, h), (ri, h)]), 40, closed=True)
    v, f, uv = b.torus_solid(b.circle(NU), loop)
    return v, f, uv, {"outer_radius": 1.0, "inner_radius": ri, "height": h, "segments": NU}
