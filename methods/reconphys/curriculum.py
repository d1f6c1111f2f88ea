"""Self-supervised curriculum for the ReconPhys predictor (a bench addition; no GT physics labels).

Trained from scratch on tens of videos with the paper's loop alone (§3.4-3.5), the predictor collapses
to one output for every video: the per-video gradients of eq. 11 w.r.t. stiffness, friction or
restitution are tiny and disagree in sign, and Adam fits their mean (docs/RESULTS.md, ReconPhys). The
paper avoids this with 500 objects x 10 videos and a
pretrained InternViT; here a two-stage warm start gives the network per-video targets first:

A. inversion: for every training video, a forward-only coordinate line search of the same
   photometric loss (eq. 11 on the inference rollout, ``scene.forward_loss``; v0 from
   ``motion.ballistic_v0``) over the decoder's normalised outputs u in [0, 1], in ``invert_order``
   (default friction, stiffness, damping). Mass stays at the centre of its range (the dynamics
   identify K/m only), and by default so does restitution, which the video barely constrains
   (``probes/identifiability.py``). With ``v0_refine: depth`` the search has one more coordinate, a
   shift of v0 along the camera's horizontal viewing direction (``motion.depth_axis``), the component a
   monocular ballistic fit cannot see. Cached per sample in
   ``<checkpoint dir>/inversion.json`` with the settings that made them (resumable; a cache made with
   other settings is refused; workers in parallel processes).
B. distillation: the predictor regresses those targets (MSE on the squashed outputs), optionally on
   mirrored / colour-jittered copies (``distill_augment``) with a cosine learning-rate decay
   (``distill_schedule``) against memorising the training objects.
C. the paper's end-to-end photometric training continues from there (``steps``).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from methods.line_search import coordinate_search, memoized_loss
from methods.reconphys.outputs import MASS_INDEX, MASS_U, search_order, shifted_v0

INVERSION_JSON = "inversion.json"
#: settings that change the inversion targets: a cached inversion.json made with others is refused
INVERSION_KEYS = ("n_anchors", "n_k", "n_b", "p_b", "fill_res", "anchor_fill", "binding_mode", "force_law",
                  "ground_model", "substep_safety", "min_substeps", "max_speed", "control_radius",
                  "control_neighbors", "control_stiffness", "bounds", "contact_margin", "invert_grid", "lambda_alpha",
                  "v0_refine", "v0_span", "invert_order", "invert_tol")
SHIFT_INDEX = 5  # the extra search coordinate of v0_refine: depth (u = 0.5: no shift)


def invert_video(method, item: dict[str, Any]) -> dict[str, Any]:
    """Stage A for one video: coordinate line searches of eq. 11 over u (grid, then a finer grid around
    the best value), forward only. Returns u (5,), the loss there, the v0 used (refined along the
    depth axis with ``v0_refine: depth``) and the number of rollouts."""
    from methods.reconphys.motion import depth_axis
    from methods.reconphys.network import physics_from_u
    from methods.reconphys.simulation import forward_loss

    cfg = method.cfg
    t0 = time.perf_counter()
    v0 = np.asarray(item["motion"]["v0"], np.float64)
    axis, span = depth_axis(item["camera"]), float(cfg["v0_span"])

    def rollout(u: np.ndarray) -> float:
        phys = {k: float(v) for k, v in physics_from_u(u[:5], cfg, None).items() if k != "v0"}
        phys["v0"] = shifted_v0(v0, u[SHIFT_INDEX], axis, span)
        return forward_loss(item["scene"], phys, cfg, item["camera"], item["obs"].background, item["target"],
                            item["obs"].fps, item["obs"].controls)

    loss, cache = memoized_loss(rollout)
    u = np.full(6, 0.5)
    u[MASS_INDEX] = MASS_U
    refine = cfg["v0_refine"] == "depth" and item["obs"].controls is None
    # the shift first: searched after the physics, friction and restitution would already have bent to
    # explain the wrong depth motion (on quick_consistent: eq. 11 0.0022-0.0049 vs 0.0053-0.0117 at the end)
    order = search_order(cfg["invert_order"])
    u = coordinate_search(loss, u, ((SHIFT_INDEX,) if refine else ()) + order, int(cfg["invert_grid"]),
                          tol=float(cfg["invert_tol"]))
    return {"u": [float(x) for x in u[:5]], "loss": loss(u), "rollouts": len(cache),
            "v0": [float(x) for x in shifted_v0(v0, u[SHIFT_INDEX], axis, span)],
            "seconds": time.perf_counter() - t0}


def _invert_path(method_cls: type, config: dict[str, Any], sample_path: str) -> dict[str, Any]:
    """Worker: build the method (``method_cls``, i.e. ReconPhys) and the training item of one sample, invert it."""
    import torch

    method = method_cls(config)
    torch.set_num_threads(1)
    return invert_video(method, method.load_training_set([Path(sample_path)])[0])


def inversion_targets(method, samples: list[Path], out_dir: Path, items: list[dict[str, Any]] | None = None) -> np.ndarray:
    """Stage A for every training video: (n, 5) normalised targets, cached in ``out_dir/inversion.json``
    (computed samples are kept across interruptions; ``invert_workers`` processes in parallel, each
    loading its own sample; one worker inverts ``items``, the already loaded training set, when given)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from core.jsonio import write_json
    from core.progress import progress_bar

    path = Path(out_dir) / INVERSION_JSON
    setting = json.loads(json.dumps({"dataset": str(Path(samples[0]).resolve().parent) if samples else "",
                                     **{k: method.cfg[k] for k in INVERSION_KEYS}}))  # as stored (lists, not tuples)
    doc: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"setting": setting, "samples": {}}
    if doc["setting"] != setting:
        changed = sorted(k for k in setting if doc["setting"].get(k) != setting[k])
        raise ValueError(f"{path}: stage-A targets were made with other settings ({', '.join(changed)}); "
                         "delete the file or train into another --out")
    done: dict[str, Any] = doc["samples"]
    todo = [i for i, p in enumerate(samples) if Path(p).name not in done]
    if todo:
        with progress_bar("reconphys inversion (stage A)", len(todo)) as update:
            def record(k: int, sid: str, rec: dict[str, Any]) -> None:
                done[sid] = rec
                write_json(path, doc)  # atomic: a resume keeps every finished video
                update(k, len(todo), {"sample_id": sid, "status": f"loss {rec['loss']:.4f}"})

            workers = min(int(method.cfg["invert_workers"]), len(todo))
            if workers <= 1:
                import torch

                torch.set_num_threads(int(method.cfg["threads"]))
                for k, i in enumerate(todo, 1):
                    item = items[i] if items is not None else method.load_training_set([Path(samples[i])])[0]
                    record(k, Path(samples[i]).name, invert_video(method, item))
            else:
                config = {k: v for k, v in method.cfg.items() if k not in ("checkpoint", "checkpoint_step")}
                with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
                    futures = {pool.submit(_invert_path, type(method), config, str(samples[i])): Path(samples[i]).name for i in todo}
                    for k, fut in enumerate(as_completed(futures), 1):
                        record(k, futures[fut], fut.result())
    if items is not None and method.cfg["v0_refine"] == "depth":  # later stages roll out from the refined v0
        import torch

        for i, p in enumerate(samples):
            if "v0" in done[Path(p).name]:
                items[i]["motion"]["v0"] = torch.as_tensor(np.asarray(done[Path(p).name]["v0"], np.float32))
    return np.asarray([done[Path(p).name]["u"] for p in samples], np.float32)


def distill_lr_scale(step: int, n_distill: int, schedule: str) -> float:
    """Learning-rate factor at 0-based ``step``: "cosine" decays 1 -> 0 over the stage-B steps
    (0.5 (1 + cos(pi step / n_distill))); "constant" and every later (end-to-end) step: 1."""
    if schedule == "cosine" and step < n_distill:
        return float(0.5 * (1.0 + np.cos(np.pi * step / n_distill)))
    return 1.0


def distill_loss(method, model, item: dict[str, Any], target, rng: np.random.Generator | None = None):
    """Stage B: MSE between the predictor's squashed outputs (5,) and the video's inversion target
    (on an ``augment_video`` copy when ``distill_augment`` is set and an ``rng`` is given)."""
    import torch

    augment_rng = rng if method.cfg["distill_augment"] else None
    raw = method.predictor_logits(model, item["obs"], item["motion"], augment_rng)[0]
    loss = torch.mean((torch.sigmoid(raw) - target) ** 2)
    return loss, {"loss": float(loss.detach()), "substeps": 0.0}
