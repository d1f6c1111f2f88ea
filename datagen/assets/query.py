"""Point-in-mesh queries in pure numpy (no rtree / embree).

`inside` counts signed crossings of a +z ray with the surface, using a uniform xy grid to find
candidate triangles and an exact, consistent tie-break for rays through edges / vertices
(symbolic perturbation of the query point by (eps, eps^2) with edge functions evaluated in a
canonical vertex order), so shared edges are never counted twice or missed. Its result is the
integer winding number, so nested / inverted shells behave. `winding_number` is the slower
generalized (solid-angle) winding number, also meaningful for open or slightly broken meshes.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .mesh import AssetMesh

_PAIR_CHUNK = 1_000_000  # (point, triangle) candidate pairs evaluated per batch


def _edge_tables(xy: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per face and edge (ab, bc, ca): canonical start point, direction, orientation flip and
    the perturbation fallback sign."""
    u = xy
    v = np.roll(xy, -1, axis=1)  # (F, 3, 2): edges a->b, b->c, c->a
    swap = (u[..., 0] > v[..., 0]) | ((u[..., 0] == v[..., 0]) & (u[..., 1] > v[..., 1]))
    cu = np.where(swap[..., None], v, u)
    cv = np.where(swap[..., None], u, v)
    flip = np.where(swap, -1.0, 1.0)
    d = cv - cu
    fb = np.sign(-d[..., 1])  # d/d(eps) of E at p + (eps, eps^2)
    fb = np.where(fb == 0, np.sign(d[..., 0]), fb)
    return cu, d, flip, fb * flip


def _grid(lo: np.ndarray, hi: np.ndarray, n_faces: int) -> tuple[np.ndarray, np.ndarray, int]:
    g = int(np.clip(np.ceil(np.sqrt(n_faces)), 1, 512))
    glo, ghi = lo.min(0), hi.max(0)
    h = np.maximum((ghi - glo) / g, 1e-300)
    return glo, h, g


def _cell(x: np.ndarray, glo: np.ndarray, h: np.ndarray, g: int) -> np.ndarray:
    return np.clip(np.floor((x - glo) / h), 0, g - 1).astype(np.int64)


def inside(mesh: "AssetMesh", points: np.ndarray) -> np.ndarray:
    """(P,) bool: True where the point is inside the closed mesh (winding number != 0).

    Exact for rays through edges / vertices; points lying exactly on the surface may go either
    way. Cost ~ O(F + P * triangles per grid cell)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    out = np.zeros(len(pts), dtype=bool)
    if mesh.n_faces == 0 or len(pts) == 0:
        return out
    tri = mesh.vertices[mesh.faces]
    xy = tri[..., :2]
    lo, hi = xy.min(1), xy.max(1)
    glo, h, g = _grid(lo, hi, len(tri))
    c0, c1 = _cell(lo, glo, h, g), _cell(hi, glo, h, g)
    nx, ny = c1[:, 0] - c0[:, 0] + 1, c1[:, 1] - c0[:, 1] + 1
    nk = nx * ny
    t_rep = np.repeat(np.arange(len(tri)), nk)
    local = np.arange(len(t_rep)) - np.repeat(np.cumsum(nk) - nk, nk)
    cell = (c0[t_rep, 1] + local // nx[t_rep]) * g + c0[t_rep, 0] + local % nx[t_rep]
    order = np.argsort(cell, kind="stable")
    cell_tris = t_rep[order]
    counts = np.bincount(cell, minlength=g * g)
    starts = np.cumsum(counts) - counts

    gmin, gmax = lo.min(0), hi.max(0)
    ok = np.all((pts[:, :2] >= gmin) & (pts[:, :2] <= gmax), axis=1)
    idx = np.nonzero(ok)[0]
    if len(idx) == 0:
        return out
    pc = _cell(pts[idx, :2], glo, h, g)
    pcell = pc[:, 1] * g + pc[:, 0]
    cnt = counts[pcell]
    cu, d, flip, fb = _edge_tables(xy)
    z = tri[..., 2]
    w = np.zeros(len(pts))
    # batch points so each batch has at most ~_PAIR_CHUNK candidate pairs
    csum = np.concatenate([[0], np.cumsum(cnt)])
    s = 0
    while s < len(idx):
        e = max(s + 1, int(np.searchsorted(csum, csum[s] + _PAIR_CHUNK, side="right")) - 1)
        sl = slice(s, e)
        s = e
        c = cnt[sl]
        p_rep = np.repeat(idx[sl], c)
        loc = np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c)
        t = cell_tris[np.repeat(starts[pcell[sl]], c) + loc]
        px, py = pts[p_rep, 0:1], pts[p_rep, 1:2]
        ev = d[t, :, 0] * (py - cu[t, :, 1]) - d[t, :, 1] * (px - cu[t, :, 0])  # canonical E
        sg = np.where(ev == 0, fb[t], np.sign(ev) * flip[t])
        cov = (sg[:, 0] == sg[:, 1]) & (sg[:, 1] == sg[:, 2]) & (sg[:, 0] != 0)
        if not np.any(cov):
            continue
        p_rep, t, ev, o = p_rep[cov], t[cov], ev[cov] * flip[t[cov]], sg[cov, 0]
        den = ev.sum(1)  # natural-order edge functions: E_ab, E_bc, E_ca
        zt = z[t]
        num = ev[:, 1] * zt[:, 0] + ev[:, 2] * zt[:, 1] + ev[:, 0] * zt[:, 2]
        zz = np.divide(num, den, out=np.full(len(den), -np.inf), where=den != 0)
        above = zz > pts[p_rep, 2]
        w += np.bincount(p_rep, weights=o * above, minlength=len(pts))
    return np.rint(w) != 0


def winding_number(mesh: "AssetMesh", points: np.ndarray, chunk: int = 2_000_000) -> np.ndarray:
    """(P,) generalized winding number (Van Oosterom-Strackee solid angles / 4 pi); ~1 inside,
    ~0 outside a closed outward mesh. O(P * F) — use for checks, not for big queries."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    tri = mesh.vertices[mesh.faces]
    out = np.zeros(len(pts))
    step = max(1, chunk // max(1, len(tri)))
    for s in range(0, len(pts), step):
        p = pts[s : s + step, None, :]
        a, b, c = tri[None, :, 0] - p, tri[None, :, 1] - p, tri[None, :, 2] - p
        la, lb, lc = (np.linalg.norm(x, axis=2) for x in (a, b, c))
        det = np.einsum("pfk,pfk->pf", a, np.cross(b, c))
        den = (la * lb * lc + np.einsum("pfk,pfk->pf", a, b) * lc
               + np.einsum("pfk,pfk->pf", b, c) * la + np.einsum("pfk,pfk->pf", c, a) * lb)
        out[s : s + step] = 2.0 * np.arctan2(det, den).sum(1) / (4.0 * np.pi)
    return out
