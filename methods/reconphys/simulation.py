"""ReconPhys simulation side: consistent anchors (§4.1), spring-mass rollout, IDW binding and the
differentiable simulation-rendering loop with self-forcing and truncated backprop (§3.4-3.5).

Canonical Gaussians (the sample's ``asset/gaussians.ply``) stand in for the frozen TRELLIS 3DGS
predictor; their appearance (colour, scale, opacity) stays fixed and only the centres move.
Interaction samples: control trajectories drive the anchors through control springs
(``physics.spring_mass.controls``) in training rollouts and at inference; the predicted physics
stays a feed-forward function of the video.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from physics.spring_mass.anchors import object_seed, sample_anchors  # noqa: F401  (§4.1; shared with datagen)

GRAVITY = (0.0, 0.0, -9.81)


@dataclass
class Scene:
    """Everything fixed per object: anchors, springs, binding and the frozen canonical Gaussians."""

    anchors: np.ndarray  # (N,3)
    edges: np.ndarray  # (S,2)
    rest: np.ndarray  # (S,)
    idx: np.ndarray  # (M,k) IDW binding
    w: np.ndarray  # (M,k)
    means0: np.ndarray  # (M,3)
    colors: np.ndarray  # (M,3)
    scales: np.ndarray  # (M,)
    opacities: np.ndarray  # (M,)
    ground: float


def build_scene(canonical: dict[str, np.ndarray], object_id: str, ground: float, cfg: dict[str, Any]) -> Scene:
    """Anchors (hash-seeded volume sampling), kNN springs (eq. 5) and IDW binding (eq. 6/15)."""
    from physics.binding import idw_binding
    from physics.spring_mass import knn_springs

    means = np.asarray(canonical["means"], np.float32)
    s = np.asarray(canonical["scales"], np.float32)
    anchors = sample_anchors(means, int(cfg["n_anchors"]), object_seed(object_id), int(cfg["fill_res"]),
                             str(cfg["anchor_fill"]))
    edges, rest = knn_springs(anchors, int(cfg["n_k"]))
    idx, w = idw_binding(means, anchors, k=int(cfg["n_b"]), power=float(cfg["p_b"]))
    return Scene(anchors, edges, rest, idx, w, means, np.asarray(canonical["colors"], np.float32),
                 (s.mean(-1) if s.ndim == 2 else s).astype(np.float32),
                 np.asarray(canonical["opacities"], np.float32).reshape(-1), float(ground))


def sm_params(cfg: dict[str, Any], scene: Scene, phys: dict[str, float]):
    """SpringMassParams for plain (float) physical values (force law eq. 9/17, PhysTwin ground)."""
    from physics.spring_mass import SpringMassParams

    return SpringMassParams(force_law=cfg["force_law"], stiffness=float(phys["stiffness"]),
                            damping=float(phys["damping"]), total_mass=float(phys["mass"]),
                            ground_model=cfg["ground_model"], ground_height=scene.ground,
                            friction=float(phys["friction"]), restitution=float(phys["restitution"]),
                            max_speed=float(cfg["max_speed"]), sanity_box=1e3,
                            control_stiffness=float(cfg["control_stiffness"]))


def control_drive(scene: Scene, cfg: dict[str, Any], controls: np.ndarray | None):
    """Control springs of ``controls`` (T,C,3) to the anchors, or None (free fall)."""
    from physics.spring_mass import attach_controls

    return attach_controls(controls, scene.anchors, float(cfg["control_radius"]), int(cfg["control_neighbors"]))


def substeps(cfg: dict[str, Any], scene: Scene, phys: dict[str, float], fps: float, capped: bool = True,
             control_edges: np.ndarray | None = None) -> int:
    """Substeps per frame from the stability estimate; ``max_substeps`` caps training rollouts only."""
    from physics.spring_mass import recommend_substeps

    p = sm_params(cfg, scene, phys)
    s = recommend_substeps(scene.edges, scene.rest, p, len(scene.anchors), fps, float(cfg["substep_safety"]),
                           control_edges=control_edges)
    return int(np.clip(s, int(cfg["min_substeps"]), int(cfg["max_substeps"]) if capped else 10**6))


def simulate_points(scene: Scene, phys: dict[str, Any], cfg: dict[str, Any], n_frames: int, fps: float,
                    controls: np.ndarray | None = None) -> np.ndarray:
    """Inference rollout (no autograd): anchors -> bound Gaussian centres (T, M, 3); ``controls`` (T,C,3)
    drive the object through control springs."""
    from physics.binding import apply_binding
    from physics.spring_mass import drive_edges, drive_kwargs, simulate

    p = sm_params(cfg, scene, phys)
    drive = control_drive(scene, cfg, controls)
    v0 = np.broadcast_to(np.asarray(phys["v0"], np.float32), scene.anchors.shape).copy()
    res = simulate(scene.anchors, v0, scene.edges, scene.rest, p, n_frames=n_frames, fps=fps,
                   substeps=substeps(cfg, scene, phys, fps, False, drive_edges(drive)), gravity=GRAVITY,
                   **drive_kwargs(drive))
    return np.asarray(apply_binding(scene.means0, scene.anchors, res.positions, scene.idx, scene.w,
                                    mode=cfg["binding_mode"]), np.float32)


def _render(points: Tensor, scene: Scene, camera, background) -> Tensor:
    from render.splat import render_gaussians

    out = render_gaussians(points, torch.as_tensor(scene.scales), torch.as_tensor(scene.colors),
                           torch.as_tensor(scene.opacities), camera, background=tuple(background))
    return torch.cat([out["rgb"], out["alpha"][..., None]], dim=-1)


def frame_loss(points: Tensor, scene: Scene, camera, background, target: Tensor, lambda_alpha: float) -> Tensor:
    """Eq. 11 for one frame: RGB MSE + lambda_alpha * alpha MSE of the rendered ``points`` vs ``target`` (H,W,4)."""
    diff = (_render(points, scene, camera, background) - target) ** 2
    return diff[..., :3].mean() + lambda_alpha * diff[..., 3].mean()


def rollout_loss(scene: Scene, phys: dict[str, Tensor], cfg: dict[str, Any], camera, background,
                 target: Tensor, fps: float, controls: np.ndarray | None = None) -> tuple[Tensor, dict[str, float]]:
    """Photometric loss (eq. 11) of the self-forced rollout against the observed frames.

    ``phys`` holds differentiable scalars (stiffness, damping, friction, restitution, mass, v0 (3,)).
    Self forcing: every chunk of ``tbptt_frames`` frames starts from the model's own previous simulated
    state; truncated backprop: that state is detached, so gradients reach the physical attributes
    through one chunk of the unrolled dynamics at a time (§3.5). ``target`` (T_obs,H,W,4) RGBA.
    ``controls`` (>= T_obs, C, 3), the observed control trajectory of an interaction video, drive every
    chunk through control springs attached at frame 0 (their rest lengths stay those of frame 0).
    """
    from physics.binding import apply_binding
    from physics.spring_mass import drive_edges, drive_kwargs, rollout_torch

    t_obs = int(target.shape[0])
    chunk = max(1, int(cfg["tbptt_frames"]))
    plain = {k: (v.detach().cpu().numpy() if k == "v0" else float(v.detach())) for k, v in phys.items()}
    p = sm_params(cfg, scene, plain)
    drive = control_drive(scene, cfg, controls)
    sub = substeps(cfg, scene, plain, fps, control_edges=drive_edges(drive))
    # the engine's particle mass is the (constant) current value; K*m/m_pred and zeta*m/m_pred give the
    # same dynamics (they depend on K/m) and carry the gradient to the predicted mass too
    mass_ratio = float(plain["mass"]) / phys["mass"]
    x = torch.as_tensor(scene.anchors, dtype=torch.float32)
    v = phys["v0"].reshape(1, 3).expand(len(scene.anchors), 3)
    lam_a = float(cfg["lambda_alpha"])
    losses, frame = [], 0
    means0 = torch.as_tensor(scene.means0)
    while frame < t_obs - 1:
        n = min(chunk, t_obs - 1 - frame)
        xs, vs = rollout_torch(x, v, scene.edges, scene.rest, p, n_frames=n + 1, fps=fps, substeps=sub,
                               gravity=GRAVITY, stiffness=phys["stiffness"] * mass_ratio,
                               damping=phys["damping"] * mass_ratio,
                               friction=phys["friction"], restitution=phys["restitution"], return_velocities=True,
                               **drive_kwargs(drive, frame, frame + n + 1))
        for j in range(1, n + 1):
            pts = apply_binding(means0, scene.anchors, xs[j], scene.idx, scene.w, mode=cfg["binding_mode"])
            losses.append(frame_loss(pts, scene, camera, background, target[frame + j], lam_a))
        x, v = xs[-1].detach(), vs[-1].detach()  # self forcing + truncated backprop
        frame += n
    loss = torch.stack(losses).mean()
    return loss, {"loss": float(loss.detach()), "substeps": float(sub)}


def forward_loss(scene: Scene, phys: dict[str, Any], cfg: dict[str, Any], camera, background, target: Tensor,
                 fps: float, controls: np.ndarray | None = None) -> float:
    """Eq. 11 without gradients: the inference rollout (``simulate_points``, uncapped substeps) of the
    observed frames, rendered and compared with ``target`` (T_obs,H,W,4) RGBA over frames 1..T_obs-1;
    ``controls`` (>= T_obs, C, 3) as in ``rollout_loss``.

    Forward only, self forcing changes nothing (each chunk starts from the model's own state), so this
    is ``rollout_loss``'s value up to the substep cap, from the fast simulator.
    """
    t_obs = int(target.shape[0])
    pts = simulate_points(scene, phys, cfg, t_obs, fps, None if controls is None else controls[:t_obs])
    lam_a = float(cfg["lambda_alpha"])
    with torch.no_grad():
        return float(np.mean([float(frame_loss(torch.as_tensor(pts[t]), scene, camera, background, target[t], lam_a))
                              for t in range(1, t_obs)]))
