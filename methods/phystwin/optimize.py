"""PhysTwin's sparse-to-dense physics optimisation (paper §B.2.a).

1. Zero-order: CMA-ES (Hansen 2006, the ``cma`` package) over the topology (spring radius, max
   neighbours) and homogeneous physics (log10 Y, log10 zeta, drag, friction, restitution), each
   candidate scored by a forward simulation (``physics.spring_mass.simulate``) of the observed frames.
2. First-order: Adam on the dense per-spring log Y and on friction / restitution, gradients through
   the differentiable rollout (``rollout_torch``, per-frame checkpointed adjoint); the topology and
   damping found by CMA-ES are kept.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from methods.phystwin.model import DEFAULT_BOUNDS, GRAVITY, Cost, Globals, Twin, build_twin, decode, encode
from physics.errors import SimulationDiverged

DIVERGED = 1e3


def evaluate(nodes, v0, g: Globals, cost: Cost, n_frames: int, fps: float, total_mass: float,
             max_substeps: int, controls=None, twin_kw=None) -> tuple[float, Twin | None]:
    """Cost of one candidate (forward simulation of the observed frames); DIVERGED on failure."""
    try:
        twin = build_twin(nodes, v0, g, total_mass, **(twin_kw or {}))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            xs = twin.rollout(n_frames, fps, controls, max_substeps)
    except (SimulationDiverged, ValueError):
        return DIVERGED, None
    c = cost.numpy(xs)
    return (c if np.isfinite(c) else DIVERGED), twin


def cma_stage(nodes, v0, spacing, cost: Cost, n_frames, fps, total_mass, cfg: dict, controls=None,
              twin_kw=None, log=None) -> tuple[Twin, dict]:
    """CMA-ES over the unit cube of :data:`DEFAULT_BOUNDS` (overridable by ``cfg['bounds']``)."""
    import cma

    bounds = {**DEFAULT_BOUNDS, **{k: tuple(v) for k, v in (cfg.get("bounds") or {}).items()}}
    x_init = Globals(radius=3.0 * spacing, max_neighbors=20, log10_Y=3.0, log10_zeta=0.0, drag=0.05,
                     friction=0.5, restitution=0.5)
    z0 = encode(x_init, bounds, spacing)
    opts = {"bounds": [0.0, 1.0], "popsize": int(cfg["cma_popsize"]), "maxiter": int(cfg["cma_generations"]),
            "seed": int(cfg["seed"]) + 1, "verbose": -9, "tolfun": 1e-7}
    es = cma.CMAEvolutionStrategy(z0, float(cfg["cma_sigma0"]), opts)
    hist, t0 = [], time.perf_counter()
    f0, tw0 = evaluate(nodes, v0, x_init, cost, n_frames, fps, total_mass, cfg["max_substeps"], controls, twin_kw)
    best = (f0, tw0, x_init)
    first = f0
    while not es.stop():
        zs = es.ask()
        fs = []
        for z in zs:
            g = decode(z, bounds, spacing)
            f, tw = evaluate(nodes, v0, g, cost, n_frames, fps, total_mass, cfg["max_substeps"], controls, twin_kw)
            fs.append(f)
            if f < best[0]:
                best = (f, tw, g)
        es.tell(zs, fs)
        hist.append(float(min(fs)))
        if log:
            log(f"cma gen {len(hist)}: best {best[0]:.4f} (gen min {min(fs):.4f})")
    if best[1] is None:
        raise SimulationDiverged(0, "every CMA-ES candidate diverged", 0)
    info = {"initial_cost": float(first), "best_cost": float(best[0]), "generation_min": hist,
            "evaluations": int(es.result.evaluations) + 1, "seconds": time.perf_counter() - t0}
    return best[1], info


def adam_stage(twin: Twin, cost: Cost, n_frames, fps, cfg: dict, controls=None, log=None) -> tuple[Twin, dict]:
    """Adam on per-spring log Y + friction + restitution through ``rollout_torch``; keeps the best iterate."""
    import torch

    from physics.spring_mass import drive_edges, drive_kwargs, rollout_torch

    iters = int(cfg["adam_iterations"])
    if iters <= 0:
        return twin, {"iterations": 0}
    x0 = torch.as_tensor(twin.x0, dtype=torch.float32)
    v0 = torch.as_tensor(np.broadcast_to(twin.v0, twin.x0.shape).copy(), dtype=torch.float32)
    logY = torch.tensor(np.log(twin.Y), dtype=torch.float32, requires_grad=True)
    mu = torch.tensor(float(twin.friction), requires_grad=True)
    e_logit = torch.tensor(float(np.log((np.clip(twin.restitution, 0.02, 0.98)) / (1 - np.clip(twin.restitution, 0.02, 0.98)))),
                           requires_grad=True)
    opt = torch.optim.Adam([{"params": [logY], "lr": float(cfg["adam_lr"])},
                            {"params": [mu, e_logit], "lr": float(cfg["adam_lr_collision"])}])
    drive = twin.control_drive(controls)
    # substeps fixed for the stage: stable for Y up to e^(max shift) times the CMA value
    hi = Twin(**{**twin.__dict__, "Y": twin.Y * float(np.exp(cfg["adam_max_log_shift"]))})
    S = hi.substeps(fps, drive_edges(drive), cfg["max_substeps"])
    base = twin.params()
    best = (np.inf, twin)
    hist, t0 = [], time.perf_counter()
    logY0 = logY.detach().clone()
    for it in range(iters + 1):
        opt.zero_grad()
        with torch.no_grad():
            logY.copy_(torch.clamp(logY, logY0 - cfg["adam_max_log_shift"], logY0 + cfg["adam_max_log_shift"]))
            mu.clamp_(0.0, 2.0)
        try:
            xs = rollout_torch(x0, v0, twin.edges, twin.rest, base, n_frames, fps, S, gravity=GRAVITY,
                               stiffness=torch.exp(logY), **drive_kwargs(drive),
                               friction=mu, restitution=torch.sigmoid(e_logit))
        except SimulationDiverged:
            hist.append(float("nan"))
            break
        loss = cost.torch(xs)
        lv = float(loss.detach())
        hist.append(lv)
        if lv < best[0]:
            best = (lv, Twin(**{**twin.__dict__, "Y": np.exp(logY.detach().double().numpy()),
                                "friction": float(mu.detach()), "restitution": float(torch.sigmoid(e_logit).detach())}))
        if log:
            log(f"adam it {it}: loss {lv:.4f}")
        if it == iters:
            break
        loss.backward()
        opt.step()
    return best[1], {"iterations": iters, "loss": hist, "best_loss": float(best[0]), "substeps": S,
                     "seconds": time.perf_counter() - t0}
