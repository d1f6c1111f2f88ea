"""Vid2Sim Stage II, scene-specific refinement (§4.2, §5.2), on the reduced-order LBS simulator.

Order of §5.2: (1) refine the Gaussians on the first frame (3DGS photometric loss; appearance only:
the canonical centres are the stand-in for LGM's geometry and one view cannot fix depth), then — a
bench addition, the datasets' drops have a random launch velocity — fit v0 on the free-flight frames
(``fit_launch_velocity``); (2) train the full LBS MLP data-free (Simplicits) from the Stage I estimate
and, when enabled, fit the Neural Jacobian (eq. 5), then, optionally (``E_scan``, a bench addition),
line-search log10 E on the observed frames (``scan_stiffness``); (3) jointly optimise {theta_lbs, theta_jac, E, nu} (+ v0, a bench addition) with Adam on the rendering
loss of eq. 6 over random windows of ``window`` (Delta s = 4) frames, s drawn from [s', T_obs - 1 - Delta s]
with s' the first frame whose rendering differs from the video. The rollout of each iteration runs
from frame 0 with gradients (implicit-Euler adjoint of ``physics.reduced``: one dense solve per step),
so the window loss reaches E, nu and v0 through the whole prefix; only the window's frames are rendered.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from methods.vid2sim.lbs import (JacobianSkinning, NeuralJacobian, fd_operators, finetune_skinning, jacobian_loss,
                                 object_frame, random_handle_perturbations, train_jacobian, volume_samples)


@dataclass
class Scene:
    """Per-object geometry, appearance and the reduced model's sampling (world frame, frame 0 = rest)."""

    means0: np.ndarray  # (M, 3) Gaussian centres = query points of the simulator
    colors: np.ndarray  # (M, 3)
    scales: np.ndarray  # (M,) isotropic std (m)
    opacities: np.ndarray  # (M,)
    X: np.ndarray  # (n_volume, 3) volume samples (LBS training)
    cub_X: np.ndarray  # (n_cubature, 3) cubature points
    cub_V: np.ndarray  # (n_cubature,) their volumes
    center: np.ndarray  # LBS object frame
    scale: float
    ground: float
    gravity: tuple[float, float, float]


def build_scene(canonical: dict[str, np.ndarray], object_id: str, world: dict[str, Any], cfg: dict[str, Any]) -> Scene:
    """Volume samples (hash-seeded by object id), farthest-point cubature and the LBS object frame."""
    from physics.spring_mass.anchors import object_seed
    from physics.reduced import cubature_points

    means = np.asarray(canonical["means"], np.float64)
    X, vol = volume_samples(means, int(cfg["n_volume"]), object_seed(object_id), int(cfg["fill_res"]),
                            str(cfg["volume_sampling"]))
    cx, cv = cubature_points(X, int(cfg["n_cubature"]), vol, seed=int(cfg["seed"]))
    center, scale = object_frame(X)
    s = np.asarray(canonical["scales"], np.float32)
    return Scene(means, np.asarray(canonical["colors"], np.float32), (s.mean(-1) if s.ndim == 2 else s).astype(np.float32),
                 np.asarray(canonical["opacities"], np.float32).reshape(-1), X, cx, cv, center, scale,
                 float(world.get("ground", {}).get("height", 0.0)), tuple(world.get("gravity", (0.0, 0.0, -9.81))))


def reduced_params(cfg: dict[str, Any], scene: Scene, fps: float) -> Any:
    """ReducedParams of the method's simulator: assumed density and friction, implicit Euler at fps x substeps."""
    from physics.reduced import ReducedParams

    sub = int(cfg["substeps"])
    return ReducedParams(density=float(cfg["density"]), gravity=scene.gravity, dt=1.0 / (fps * sub), substeps=sub,
                         ground=True, ground_height=scene.ground, floor_stiffness=float(cfg["floor_stiffness"]),
                         friction=float(cfg["friction"]))


