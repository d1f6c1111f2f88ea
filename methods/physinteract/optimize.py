"""PhysInteract joint optimisation (§3.3): per-particle material field + interaction trajectory.

    L_total = L_rec + lambda_reg L_reg                                              (eq. 3)
    L_rec   = sum_t |I^_t - I_t|_1 + l_ssim (1 - SSIM(I^_t, I_t)) + l_mask |M^_t - M_t|_2   (eq. 4)
    L_reg   = |grad Theta_mat|_2 + |T - T^(0)|_2                                     (eq. 5)

Theta_mat is log10 E_p and nu_p per particle (or one global value for the uniform ablation); T is
the contact trajectory (positions of the observed frames; their differences times fps are the
velocity boundary conditions of the controlled particles). Rendering moves the canonical Gaussians
with IDW offsets of the simulated particles (Spring-Gaus eq. 15 weights). AdamW with cosine
annealing (§3.5), at benchmark-scale iteration counts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Scene:
    """Everything the optimisation needs (numpy; torch tensors are made inside)."""

    x0: np.ndarray  # (N,3) filled particles
    vol: np.ndarray  # (N,) m^3
    params: Any  # physics.mpm.MPMParams (E sets the fixed substep count)
    means0: np.ndarray  # (M,3) canonical Gaussian centres
    colors: np.ndarray  # (M,3)
    scales: np.ndarray  # (M,)
    opacities: np.ndarray  # (M,)
    bind_idx: np.ndarray  # (M,k)
    bind_w: np.ndarray  # (M,k)
    edges: np.ndarray  # (E,2) particle kNN graph
    camera: Any
    background: tuple[float, float, float]
    rgb: np.ndarray  # (T_obs,H,W,3) observed monocular frames
    alpha: np.ndarray  # (T_obs,H,W)
    fps: float
    traj0: np.ndarray | None = None  # (T_obs,C,3) initial trajectory
    ctrl_index: np.ndarray | None = None  # (N,)
    v0: np.ndarray = field(default_factory=lambda: np.zeros(3))


def moved_means(scene: Scene, xs: Any) -> Any:
    """Gaussian centres (T,M,3) following particles xs (T,N,3): mu_0 + sum_j w_j (x_j^t - x_j^0)."""
    import torch

    idx = torch.as_tensor(scene.bind_idx)
    w = torch.as_tensor(scene.bind_w, dtype=xs.dtype)
    disp = xs[:, idx, :] - xs[:1, idx, :]
    return torch.as_tensor(scene.means0, dtype=xs.dtype)[None] + (w[None, ..., None] * disp).sum(-2)


def render_frames(scene: Scene, means: Any) -> tuple[Any, Any]:
    """Differentiable mono-view RGB (T,H,W,3) and alpha (T,H,W) of moved Gaussians."""
    import torch

    from render.splat import render_gaussians

    dt = means.dtype
    col = torch.as_tensor(scene.colors, dtype=dt)
    sc = torch.as_tensor(scene.scales, dtype=dt)
    op = torch.as_tensor(scene.opacities, dtype=dt)
    outs = [render_gaussians(means[t], sc, col, op, scene.camera, background=scene.background) for t in range(means.shape[0])]
    return torch.stack([o["rgb"] for o in outs]), torch.stack([o["alpha"] for o in outs])


def smooth_on_graph(g: Any, edges: Any, passes: int) -> Any:
    """``passes`` rounds of neighbourhood averaging g_i <- (g_i + sum_j g_j) / (1 + deg_i) on the kNN graph
    (a Sobolev-style preconditioner: Adam's per-entry scaling otherwise turns weakly observed
    particles' gradients into noise)."""
    import torch

    if passes <= 0 or g.numel() <= 1:
        return g
    i, j = edges[:, 0], edges[:, 1]
    deg = torch.ones_like(g).index_add_(0, i, torch.ones_like(g[i])).index_add_(0, j, torch.ones_like(g[j]))
    for _ in range(passes):
        g = (g.clone().index_add_(0, i, g[j]).index_add_(0, j, g[i])) / deg
    return g


def optimise(scene: Scene, cfg: dict[str, Any], log=print) -> dict[str, Any]:
    """Fit Theta_mat (and T when ``cfg['optimize_trajectory']``); returns the fitted fields and history."""
    import torch

    from methods.spring_gaus.losses import ssim_torch
    from physics.errors import SimulationDiverged
    from physics.mpm import rollout_mpm_torch

    dt = torch.float64
    n = scene.x0.shape[0]
    T = scene.rgb.shape[0]
    lo, hi = (float(v) for v in cfg["log10_E_bounds"])
    n_mat = n if cfg["material_field"] == "per_particle" else 1
    logE = torch.full((n_mat,), float(cfg["log10_E_init"]), dtype=dt, requires_grad=True)
    nu_raw = torch.full((n_mat,), float(np.log(cfg["nu_init"] / (0.45 - cfg["nu_init"]))), dtype=dt, requires_grad=True)
    groups = [{"params": [logE], "lr": float(cfg["lr_material"]), "weight_decay": 0.0},
              {"params": [nu_raw], "lr": float(cfg["lr_nu"]), "weight_decay": 0.0}]
    v0 = torch.as_tensor(np.asarray(scene.v0, np.float64), dtype=dt).reshape(3).clone()
    if scene.traj0 is None and cfg["optimize_v0"]:  # free fall: the unknown launch velocity is fitted too
        v0.requires_grad_(True)
        groups.append({"params": [v0], "lr": float(cfg["lr_v0"]), "weight_decay": 0.0})
    ctrl_d = None
    if scene.traj0 is not None:
        ctrl_d = torch.zeros((T - 1,) + scene.traj0.shape[1:], dtype=dt, requires_grad=bool(cfg["optimize_trajectory"]))
        if cfg["optimize_trajectory"]:
            groups.append({"params": [ctrl_d], "lr": float(cfg["lr_trajectory"]), "weight_decay": float(cfg["weight_decay"])})
    opt = torch.optim.AdamW(groups)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(int(cfg["iterations"]), 1))
    x0 = torch.as_tensor(scene.x0, dtype=dt)
    gt_rgb, gt_a = torch.as_tensor(scene.rgb, dtype=dt), torch.as_tensor(scene.alpha, dtype=dt)
    edges = torch.as_tensor(scene.edges)
    traj0 = None if scene.traj0 is None else torch.as_tensor(scene.traj0, dtype=dt)
    hist: list[dict[str, float]] = []
    best = (np.inf, None)
    for it in range(int(cfg["iterations"])):
        opt.zero_grad()
        E = 10.0 ** logE.clamp(lo, hi)
        nu = 0.45 * torch.sigmoid(nu_raw)
        ctrl = None if traj0 is None else traj0 + torch.cat([torch.zeros_like(traj0[:1]), ctrl_d])
        try:
            xs = rollout_mpm_torch(x0, v0, scene.vol, scene.params, T, scene.fps, E=E.expand(n), nu=nu.expand(n),
                                   controls=ctrl, control_index=scene.ctrl_index)
        except SimulationDiverged as exc:
            log(f"iteration {it}: diverged ({exc}); stopping")
            break
        rgb, a = render_frames(scene, moved_means(scene, xs))
        l1 = (rgb[1:] - gt_rgb[1:]).abs().mean()
        ssim = torch.stack([ssim_torch(rgb[t], gt_rgb[t]) for t in range(1, T)]).mean()
        mask = ((a[1:] - gt_a[1:]) ** 2).mean().sqrt()
        rec = l1 + cfg["lambda_ssim"] * (1.0 - ssim) + cfg["lambda_mask"] * mask  # eq. 4
        smooth = ((logE[edges[:, 0]] - logE[edges[:, 1]]) ** 2).mean() if n_mat > 1 else torch.zeros((), dtype=dt)
        prior = (ctrl_d ** 2).sum(-1).mean() if ctrl_d is not None and cfg["optimize_trajectory"] else torch.zeros((), dtype=dt)
        reg = cfg["lambda_smooth"] * smooth + cfg["lambda_trajectory"] * prior  # eq. 5
        loss = rec + cfg["lambda_reg"] * reg  # eq. 3
        loss.backward()
        bad = 0
        for grp in groups:
            for prm in grp["params"]:
                if prm.grad is not None and not torch.isfinite(prm.grad).all():
                    bad += int((~torch.isfinite(prm.grad)).sum())
                    prm.grad.nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0)
        if bad:
            log(f"iteration {it}: {bad} non-finite gradient entries zeroed")
        if logE.grad is not None:
            logE.grad = smooth_on_graph(logE.grad, edges, int(cfg["grad_smoothing"]))
        if float(rec.detach()) < best[0]:
            best = (float(rec.detach()), (logE.detach().clone(), nu_raw.detach().clone(),
                                 None if ctrl_d is None else ctrl_d.detach().clone(), v0.detach().clone()))
        opt.step()
        sched.step()
        row = {"it": it, **{k: float(v.detach()) for k, v in (("loss", loss), ("rec", rec), ("smooth", smooth), ("prior", prior))},
               "mean_log10_E": float(logE.detach().mean())}
        hist.append(row)
        log(f"it {it:3d} loss {row['loss']:.5f} rec {row['rec']:.5f} log10E {row['mean_log10_E']:.3f}")
    if best[1] is None:
        raise RuntimeError("PhysInteract: no successful simulation during optimisation")
    lE, nr, cd, v0b = best[1]
    E = (10.0 ** lE.clamp(lo, hi)).expand(n).numpy().astype(np.float64)
    nu = (0.45 * torch.sigmoid(nr)).expand(n).numpy().astype(np.float64)
    traj = None if traj0 is None else (traj0 + torch.cat([torch.zeros_like(traj0[:1]), cd])).numpy()
    return {"E": E, "nu": nu, "trajectory": traj, "v0": v0b.numpy(), "history": hist, "best_rec": best[0]}
