"""Perception stand-ins of PhysTwin: observed point clouds, lifted 3D tracks, shape completion.

The paper's perception front end (Grounded-SAM2 masks, CoTracker3 2D tracks lifted with depth,
TRELLIS image-to-3D shape prior + registration) cannot run here. Stand-ins, all numpy:

* masks: the dataset's alpha channel (alpha > 0.5), i.e. perfect segmentation;
* observed partial point clouds ``X_t``: depth of every seen view back-projected through the mask
  at pixel centres and fused in world coordinates (paper §B.2.a, "convert the depth observations");
* tracker (CoTracker3 stand-in, :func:`stand_in_tracks`): the observed GT surface material points
  are projected into every seen view, perturbed with Gaussian pixel noise, hidden where they fail a
  depth test against the observed depth map (occlusion) or by random dropout, then lifted back to
  3D with the observed depth at the noisy pixel; per-view lifts of one track are averaged;
* shape prior (TRELLIS stand-in, :func:`carve_hull`): depth-aware visual-hull carving of a voxel
  grid with the seen-view masks and depths; together with the fused first-frame depth points it
  gives the "complete" geometry the mass nodes are sampled from.
"""
from __future__ import annotations

import numpy as np

from render.cameras import backproject_pixels, project_points


def depth_points(depth: np.ndarray, alpha: np.ndarray, cam, rgb: np.ndarray | None = None):
    """World points (P,3) of the masked pixels of one depth map (pixel centres), with colours (P,3)."""
    m = (alpha > 0.5) & (depth > 0)
    v, u = np.nonzero(m)
    uv = np.stack([u + 0.5, v + 0.5], 1)
    pts = backproject_pixels(uv, depth[v, u], cam)
    col = rgb[v, u].astype(np.float64) if rgb is not None else np.zeros_like(pts)
    return pts, col


