"""PhysTwin appearance (paper §B.2.b): isotropic Gaussians fitted at frame 0, deformed by LBS.

Gaussians are initialised at the fused frame-0 depth points (colour of their pixel) plus the
surface cells of the carved hull that no view saw (colour of the nearest observed point), then
their colour, isotropic scale, opacity (and, with ``lr_means`` > 0, their centres, as 3DGS does)
are fitted to the seen views of frame 0 with our differentiable splat renderer: the paper's
C_render, (1 - λ) L1 + λ D-SSIM on RGB (λ = ``lambda_dssim``, 0.2 as 3DGS; SSIM in the 3DGS
Gaussian-11 convention, ``methods.spring_gaus.losses.ssim_torch``), + L1 on the mask. Over time
they follow the mass nodes with linear blend skinning (``physics.binding.apply_binding(mode="lbs")``,
IDW weights).
"""
from __future__ import annotations

import numpy as np

from methods.phystwin.perception import voxel_downsample


def init_gaussians(points0: np.ndarray, colors0: np.ndarray, hull: np.ndarray, budget: int,
                   scale_factor: float = 0.9) -> dict[str, np.ndarray]:
    """Centres (voxel-downsampled observed points + unseen hull-shell cells), colours, scales, opacity."""
    from scipy.spatial import cKDTree

    means = voxel_downsample(points0, budget)
    tree = cKDTree(points0)
    spacing = float(np.median(cKDTree(means).query(means, k=2)[0][:, 1])) if len(means) > 1 else 0.02
    extra = np.zeros((0, 3))
    if len(hull):
        d = tree.query(hull)[0]
        shell = hull[d > 2.0 * spacing]
        if len(shell):
            extra = voxel_downsample(shell, max(1, budget // 4))
    allm = np.concatenate([means, extra])
    col = colors0[tree.query(allm, k=4)[1]].mean(1)
    return {"means": allm, "colors": np.clip(col, 0.02, 0.98), "scales": np.full(len(allm), scale_factor * spacing),
            "opacities": np.full(len(allm), 0.9)}


def fit_gaussians(g: dict, cameras: list, rgb0: dict, alpha0: dict, background, iterations: int = 60,
                  lr: float = 0.05, log=None, lambda_dssim: float = 0.0, lr_means: float = 0.0) -> tuple[dict, dict]:
    """Adam on colour (logit), log scale, opacity (logit) [and centres] against frame 0 of the seen views."""
    import torch

    from methods.spring_gaus.losses import l1_dssim
    from render.splat import render_gaussians

    if iterations <= 0:
        return g, {"iterations": 0}
    logit = lambda x: torch.logit(torch.as_tensor(np.clip(x, 1e-3, 1 - 1e-3), dtype=torch.float32))  # noqa: E731
    means = torch.as_tensor(g["means"], dtype=torch.float32).requires_grad_(lr_means > 0)
    c = logit(g["colors"]).requires_grad_(True)
    s = torch.log(torch.as_tensor(g["scales"], dtype=torch.float32)).requires_grad_(True)
    o = logit(g["opacities"]).requires_grad_(True)
    groups = [{"params": [c, s, o], "lr": lr}] + ([{"params": [means], "lr": lr_means}] if lr_means > 0 else [])
    opt = torch.optim.Adam(groups)
    tgt = {v: (torch.as_tensor(rgb0[v], dtype=torch.float32), torch.as_tensor(alpha0[v], dtype=torch.float32))
           for v in rgb0}
    s_max = float(np.log(4.0 * np.median(g["scales"])))
    hist = []
    for it in range(iterations):
        opt.zero_grad()
        loss = 0.0
        for cam in cameras:
            r = render_gaussians(means, torch.exp(s), torch.sigmoid(c), torch.sigmoid(o), cam, background=background)
            img, a = tgt[cam.name]
            loss = loss + l1_dssim(r["rgb"], img, lambda_dssim) + 0.5 * (r["alpha"] - a).abs().mean()
        loss.backward()
        opt.step()
        with torch.no_grad():
            s.clamp_(max=s_max)
        hist.append(float(loss.detach()))
    out = {"means": means.detach().double().numpy() if lr_means > 0 else g["means"],
           "colors": torch.sigmoid(c).detach().double().numpy(),
           "scales": torch.exp(s).detach().double().numpy(), "opacities": torch.sigmoid(o).detach().double().numpy()}
    if log:
        log(f"appearance: loss {hist[0]:.4f} -> {hist[-1]:.4f}")
    return out, {"iterations": iterations, "loss_first": hist[0], "loss_last": hist[-1]}


def bind(means0: np.ndarray, nodes0: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    from physics.binding import idw_binding

    return idw_binding(means0, nodes0, k=k, power=2.0)


def deform(means0, nodes0, nodes_t, idx, w) -> np.ndarray:
    """Gaussian centres (T,G,3) following the nodes (T,N,3) by LBS."""
    from physics.binding import anchor_neighbors, apply_binding

    nb = anchor_neighbors(nodes0, k=min(8, len(nodes0) - 1))
    return np.asarray(apply_binding(means0, nodes0, nodes_t, idx, w, mode="lbs", neighbors=nb), np.float32)
