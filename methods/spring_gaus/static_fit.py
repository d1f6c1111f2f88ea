"""Spring-Gaus §4.1 static reconstruction (first frame) and the post-binding refinement (§4.3).

* ``carve_hull``: visual hull of the first-frame masks of the seen views (voxel carving above the
  ground) — the initial point cloud (the paper starts 3DGS from its own init; we have no SfM).
* ``fit_static``: isotropic Gaussians (centre, colour, opacity; one shared scale s0 as the paper
  does during static reconstruction) fitted with our differentiable splat renderer, Adam,
  L1 + λ D-SSIM (eq. 18, λ = 0.2) plus an optional mask L1 term (bench addition).
* ``refine_appearance``: after binding, per-Gaussian scale s_i, colour and opacity are refined with
  the centres fixed at their IDW-bound positions (paper §4.3, "Refine Gaussians").
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from methods.spring_gaus.losses import l1_dssim


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-4, 1 - 1e-4)
    return np.log(p) - np.log1p(-p)


def _axes_center(cameras: Sequence[Any]) -> np.ndarray:
    """Least-squares point closest to every camera's optical axis (where the cameras look)."""
    a, b = np.zeros((3, 3)), np.zeros(3)
    for cam in cameras:
        o, d = cam.c2w[:3, 3], cam.c2w[:3, 2] / np.linalg.norm(cam.c2w[:3, 2])
        p = np.eye(3) - np.outer(d, d)
        a += p
        b += p @ o
    if len(cameras) == 1:  # one axis: take the point at 0.9 x the camera's distance to the ground point
        cam = cameras[0]
        return cam.c2w[:3, 3] + cam.c2w[:3, 2] * 0.9 * np.linalg.norm(cam.c2w[:3, 3])
    return np.linalg.lstsq(a + 1e-9 * np.eye(3), b, rcond=None)[0]


def carve_hull(cameras: Sequence[Any], alphas: dict[str, np.ndarray], ground: float, res: int = 48,
               thr: float = 0.5) -> tuple[np.ndarray, float, dict[str, Any]]:
    """Voxel visual hull from masks: (K,3) occupied voxel centres, voxel size, grid info."""
    from render.cameras import project_points

    c = _axes_center(cameras)
    rad = max(np.linalg.norm(cam.c2w[:3, 3] - c) * np.tan(0.5 * cam.fov_x) for cam in cameras)
    lo = c - rad
    lo[2] = max(lo[2], ground)
    hi = c + rad
    size = float((hi - lo).max() / res)
    axes = [lo[i] + size * (np.arange(int(np.ceil((hi[i] - lo[i]) / size))) + 0.5) for i in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1)
    pts = grid.reshape(-1, 3)
    keep = np.ones(len(pts), bool)
    for cam in cameras:
        a = alphas[cam.name]
        uv, z = project_points(pts, cam)
        u, v = np.floor(uv[:, 0]).astype(int), np.floor(uv[:, 1]).astype(int)
        inside = (z > 0) & (u >= 0) & (u < a.shape[1]) & (v >= 0) & (v < a.shape[0])
        ok = np.zeros(len(pts), bool)
        ok[inside] = a[v[inside], u[inside]] >= thr
        keep &= ok
    occ = keep.reshape(grid.shape[:3])
    return pts[keep], size, {"origin": lo, "size": size, "shape": occ.shape, "occ": occ}


def _surface_voxels(info: dict[str, Any]) -> np.ndarray:
    from scipy.ndimage import binary_erosion

    occ = info["occ"]
    shell = occ & ~binary_erosion(occ, iterations=1, border_value=0)
    idx = np.argwhere(shell)
    return info["origin"] + info["size"] * (idx + 0.5)


def _init_colors(points: np.ndarray, cameras: Sequence[Any], rgb0: dict[str, np.ndarray]) -> np.ndarray:
    from render.cameras import project_points

    acc, cnt = np.zeros((len(points), 3)), np.zeros(len(points))
    for cam in cameras:
        im = rgb0[cam.name]
        uv, z = project_points(points, cam)
        u = np.clip(np.floor(uv[:, 0]).astype(int), 0, im.shape[1] - 1)
        v = np.clip(np.floor(uv[:, 1]).astype(int), 0, im.shape[0] - 1)
        acc += im[v, u]
        cnt += 1
    return np.clip(acc / np.maximum(cnt, 1)[:, None], 0.02, 0.98)


def render_views(means, scales, colors, opac, cameras, background):
    """Render one Gaussian set into several cameras: lists of rgb (H,W,3) and alpha (H,W)."""
    from render.splat import render_gaussians

    out = [render_gaussians(means, scales, colors, opac, cam, background=background) for cam in cameras]
    return [o["rgb"] for o in out], [o["alpha"] for o in out]