def fused_clouds(obs, views: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
    """Per observed frame the fused partial cloud of every seen view; colours of frame 0."""
    cams = {c.name: c for c in obs.cameras}
    clouds, col0 = [], None
    for t in range(obs.n_observed):
        ps, cs = [], []
        for v in views:
            rgb = obs.rgb[v][t] if v in obs.rgb else None
            p, c = depth_points(obs.depth[v][t], obs.alpha[v][t], cams[v], rgb)
            ps.append(p)
            cs.append(c)
        clouds.append(np.concatenate(ps) if ps else np.zeros((0, 3)))
        if t == 0:
            col0 = np.concatenate(cs) if cs else np.zeros((0, 3))
    return clouds, col0


def _sample_map(img: np.ndarray, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-pixel lookup of ``img`` at continuous ``uv``; returns values and in-image flags."""
    h, w = img.shape[:2]
    ui, vi = np.floor(uv[:, 0]).astype(np.int64), np.floor(uv[:, 1]).astype(np.int64)
    ok = np.isfinite(uv).all(1) & (ui >= 0) & (ui < w) & (vi >= 0) & (vi < h)
    val = np.zeros(len(uv), img.dtype)
    val[ok] = img[vi[ok], ui[ok]]
    return val, ok


def stand_in_tracks(points: np.ndarray, cameras: list, depth: dict, alpha: dict, noise_px: float = 1.0,
                    dropout: float = 0.1, depth_tol_px: float = 3.0, rng: np.random.Generator | None = None,
                    ) -> tuple[np.ndarray, np.ndarray, dict]:
    """CoTracker3-like 2D tracks of GT material points, lifted to 3D with the observed depth.

    ``points`` (T,M,3) GT surface points of the observed frames; ``depth``/``alpha`` view -> (T,H,W).
    A point is visible in a view at a frame if it projects into the image, onto the mask, and its
    camera z is within ``depth_tol_px`` pixel footprints (z / fx each) of the observed depth there;
    each visible (view, frame, point) is then dropped with probability ``dropout``. The noisy pixel
    (``noise_px`` std, both axes) is back-projected with the depth map at that pixel (a track whose
    noisy pixel leaves the mask is lost). Returns lifted tracks (T,M,3) (mean over the views that see
    the point, NaN where none), visibility (T,M) and per-view statistics.
    """
    rng = rng or np.random.default_rng(0)
    pts = np.asarray(points, np.float64)
    T, M = pts.shape[:2]
    acc = np.zeros((T, M, 3))
    cnt = np.zeros((T, M))
    stats = {"occluded": 0, "dropped": 0, "visible": 0, "total": 0}
    for cam in cameras:
        for t in range(T):
            uv, z = project_points(pts[t], cam)
            d, inside = _sample_map(depth[cam.name][t], uv)
            a, _ = _sample_map(alpha[cam.name][t], uv)
            tol = depth_tol_px * np.maximum(z, 1e-6) / cam.fx
            vis = inside & (a > 0.5) & (d > 0) & (np.abs(z - d) <= tol)
            drop = rng.random(M) < dropout
            stats["total"] += M
            stats["occluded"] += int((~vis).sum())
            stats["dropped"] += int((vis & drop).sum())
            vis &= ~drop
            uvn = uv + rng.normal(0.0, noise_px, uv.shape) if noise_px > 0 else uv
            dn, ok = _sample_map(depth[cam.name][t], uvn)
            an, _ = _sample_map(alpha[cam.name][t], uvn)
            vis &= ok & (dn > 0) & (an > 0.5)
            if vis.any():
                acc[t, vis] += backproject_pixels(uvn[vis], dn[vis], cam)
                cnt[t, vis] += 1
            stats["visible"] += int(vis.sum())
    visible = cnt > 0
    tracks = np.full((T, M, 3), np.nan)
    tracks[visible] = acc[visible] / cnt[visible][:, None]
    return tracks, visible, stats


def carve_hull(cloud0: np.ndarray, cameras: list, depth0: dict, alpha0: dict, n_cells: int = 4000,
               margin: float = 0.15, tol_px: float = 2.0, ground: float = 0.0) -> np.ndarray:
    """Depth-aware visual hull: centres of grid cells inside every seen mask and behind its depth.

    The grid spans the bounding box of the fused frame-0 cloud (grown by ``margin`` of its extent,
    clipped at the ground) with about ``n_cells`` cells. A cell survives if, in every seen view, it
    projects into the image onto the mask and its camera z is >= the observed depth minus
    ``tol_px`` pixel footprints (it is not in front of the visible surface).
    """
    lo, hi = cloud0.min(0), cloud0.max(0)
    ext = np.maximum(hi - lo, 1e-3)
    lo, hi = lo - margin * ext, hi + margin * ext
    lo[2] = max(lo[2], ground)
    h = float(np.prod(hi - lo) / n_cells) ** (1 / 3)
    axes = [np.arange(lo[i] + h / 2, hi[i], h) for i in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    keep = np.ones(len(grid), bool)
    for cam in cameras:
        uv, z = project_points(grid, cam)
        d, inside = _sample_map(depth0[cam.name], uv)
        a, _ = _sample_map(alpha0[cam.name], uv)
        keep &= inside & (a > 0.5) & (d > 0) & (z >= d - tol_px * np.maximum(z, 1e-6) / cam.fx)
    return grid[keep]


def voxel_downsample(points: np.ndarray, budget: int, iters: int = 30) -> np.ndarray:
    """Centroids of occupied voxels, voxel size searched (bisection) so that at most ``budget`` remain."""
    p = np.asarray(points, np.float64)
    if len(p) <= budget:
        return p.copy()

    def down(size: float) -> np.ndarray:
        key = np.floor((p - p.min(0)) / size).astype(np.int64)
        _, inv = np.unique(key, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        n = inv.max() + 1
        out = np.zeros((n, 3))
        np.add.at(out, inv, p)
        return out / np.bincount(inv, minlength=n)[:, None]

    lo, hi = 1e-6, float(np.ptp(p, 0).max()) + 1e-6
    best = down(hi)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        d = down(mid)
        if len(d) <= budget:
            hi, best = mid, d
        else:
            lo = mid
    return best


def initial_velocity(tracks: np.ndarray, vis: np.ndarray, fps: float, gravity=(0.0, 0.0, -9.81),
                     n_frames: int = 4) -> np.ndarray:
    """Translational v0 (3,) from the first ``n_frames`` frames of the lifted tracks.

    Per frame t the median displacement (x_t - x_0) over the tracks visible at 0 and t (robust to
    the tracker's outliers), then a least-squares ballistic fit d_t = v0 t + g t^2 / 2.
    """
    k = int(min(n_frames, tracks.shape[0]))
    ts, ds = [], []
    for t in range(1, k):
        ok = vis[0] & vis[t]
        if ok.sum() >= 3:
            ts.append(t / fps)
            ds.append(np.median(tracks[t, ok] - tracks[0, ok], axis=0))
    if not ts:
        return np.zeros(3)
    t = np.asarray(ts)
    d = np.asarray(ds) - 0.5 * np.asarray(gravity)[None] * (t ** 2)[:, None]
    return (t[:, None] * d).sum(0) / (t ** 2).sum()