def rollout(model: Any, scene: Scene, params: Any, n_frames: int, E: Any, nu: Any, v0: Any,
            fallback_tol: float | None = None) -> Any:
    """simulate_reduced from rest with the rigid handle's translation velocity v0 (m/s).

    With ``fallback_tol`` (no-gradient rollouts: the final prediction, the observed-loss scan), a Newton
    solve that stalls above ``params.newton_tol`` (SimulationDiverged) is retried once with that looser
    relative tolerance and 3x the iterations, instead of failing the sample: near the floor's contact
    kink (lagged friction) Newton can stall at a residual ~1e-6, far below anything visible in a render.
    """
    from dataclasses import replace

    from physics.errors import SimulationDiverged
    from physics.reduced import simulate_reduced, translation_velocity

    zdot0 = translation_velocity(model.n_total, v0, model.center.dtype)
    try:
        return simulate_reduced(model, scene.cub_X, scene.cub_V, scene.means0, params, n_frames, zdot0=zdot0, E=E, nu=nu)
    except SimulationDiverged:
        if fallback_tol is None or fallback_tol <= params.newton_tol:
            raise
    loose = replace(params, newton_tol=float(fallback_tol), newton_max_iter=3 * int(params.newton_max_iter))
    return simulate_reduced(model, scene.cub_X, scene.cub_V, scene.means0, loose, n_frames, zdot0=zdot0, E=E, nu=nu)


def render_rgba(points: Tensor, F: Tensor | None, app: dict[str, Tensor], camera, background) -> Tensor:
    """(H, W, 4) render of the Gaussians at ``points``; with F, covariances s^2 F F^T (Vid2Sim §3, L' = F R S)."""
    from render.splat import render_gaussians

    cov = None
    if F is not None:
        Ff = F.to(torch.float32)
        cov = (app["scales"] ** 2)[:, None, None] * (Ff @ Ff.transpose(-1, -2))
    out = render_gaussians(points.to(torch.float32), app["scales"], app["colors"], app["opacities"], camera,
                           background=tuple(background), covariances=cov)
    return torch.cat([out["rgb"], out["alpha"][..., None]], dim=-1)


def appearance(scene: Scene) -> dict[str, Tensor]:
    """Colours, isotropic scales and opacities of the Gaussians as tensors (the renderer's inputs)."""
    return {"colors": torch.as_tensor(scene.colors), "scales": torch.as_tensor(scene.scales),
            "opacities": torch.as_tensor(scene.opacities)}


def frame_loss(pred: Tensor, target: Tensor, lambda_alpha: float) -> Tensor:
    """||C_pred - C_gt||^2 per pixel (eq. 6) + lambda_alpha x the alpha (mask) term."""
    d = (pred - target) ** 2
    return d[..., :3].mean() + lambda_alpha * d[..., 3].mean()