def fit_static(cameras: Sequence[Any], rgb0: dict[str, np.ndarray], alpha0: dict[str, np.ndarray],
               background: Sequence[float], ground: float, cfg: dict[str, Any],
               rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Fit isotropic Gaussians to the first frame of the seen views (paper §4.1)."""
    from physics.point_sampling import farthest_point_sampling
    from scipy.spatial import cKDTree

    hull, vox, info = carve_hull(cameras, alpha0, ground, res=int(cfg["hull_res"]))
    if len(hull) < 8:
        raise RuntimeError(f"visual hull has only {len(hull)} voxels: masks and cameras disagree")
    surf = _surface_voxels(info)
    cand = surf if len(surf) >= cfg["n_gaussians"] else hull
    cand = cand + rng.uniform(-0.5, 0.5, cand.shape) * vox  # jitter inside the voxel
    n = min(int(cfg["n_gaussians"]), len(cand))
    start = int(rng.integers(len(cand)))
    pts = cand[farthest_point_sampling(cand, n, start)]
    spacing = float(np.mean(cKDTree(pts).query(pts, k=2)[0][:, 1]))
    s0 = float(cfg["static_scale_factor"]) * spacing
    means = torch.tensor(pts, dtype=torch.float32, requires_grad=True)
    col = torch.tensor(_logit(_init_colors(pts, cameras, rgb0)), dtype=torch.float32, requires_grad=True)
    opa = torch.tensor(np.full(n, _logit(0.8)), dtype=torch.float32, requires_grad=True)
    opt = torch.optim.Adam([{"params": [means], "lr": float(cfg["lr_means"]) * vox / 0.02},
                            {"params": [col], "lr": float(cfg["lr_color"])},
                            {"params": [opa], "lr": float(cfg["lr_opacity"])}])
    gts = [torch.as_tensor(rgb0[c.name], dtype=torch.float32) for c in cameras]
    gta = [torch.as_tensor(alpha0[c.name], dtype=torch.float32) for c in cameras]
    scales = torch.full((n,), s0)
    lam, lm = float(cfg["lambda_dssim_static"]), float(cfg["lambda_mask"])
    for _ in range(int(cfg["static_iters"])):
        opt.zero_grad()
        rgbs, alps = render_views(means, scales, torch.sigmoid(col), torch.sigmoid(opa), cameras, background)
        loss = sum(l1_dssim(r, g, lam) + lm * (a - ga).abs().mean() for r, g, a, ga in zip(rgbs, gts, alps, gta))
        loss.backward()
        opt.step()
    op = torch.sigmoid(opa).detach().numpy()
    keep = op >= float(cfg["prune_opacity"])
    if keep.sum() < 8:
        keep = np.argsort(-op)[:8]
    return {"means": means.detach().numpy()[keep].astype(np.float32),
            "colors": torch.sigmoid(col).detach().numpy()[keep].astype(np.float32),
            "opacities": op[keep].astype(np.float32), "scale0": s0, "voxel": vox,
            "hull": hull.astype(np.float32), "final_loss": float(loss.detach())}


def refine_appearance(means_bound: np.ndarray, static: dict[str, np.ndarray], cameras: Sequence[Any],
                      rgb0: dict[str, np.ndarray], alpha0: dict[str, np.ndarray], background: Sequence[float],
                      cfg: dict[str, Any]) -> dict[str, np.ndarray]:
    """Refine per-Gaussian scale s_i, colour, opacity with centres fixed at the bound positions."""
    n = len(means_bound)
    m = torch.as_tensor(means_bound, dtype=torch.float32)
    ls = torch.full((n,), float(np.log(static["scale0"])), requires_grad=True)
    col = torch.tensor(_logit(static["colors"]), dtype=torch.float32, requires_grad=True)
    opa = torch.tensor(_logit(static["opacities"]), dtype=torch.float32, requires_grad=True)
    opt = torch.optim.Adam([{"params": [ls], "lr": float(cfg["lr_scale"])},
                            {"params": [col], "lr": float(cfg["lr_color"])},
                            {"params": [opa], "lr": float(cfg["lr_opacity"])}])
    gts = [torch.as_tensor(rgb0[c.name], dtype=torch.float32) for c in cameras]
    gta = [torch.as_tensor(alpha0[c.name], dtype=torch.float32) for c in cameras]
    lam, lm = float(cfg["lambda_dssim_static"]), float(cfg["lambda_mask"])
    for _ in range(int(cfg["refine_iters"])):
        opt.zero_grad()
        rgbs, alps = render_views(m, torch.exp(ls), torch.sigmoid(col), torch.sigmoid(opa), cameras, background)
        loss = sum(l1_dssim(r, g, lam) + lm * (a - ga).abs().mean() for r, g, a, ga in zip(rgbs, gts, alps, gta))
        loss.backward()
        opt.step()
    return {"means": means_bound.astype(np.float32), "scales": torch.exp(ls).detach().numpy().astype(np.float32),
            "colors": torch.sigmoid(col).detach().numpy().astype(np.float32),
            "opacities": torch.sigmoid(opa).detach().numpy().astype(np.float32)}
