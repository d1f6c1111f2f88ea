"""Spring-Gaus §4.2-4.3 dynamics: anchors (eq. 4), springs (eq. 5), binding (eq. 6/15), the
velocity fit on pre-contact frames, and the physics fit through ``rollout_torch`` (eq. 7-17).

Learnable (eq. 16-17 simplification): per-anchor k_i (as log10 k_i = g + δ_i), κ of the soft
vector η (eq. 8), ground friction (eq. 14) [+ restitution with the PhysTwin ground, optional];
fixed anchor mass m0 (total mass / N_A) and damping ζ0 (eq. 17). Everything numeric is numpy /
torch; warp runs inside ``physics.spring_mass``.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from methods.spring_gaus.losses import l1_dssim
from physics.errors import SimulationDiverged

GRAVITY = (0.0, 0.0, -9.81)


# ----------------------------------------------------------------------------------- anchors
def sample_anchors(means: np.ndarray, hull: np.ndarray, vox: float, n_anchors: int,
                   rng: np.random.Generator) -> np.ndarray:
    """Volume sampling V(X) (eq. 4): fill the occupancy of the Gaussian centres, FPS n_anchors.

    Occupancy = voxels holding a centre, dilated once, closed (2) and hole-filled, then eroded once
    (the dilation only bridges gaps between centres; it must not inflate the volume). If that does
    not enclose a volume (open surface), the carved hull voxels within one voxel of a centre are
    added. Candidates outside the convex hull of the centres are dropped: anchors outside the
    reconstructed surface would touch the ground before the rendered object does.
    """
    from scipy.spatial import Delaunay, cKDTree

    from physics.point_sampling import farthest_point_sampling
    from physics.volume_fill import voxel_interior

    cand, enclosed = voxel_interior(means, vox)
    if not enclosed:  # not closed: use the carved hull near the centres
        d = cKDTree(means).query(hull)[0]
        cand = np.concatenate([cand, hull[d <= vox]])
    cand = cand + rng.uniform(-0.25, 0.25, cand.shape) * vox
    try:
        inside = Delaunay(means).find_simplex(cand) >= 0
        if inside.sum() >= n_anchors:
            cand = cand[inside]
    except Exception:  # flat / degenerate centres: keep the voxel candidates
        pass
    n = min(int(n_anchors), len(cand))
    return cand[farthest_point_sampling(cand, n, int(rng.integers(len(cand))))].astype(np.float32)


def make_params(cfg: dict[str, Any], rank: np.ndarray, n_anchors: int, stiffness: Any = 1e3,
                soft_kappa: float | None = None, friction: float | None = None,
                restitution: float | None = None, damping: float | None = None):
    from physics.spring_mass import SpringMassParams

    return SpringMassParams(
        force_law="spring_gaus", stiffness=stiffness, stiffness_mode="anchor" if np.ndim(stiffness) else "auto",
        p_k=float(cfg["p_k"]), soft_kappa=soft_kappa, soft_nc=int(cfg["n_c"]), spring_rank=rank,
        damping=float(cfg["damping"] if damping is None else damping), total_mass=float(cfg["total_mass"]),
        ground_model=cfg["ground_model"], ground_height=float(cfg.get("ground_height", 0.0)),
        friction=float(cfg["init_friction"] if friction is None else friction),
        restitution=float(cfg["init_restitution"] if restitution is None else restitution),
        control_stiffness=float(cfg["control_stiffness"]), max_speed=float(cfg["max_speed"]))


def substeps_for(edges, rest, params, n: int, fps: float, cfg: dict[str, Any], control_edges=None) -> int:
    """Stable substeps per frame (control springs included), clipped to [min_substeps, max_substeps]."""
    from physics.spring_mass import recommend_substeps

    s = recommend_substeps(edges, rest, params, n, fps, safety=float(cfg["substep_safety"]),
                           control_edges=control_edges)
    return int(min(max(s, int(cfg["min_substeps"])), int(cfg["max_substeps"])))


# ---------------------------------------------------------------------------------- rendering
def _render_loss(points: torch.Tensor, app: dict[str, torch.Tensor], cameras: Sequence[Any],
                 rgb: dict[str, torch.Tensor], t: int, background, lam: float, lam_mask: float,
                 alpha: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    from render.splat import render_gaussians

    loss = points.new_zeros(())
    for cam in cameras:
        r = render_gaussians(points, app["scales"], app["colors"], app["opacities"], cam, background=background)
        loss = loss + l1_dssim(r["rgb"], rgb[cam.name][t], lam)
        if lam_mask > 0 and alpha is not None:
            loss = loss + lam_mask * (r["alpha"] - alpha[cam.name][t]).abs().mean()
    return loss / len(cameras)


def _appearance(g: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    n = len(g["means"])
    s = np.broadcast_to(np.asarray(g.get("scales", g.get("scale0")), np.float32), (n,)).copy()
    return {"scales": torch.as_tensor(s), "colors": torch.as_tensor(g["colors"]),
            "opacities": torch.as_tensor(g["opacities"])}


# ----------------------------------------------------------------------------- velocity fit
def contact_frame(z_min: float, v0z: float, fps: float, n_obs: int, ground: float, margin: float) -> int:
    """First frame at which the ballistic lowest point reaches ground + margin (n_obs if never)."""
    for t in range(1, n_obs):
        tt = t / fps
        if z_min + v0z * tt + 0.5 * GRAVITY[2] * tt * tt <= ground + margin:
            return t
    return n_obs


def fit_velocity(static: dict[str, np.ndarray], anchors: np.ndarray, cameras, rgb, fps: float, n_obs: int,
                 background, cfg: dict[str, Any], rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """v0 from the pre-contact frames (paper §4.3, after PAC-NeRF). Before contact the springs are
    at rest and the motion is exactly ballistic, x_t = x_0 + v0 t + g t²/2, so the simulator
    reduces to this closed form (no rollout needed). Returns v0 (3,) and the contact frame."""
    margin = float(cfg["contact_margin"]) * float(static["voxel"])
    z_min, ground = float(anchors[:, 2].min()), float(cfg.get("ground_height", 0.0))
    means0 = torch.as_tensor(static["means"])
    app = _appearance(static)
    v0 = torch.zeros(3, requires_grad=True)
    opt = torch.optim.Adam([v0], lr=float(cfg["lr_v0"]))
    g = torch.tensor(GRAVITY)
    lam = float(cfg["lambda_dssim_dynamic"])
    rgb = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in rgb.items()}
    for it in range(int(cfg["v0_iters"])):
        tc = max(2, contact_frame(z_min, float(v0.detach()[2]), fps, n_obs, ground, margin))
        frames = np.arange(1, tc)
        if len(frames) > int(cfg["frames_per_iter"]):
            frames = np.sort(rng.choice(frames, int(cfg["frames_per_iter"]), replace=False))
        opt.zero_grad()
        loss = 0.0
        for t in frames:
            tt = float(t) / fps
            loss = loss + _render_loss(means0 + v0 * tt + 0.5 * g * tt * tt, app, cameras, rgb, int(t),
                                       background, lam, float(cfg["lambda_mask_dynamic"]), None)
        (loss / len(frames)).backward()
        opt.step()
    v = v0.detach().numpy().astype(np.float32)
    return v, max(2, contact_frame(z_min, float(v[2]), fps, n_obs, ground, margin))


# ------------------------------------------------------------------------------ physics fit
class PhysicsFit:
    """Adam over log10 k_i = g + δ_i, κ, friction (+ restitution / log ζ0 if enabled)."""

    def __init__(self, cfg: dict[str, Any], anchors: np.ndarray, edges, rest, rank, v0: np.ndarray,
                 drive=None) -> None:
        self.cfg, self.anchors, self.edges, self.rest, self.rank = cfg, anchors, edges, rest, rank
        self.drive = drive  # physics.spring_mass.ControlDrive of the observed controls (interaction) or None
        n = len(anchors)
        self.g = torch.tensor(float(cfg["init_log10_stiffness"]), requires_grad=True)
        self.delta = torch.zeros(n, requires_grad=True)
        self.kappa = torch.tensor(float(cfg["init_kappa"]), requires_grad=True)
        self.mu = torch.tensor(float(cfg["init_friction"]), requires_grad=True)
        self.e = torch.tensor(float(cfg["init_restitution"]), requires_grad=True)
        self.logc = torch.tensor(float(np.log(cfg["damping"])), requires_grad=True)
        self.v0 = torch.tensor(v0, dtype=torch.float32, requires_grad=bool(cfg["refine_v0"]))
        groups = [{"params": [self.g], "lr": float(cfg["lr_log10_k"])},
                  {"params": [self.delta], "lr": float(cfg["lr_log10_k_anchor"])},
                  {"params": [self.kappa], "lr": float(cfg["lr_kappa"])},
                  {"params": [self.mu], "lr": float(cfg["lr_friction"])}]
        if cfg["ground_model"] == "phystwin" and cfg["learn_restitution"]:
            groups.append({"params": [self.e], "lr": float(cfg["lr_friction"])})
        if cfg["learn_damping"]:
            groups.append({"params": [self.logc], "lr": float(cfg["lr_log_damping"])})
        if cfg["refine_v0"]:
            groups.append({"params": [self.v0], "lr": 0.2 * float(cfg["lr_v0"])})
        self.opt = torch.optim.Adam(groups)

    def tensors(self) -> list[torch.Tensor]:
        return [self.g, self.delta, self.kappa, self.mu, self.e, self.logc, self.v0]

    def log10_k(self) -> torch.Tensor:
        lo, hi = self.cfg["log10_stiffness_bounds"]
        return torch.clamp(self.g + self.delta, float(lo), float(hi))

    def values(self) -> dict[str, Any]:
        with torch.no_grad():
            return {"stiffness": (10.0 ** self.log10_k().double()).numpy(), "soft_kappa": float(self.kappa),
                    "friction": float(self.mu.clamp(0.0, 2.0)), "restitution": float(self.e.clamp(0.0, 1.0)),
                    "damping": float(torch.exp(self.logc)), "v0": self.v0.detach().numpy().copy()}

    def rollout(self, n_frames: int, fps: float) -> tuple[torch.Tensor, int]:
        from physics.spring_mass import drive_edges, drive_kwargs, rollout_torch

        val = self.values()
        p = make_params(self.cfg, self.rank, len(self.anchors), stiffness=val["stiffness"],
                        soft_kappa=val["soft_kappa"], friction=val["friction"], restitution=val["restitution"],
                        damping=val["damping"])
        sub = substeps_for(self.edges, self.rest, p, len(self.anchors), fps, self.cfg, drive_edges(self.drive))
        xs = rollout_torch(torch.as_tensor(self.anchors), self.v0, self.edges, self.rest, p, n_frames, fps, sub,
                           GRAVITY, stiffness=10.0 ** self.log10_k(), soft_kappa=self.kappa,
                           friction=self.mu.clamp(0.0, 2.0), restitution=self.e.clamp(0.0, 1.0),
                           damping=torch.exp(self.logc), **drive_kwargs(self.drive, 0, n_frames))
        return xs, sub


def coarse_search(fit: PhysicsFit, param: torch.Tensor, grid, loss_fn, n_frames: int, fps: float) -> list:
    """Bench addition: forward-only line search of one scalar (global log10 K, friction) before Adam.

    Why friction too: with the eq. 14 clamp, friction saturates once mu (-v_n)/|v_t| >= 1 at contact
    (the tangential velocity is zeroed), so the loss is flat in mu above ~0.25 and dL/dmu ~ 1e-7
    there; Adam normalises such noise into full-size steps.
    """
    trials = []
    for g in grid:
        with torch.no_grad():
            param.fill_(float(g))
            try:
                xs, _ = fit.rollout(n_frames, fps)
                trials.append((float(loss_fn(xs, None)), float(g)))
            except SimulationDiverged:
                trials.append((float("inf"), float(g)))
    best = min(trials)[1]
    with torch.no_grad():
        param.fill_(best)
    return trials


def fit_physics(anchors: np.ndarray, edges, rest, rank, v0: np.ndarray, binding: dict[str, Any],
                app: dict[str, np.ndarray], cameras, rgb, alpha, fps: float, n_obs: int, background,
                cfg: dict[str, Any], rng: np.random.Generator, log: list, drive=None) -> dict[str, Any]:
    """Fit the physical parameters to all observed frames of the seen views (eq. 18, λ = 0.05).

    ``drive`` (a ``physics.spring_mass.ControlDrive`` of the observed control trajectory) makes every
    rollout follow the observed controls through control springs (interaction samples)."""
    from physics.binding import apply_binding

    fit = PhysicsFit(cfg, anchors, edges, rest, rank, v0, drive)
    a_t = _appearance(app)
    rgb_t = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in rgb.items()}
    al_t = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in alpha.items()}
    lam, lam_m = float(cfg["lambda_dssim_dynamic"]), float(cfg["lambda_mask_dynamic"])
    means0 = binding["means0"]

    def loss_fn(xs: torch.Tensor, frames) -> torch.Tensor:
        frames = range(1, n_obs) if frames is None else frames
        total = xs.new_zeros(())
        for t in frames:
            pts = apply_binding(means0, anchors, xs[int(t)], binding["idx"], binding["w"], mode=binding["mode"])
            total = total + _render_loss(pts, a_t, cameras, rgb_t, int(t), background, lam, lam_m, al_t)
        return total / len(frames)

    for key, param in (("coarse_log10_k", fit.g), ("coarse_friction", fit.mu)):
        if cfg[key]:
            lo, hi, n = cfg[key]
            log.append({key: coarse_search(fit, param, np.linspace(float(lo), float(hi), int(n)), loss_fn, n_obs, fps)})
    good = [t.detach().clone() for t in fit.tensors()]  # the last state whose rollout did not diverge
    for it in range(int(cfg["dyn_iters"])):
        saved = [t.detach().clone() for t in fit.tensors()]
        frames = np.arange(1, n_obs)
        k = int(cfg["frames_per_iter"])
        if len(frames) > k:
            frames = np.sort(rng.choice(frames, k, replace=False))
        try:
            fit.opt.zero_grad()
            xs, sub = fit.rollout(n_obs, fps)
            loss = loss_fn(xs, frames)
            loss.backward()
            good = saved  # this iteration's start state rolled out: a safe state to step back to
            fit.opt.step()
            log.append({"it": it, "loss": float(loss.detach()), "substeps": sub, "log10_k": float(fit.g.detach())})
        except SimulationDiverged as exc:  # step back to the last state that rolled out, halve every lr
            _restore(fit, good)
            for grp in fit.opt.param_groups:
                grp["lr"] *= 0.5
            log.append({"it": it, "diverged": str(exc)[:120]})
    try:  # the last Adam step was never rolled out: keep it only if it does not diverge
        with torch.no_grad():
            fit.rollout(n_obs, fps)
    except SimulationDiverged as exc:
        _restore(fit, good)
        log.append({"final_step_diverged": str(exc)[:120]})
    return fit.values()


def _restore(fit: PhysicsFit, state: list[torch.Tensor]) -> None:
    with torch.no_grad():
        for t, s in zip(fit.tensors(), state):
            t.copy_(s)