def refine_gaussians(scene: Scene, target0: Tensor, camera, background, cfg: dict[str, Any]) -> list[float]:
    """3DGS refinement on frame 0 (§4.2): Adam on colour / opacity / log-scale residuals (centres fixed)."""
    app0 = appearance(scene)
    res = {k: torch.zeros_like(v, requires_grad=True) for k, v in app0.items()}
    opt = torch.optim.Adam(list(res.values()), lr=float(cfg["lr_gs"]))
    means = torch.as_tensor(scene.means0)
    hist: list[float] = []

    def current() -> dict[str, Tensor]:
        return {"colors": (app0["colors"] + res["colors"]).clamp(0, 1),
                "opacities": (app0["opacities"] + res["opacities"]).clamp(0, 1),
                "scales": app0["scales"] * torch.exp(res["scales"])}

    for _ in range(int(cfg["gs_steps"])):
        loss = frame_loss(render_rgba(means, None, current(), camera, background), target0, float(cfg["lambda_alpha"]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        hist.append(float(loss.detach()))
    with torch.no_grad():
        final = float(frame_loss(render_rgba(means, None, current(), camera, background), target0,
                                 float(cfg["lambda_alpha"])))
        if hist and final < hist[0]:  # keep the refined appearance only if it fits frame 0 better
            out = current()
            scene.colors, scene.opacities, scene.scales = (out[k].numpy().astype(np.float32)
                                                           for k in ("colors", "opacities", "scales"))
    return hist


@dataclass
class Estimate:
    """Physical state of one object: E (Pa), nu, v0 (m/s), the LBS MLP and (optionally) the Neural Jacobian."""

    E: float
    nu: float
    v0: np.ndarray
    lbs: Any
    jac: Any = None
    history: dict[str, Any] = field(default_factory=dict)

    def sim_model(self) -> Any:
        """What the simulator skins with: the LBS MLP, with J_theta for its Jacobian when present (eq. 5)."""
        return JacobianSkinning(self.lbs, self.jac) if self.jac is not None else self.lbs


def observed_loss(scene: Scene, est: Estimate, targets: Tensor, camera, background, fps: float,
                  cfg: dict[str, Any]) -> np.ndarray:
    """Per-frame eq. 6 loss of a full observed rollout (no gradients); frame 0 included."""
    with torch.no_grad():
        res = rollout(est.sim_model(), scene, reduced_params(cfg, scene, fps), int(targets.shape[0]), est.E, est.nu, est.v0,
                      fallback_tol=cfg["newton_fallback_tol"])
        app = appearance(scene)
        deform = bool(cfg["deform_covariances"])
        return np.array([float(frame_loss(render_rgba(res.positions[t], res.F[t] if deform else None, app, camera,
                                                      background), targets[t], float(cfg["lambda_alpha"])))
                         for t in range(targets.shape[0])])


def prepare_lbs(scene: Scene, est: Estimate, cfg: dict[str, Any]) -> None:
    """§5.2: data-free training of the full LBS MLP from the Stage I estimate, then the Neural Jacobian."""
    seed = int(cfg["seed"])
    est.history["lbs_pre"] = finetune_skinning(est.lbs, scene.X, est.nu, cfg, int(cfg["lbs_steps"]), seed)
    if bool(cfg["neural_jacobian"]):
        lbs = est.lbs
        est.jac = NeuralJacobian(lbs.n_handles, lbs.center, lbs.scale, int(cfg["jac_width"]), seed)
        est.history["jac_pre"] = train_jacobian(lbs, est.jac, scene.X, cfg, int(cfg["jac_steps"]), seed + 1)


def fit_launch_velocity(scene: Scene, est: Estimate, targets: Tensor, camera, background, fps: float,
                        cfg: dict[str, Any]) -> list[float]:
    """Bench addition: refine v0 on the frames before the first floor contact, where the motion is rigid.

    The simulator's free flight is closed-form (implicit Euler, n = frame x substeps steps of dt):
    x_n = X + v0 n dt + g dt^2 n (n + 1) / 2; Adam on eq. 6 over up to ``v0_frames`` such frames
    (contact time re-solved from the current v0 each step). Renders only; no simulation needed.
    """
    sub = int(cfg["substeps"])
    dt = 1.0 / (fps * sub)
    means = torch.as_tensor(scene.means0, dtype=torch.float64)
    g = torch.as_tensor(scene.gravity, dtype=torch.float64)
    gap = float(means[:, 2].min()) - scene.ground
    v0 = torch.tensor(np.asarray(est.v0, np.float64), requires_grad=True)
    opt = torch.optim.Adam([v0], lr=float(cfg["lr_v0_fit"]))
    app, hist = appearance(scene), []
    last = min(int(cfg["v0_frames"]), int(targets.shape[0]) - 1)
    for _ in range(int(cfg["v0_steps"])):
        vz = float(v0.detach()[2])
        frames = [k for k in range(1, last + 1)  # lowest point still above the floor at frame k
                  if gap + vz * k * sub * dt + float(g[2]) * dt * dt * k * sub * (k * sub + 1) / 2 > 0]
        if not frames:
            break
        loss = torch.stack([frame_loss(render_rgba(means + v0 * (k * sub * dt) + g * (dt * dt * k * sub * (k * sub + 1) / 2),
                                                   None, app, camera, background), targets[k], float(cfg["lambda_alpha"]))
                            for k in frames]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        hist.append(float(loss.detach()))
    est.v0 = v0.detach().numpy().copy()
    return hist


def scan_stiffness(scene: Scene, est: Estimate, targets: Tensor, camera, background, fps: float,
                   cfg: dict[str, Any]) -> dict[str, Any]:
    """Bench addition before the joint optimisation: a forward-only line search of eq. 6 over all observed
    frames (``observed_loss``, frames 1..T_obs-1) in log10 E within its bounds, ``E_scan`` grid points then
    5 across the best cell (``methods.line_search``); nu, v0 and the LBS stay at the current estimate.
    Adam alone moves log10 E by at most lr x iterations (0.05 x 30 = 1.5) along noisy window gradients
    from the Stage I value, and a Stage I trained from scratch on tens of videos predicts about the mean."""
    from dataclasses import replace

    from methods.line_search import coordinate_search, memoized_loss

    lo, hi = (float(v) for v in cfg["bounds"]["log10_E"])
    loss, cache = memoized_loss(lambda u: float(np.mean(observed_loss(
        scene, replace(est, E=float(10.0 ** (lo + (hi - lo) * u[0]))), targets, camera, background, fps, cfg)[1:])))
    u0 = np.array([np.clip((np.log10(est.E) - lo) / (hi - lo), 0.0, 1.0)])
    u = coordinate_search(loss, u0, (0,), int(cfg["E_scan"]))
    est.E = float(10.0 ** (lo + (hi - lo) * u[0]))
    return {"log10_E": lo + (hi - lo) * float(u[0]), "loss": loss(u), "start_loss": loss(u0), "rollouts": len(cache)}


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return float(np.log(p / (1 - p)))


def refine_physics(scene: Scene, est: Estimate, targets: Tensor, camera, background, fps: float,
                   cfg: dict[str, Any], log=None) -> Estimate:
    """Joint Adam on {theta_lbs, theta_jac, log10 E, nu (+ v0)} with eq. 6 over random Delta s windows."""
    from physics.errors import SimulationDiverged

    t_obs = int(targets.shape[0])
    lo_e, hi_e = (float(v) for v in cfg["bounds"]["log10_E"])
    lo_n, hi_n = (float(v) for v in cfg["bounds"]["nu"])
    log_e = torch.tensor(np.log10(est.E), dtype=torch.float64, requires_grad=True)
    nu_raw = torch.tensor(_logit((est.nu - lo_n) / (hi_n - lo_n)), dtype=torch.float64, requires_grad=True)
    v0 = torch.tensor(np.asarray(est.v0, np.float64), requires_grad=bool(cfg["optimize_v0"]))
    groups = [{"params": [log_e], "lr": float(cfg["lr_log10_E"])}, {"params": [nu_raw], "lr": float(cfg["lr_nu"])},
              {"params": list(est.lbs.parameters()), "lr": float(cfg["lr_lbs"])}]
    if est.jac is not None:
        groups.append({"params": list(est.jac.parameters()), "lr": float(cfg["lr_jac"])})
    if v0.requires_grad:
        groups.append({"params": [v0], "lr": float(cfg["lr_v0"])})
    opt = torch.optim.Adam(groups)
    params = reduced_params(cfg, scene, fps)
    app = appearance(scene)
    lam_a, deform, win = float(cfg["lambda_alpha"]), bool(cfg["deform_covariances"]), int(cfg["window"])
    per_frame = observed_loss(scene, est, targets, camera, background, fps, cfg)
    differs = np.nonzero(per_frame[1:] > float(cfg["start_tol"]))[0]
    s_first = int(differs[0]) + 1 if len(differs) else 1  # s': first frame where C_pred differs from C_gt
    s_first = min(s_first, max(1, t_obs - 1))
    s_last = max(s_first, t_obs - 1 - win)
    rng = np.random.default_rng([int(cfg["seed"]), 7])
    gen = torch.Generator().manual_seed(int(cfg["seed"]) + 3)
    Xj = torch.as_tensor(scene.X[: int(cfg["jac_points"])], dtype=torch.float64)
    hist: dict[str, list] = {"loss": [], "window": [], "log10_E": [], "nu": [], "diverged": 0}
    for it in range(int(cfg["iterations"])):
        s = int(rng.integers(s_first, s_last + 1))
        frames = list(range(s, min(s + win, t_obs - 1) + 1))
        nu = lo_n + (hi_n - lo_n) * torch.sigmoid(nu_raw)
        try:
            res = rollout(est.sim_model(), scene, params, frames[-1] + 1, 10.0 ** log_e, nu, v0)
        except SimulationDiverged as exc:  # a step of Adam went too far: skip it, keep the parameters
            hist["diverged"] += 1
            if log:
                log(f"iteration {it}: diverged ({exc})")
            continue
        loss = torch.stack([frame_loss(render_rgba(res.positions[t], res.F[t] if deform else None, app, camera,
                                                   background), targets[t], lam_a) for t in frames]).mean()
        total = loss
        if est.jac is not None and float(cfg["lambda_jacobian"]) > 0:  # keep J_theta consistent with the LBS
            A = random_handle_perturbations(est.lbs.n_total, scene.scale, cfg, gen, torch.float64)
            W, D = fd_operators(est.lbs, Xj)  # the current LBS is the target (no gradient into it)
            total = total + float(cfg["lambda_jacobian"]) * jacobian_loss(est.jac, Xj, W, D, est.lbs.center, A)
        opt.zero_grad()
        total.backward()
        opt.step()
        with torch.no_grad():
            log_e.clamp_(lo_e, hi_e)
        hist["loss"].append(float(loss.detach()))
        hist["window"].append(s)
        hist["log10_E"].append(float(log_e.detach()))
        hist["nu"].append(float(nu.detach()))
        if log:
            log(f"iteration {it}: window {frames[0]}-{frames[-1]} loss {hist['loss'][-1]:.5f} log10 E {hist['log10_E'][-1]:.3f}")
    est.E = float(10.0 ** log_e.detach())
    est.nu = float(lo_n + (hi_n - lo_n) * torch.sigmoid(nu_raw.detach()))
    est.v0 = v0.detach().numpy().copy()
    est.history["joint"] = {**hist, "observed_loss_before": per_frame.tolist()}
    return est
