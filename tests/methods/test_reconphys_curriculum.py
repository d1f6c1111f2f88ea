"""ReconPhys self-supervised curriculum (methods/reconphys/curriculum.py) and volume-sampled anchors.

Independent references: a video rendered by ReconPhys's own simulator from known physics (so the
photometric optimum is known exactly), and the analytic geometry of a torus (its hole must stay empty).
"""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from core.errors import UserError
import torch

from methods.reconphys import ReconPhys
from methods.reconphys.curriculum import INVERSION_JSON, distill_lr_scale, invert_video
from methods.reconphys.network import physics_from_u
from methods.reconphys.simulation import _render, forward_loss, object_seed, rollout_loss, sample_anchors, simulate_points

FAST = {"dim": 32, "enc_width": 8, "enc_size": 32, "tensorboard": False, "invert_grid": 5}


def _plain(phys: dict) -> dict:
    return {k: (v.numpy() if k == "v0" else float(v)) for k, v in phys.items()}


def _self_rendered(m: ReconPhys, item: dict, phys: dict, n: int, observe: bool = False) -> torch.Tensor:
    """(n, H, W, 4) RGBA frames of ``phys`` simulated and rendered by the method itself; with ``observe``
    they also replace the item's monocular observation (what ``fit``'s refinements read)."""
    pts = simulate_points(item["scene"], phys, m.cfg, n, item["obs"].fps)
    with torch.no_grad():
        frames = torch.stack([_render(torch.as_tensor(p), item["scene"], item["camera"], item["obs"].background)
                              for p in pts])
    if observe:
        view = next(iter(item["obs"].rgb))
        item["obs"].rgb[view], item["obs"].alpha[view] = frames[..., :3].numpy(), frames[..., 3].numpy()
    return frames


@pytest.fixture(scope="module")
def tiny_interact(tmp_path_factory):
    from bench.cli import run
    from core.dataset import select_samples

    out = tmp_path_factory.mktemp("rpi") / "tiny_interact"
    assert run(["gen", "--profile", "tiny_interact", "--out", str(out)]) == 0
    return [out / r["sample_id"] for r in select_samples(out, "all")]


@pytest.mark.parametrize("data", ["tiny_train", "tiny_interact"])
def test_forward_loss_equals_the_training_loss(data, request):
    """Free fall, and an interaction video whose observed controls drive the anchors (stage A inverts both)."""
    m = ReconPhys(FAST)
    item = m.load_training_set(request.getfixturevalue(data)[:1])[0]
    assert (item["obs"].controls is not None) == (data == "tiny_interact")
    phys = physics_from_u(np.array([0.3, 0.6, 0.4, 0.7, 0.5]), m.cfg, item["motion"]["v0"])
    with torch.no_grad():
        ref = float(rollout_loss(item["scene"], phys, m.cfg, item["camera"], item["obs"].background, item["target"],
                                 item["obs"].fps, item["obs"].controls)[0])
    got = forward_loss(item["scene"], _plain(phys), m.cfg, item["camera"], item["obs"].background, item["target"],
                       item["obs"].fps, item["obs"].controls)
    assert got == pytest.approx(ref, rel=1e-3)


def test_inversion_recovers_the_physics_of_a_self_rendered_video(tiny_train):
    """A video made by the method's own simulator and renderer from known u: the line searches must find a
    loss far below the start's and put restitution and stiffness within one coarse grid cell."""
    m = ReconPhys({**FAST, "invert_order": ["restitution", "friction", "log10_stiffness", "log10_damping"]})
    item = m.load_training_set(tiny_train[:1])[0]
    u_true = np.array([0.3, 0.5, 0.5, 0.9, 0.5])
    item["motion"]["v0"] = torch.tensor([0.3, 0.0, 0.0])  # sideways throw: friction acts after the bounce
    phys = _plain(physics_from_u(u_true, m.cfg, item["motion"]["v0"]))
    item["target"] = _self_rendered(m, item, phys, 16)  # longer than the observed part: a second contact
    rec = invert_video(m, item)
    u = np.asarray(rec["u"])
    start = forward_loss(item["scene"], _plain(physics_from_u(np.full(5, 0.5), m.cfg, item["motion"]["v0"])), m.cfg,
                         item["camera"], item["obs"].background, item["target"], item["obs"].fps)
    assert rec["loss"] < 0.25 * start, (rec, start)
    assert abs(u[3] - u_true[3]) <= 0.2 and abs(u[0] - u_true[0]) <= 0.2, u
    assert u[4] == 0.5  # mass is not searched (the dynamics identify K/m only)


def test_depth_v0_refinement_recovers_the_unseen_velocity_component(tiny_train):
    """``v0_refine: depth``: a self-rendered video thrown along the camera's ground-plane viewing direction;
    starting from a v0 that misses that component by 0.3 m/s (what a monocular ballistic fit gets wrong),
    the inference-time line search (physics fixed at the truth) lands within one fine grid step of the
    truth, and stage A run with the same error recovers it too."""
    from methods.reconphys.motion import depth_axis

    m = ReconPhys({**FAST, "v0_refine": "depth", "v0_span": 0.6, "invert_grid": 9})
    item = m.load_training_set(tiny_train[:1])[0]
    axis = depth_axis(item["camera"])
    assert abs(axis[2]) < 1e-12 and abs(np.linalg.norm(axis) - 1) < 1e-9
    v_true = (0.3 * axis).astype(np.float32)
    phys = {k: float(v) for k, v in physics_from_u(np.array([0.3, 0.5, 0.5, 0.5, 0.5]), m.cfg, None).items()
            if k != "v0"}
    phys["v0"] = v_true
    frames = _self_rendered(m, item, phys, item["obs"].n_observed, observe=True)
    obs = item["obs"]
    got = m.refine_v0(item["scene"], {**phys, "v0": [0.0, 0.0, 0.0]}, obs)
    step = 2 * 0.6 / 9 / 4  # fine grid step (m/s)
    assert abs(float(np.dot(got, axis)) - 0.3) <= step + 1e-6, got
    assert np.linalg.norm(got - np.dot(got, axis) * axis) < 1e-6  # only the depth component moves
    item["target"] = frames
    item["motion"]["v0"] = torch.zeros(3)
    rec = invert_video(m, item)
    assert abs(float(np.dot(rec["v0"], axis)) - 0.3) <= 2 * step + 1e-6, rec


def test_curriculum_training_separates_videos_and_resumes(tiny_train, tmp_path):
    """Stage A caches one target per training video (resumable); stage B regresses them: the loss falls and
    the predictor's outputs follow the targets across videos instead of collapsing to their mean."""
    samples = tiny_train
    ck = tmp_path / "ck"
    cfg = {**FAST, "curriculum": "invert", "invert_grid": 3, "distill_steps": 150, "distill_batch": 4, "steps": 1,
           "save_every": 50, "lr": 3e-3}
    m = ReconPhys(cfg)
    res = m.train(samples, ck)
    assert res["step"] == 151
    doc = json.loads((ck / INVERSION_JSON).read_text())
    inv = doc["samples"]
    assert sorted(inv) == sorted(p.name for p in samples) and doc["setting"]["invert_grid"] == 3
    with (ck / "log.csv").open() as f:
        rows = list(csv.DictReader(f))
    stage_b = [float(r["loss"]) for r in rows if float(r["stage"]) == 1.0]
    assert len(stage_b) == 150 and np.mean(stage_b[-10:]) < 0.5 * np.mean(stage_b[:5])
    targets = np.asarray([inv[p.name]["u"] for p in samples])
    items = m.load_training_set(samples)
    with torch.no_grad():
        preds = np.asarray([torch.sigmoid(m.predictor_logits(m._model, it["obs"], it["motion"]))[0].numpy() for it in items])
    err_model = np.abs(preds - targets)[:, :4].mean()
    err_mean = np.abs(targets.mean(0) - targets)[:, :4].mean()
    assert err_model < 0.5 * err_mean, (err_model, err_mean)
    # resume: targets are read back, not recomputed; targets made with other settings are refused
    doc["samples"] = {k: {**v, "u": [0.5] * 5} for k, v in inv.items()}
    (ck / INVERSION_JSON).write_text(json.dumps(doc))
    ReconPhys({**cfg, "distill_steps": 152}).train(samples, ck)
    assert json.loads((ck / INVERSION_JSON).read_text())["samples"][samples[0].name]["u"] == [0.5] * 5
    with pytest.raises(ValueError, match="n_anchors"):
        ReconPhys({**cfg, "distill_steps": 153, "n_anchors": 30}).train(samples, ck)


def test_distill_cosine_schedule():
    """Stage B's cosine decay: 1 at the first step, 1/2 half-way, -> 0 at the end; 1 after stage B."""
    assert distill_lr_scale(0, 100, "cosine") == 1.0
    assert abs(distill_lr_scale(50, 100, "cosine") - 0.5) < 1e-12
    assert 0.0 < distill_lr_scale(99, 100, "cosine") < 1e-3
    scales = [distill_lr_scale(k, 100, "cosine") for k in range(100)]
    assert all(a > b for a, b in zip(scales, scales[1:]))
    assert distill_lr_scale(100, 100, "cosine") == 1.0 and distill_lr_scale(7, 100, "constant") == 1.0
    with pytest.raises(UserError, match="distill_schedule"):
        ReconPhys({"distill_schedule": "linear"})


def test_volume_anchors_leave_a_torus_hole_empty():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 2 * np.pi, (2, 3000))
    R, r = 0.35, 0.12
    pts = np.stack([(R + r * np.cos(b)) * np.cos(a), (R + r * np.cos(b)) * np.sin(a), r * np.sin(b)], -1)
    for fill in ("volume", "hull"):
        anc = sample_anchors(pts, 60, object_seed("proc/torus/000"), fill=fill)
        rho = np.hypot(anc[:, 0], anc[:, 1])  # the hole is rho < R - r = 0.23
        if fill == "volume":  # within ~1 voxel (0.04 m) of the tube, never in the hole
            assert rho.min() > R - r - 0.05 and np.hypot(rho - R, anc[:, 2]).max() < r + 0.06
            np.testing.assert_array_equal(anc, sample_anchors(pts, 60, object_seed("proc/torus/000"), fill="volume"))
        else:  # the convex-hull fill puts anchors into the hole
            assert rho.min() < 0.1


def test_coordinate_search_tolerance_and_local_span():
    """A separable quadratic with one nearly flat coordinate: with ``tol`` above that coordinate's whole
    loss range it stays at its start while the well-posed one moves to its minimum; with ``span`` every
    evaluated point lies within +- span of the start (a local search around a prediction)."""
    from methods.line_search import coordinate_search

    seen: list[np.ndarray] = []

    def loss(u: np.ndarray) -> float:
        seen.append(u.copy())
        return float((u[0] - 0.3) ** 2 + 1e-5 * (u[1] - 0.9) ** 2)

    u = coordinate_search(loss, np.full(2, 0.5), (1, 0), 9, tol=1e-5)
    assert u[1] == 0.5 and abs(u[0] - 0.3) <= 1 / 9 / 4 + 1e-9, u
    u = coordinate_search(loss, np.full(2, 0.5), (1, 0), 9)
    assert u[1] > 0.8, u  # without the tolerance the flat coordinate follows its tiny slope
    seen.clear()
    u = coordinate_search(loss, np.full(2, 0.5), (0,), 5, span=0.1)
    assert min(s[0] for s in seen) >= 0.4 - 0.1 / 4 - 1e-9 and abs(u[0] - 0.4) <= 0.05 / 2 + 1e-9, u


def test_search_parameter_names_are_checked_with_the_config():
    """Mass is never searched and unknown names are refused when the config is read, not mid-run."""
    for bad in ({"physics_refine": ["log10_mass"]}, {"invert_order": ["stiffness"]}):
        with pytest.raises(UserError, match="unknown search parameters"):
            ReconPhys(bad)
    assert ReconPhys({"physics_refine": ["friction"]}).label.startswith("ReconPhys + eq. 11 refinement")


def test_physics_refinement_recovers_stiffness_and_friction(tiny_train):
    """``physics_refine`` at inference: a self-rendered video thrown sideways (friction acts after the
    bounce) from known physics; starting 0.15 (normalised units) off in stiffness and friction, the local
    line search lands within one fine step of the truth and leaves the other parameters alone."""
    m = ReconPhys({**FAST, "physics_refine": ["log10_stiffness", "friction"], "refine_span": 0.2, "refine_grid": 5})
    item = m.load_training_set(tiny_train[:1])[0]
    u_true = np.array([0.35, 0.5, 0.2, 0.5, 0.5])
    v0 = np.array([0.8, 0.0, 0.0], np.float32)
    phys = {k: float(v) for k, v in physics_from_u(u_true, m.cfg, None).items() if k != "v0"}
    _self_rendered(m, item, {**phys, "v0": v0}, 16, observe=True)
    u_start = u_true + np.array([0.15, 0.0, -0.15, 0.0, 0.0])
    start = {k: float(v) for k, v in physics_from_u(u_start, m.cfg, None).items() if k != "v0"}
    got = m.refine_physics(item["scene"], {**start, "v0": v0.tolist()}, item["obs"])
    step = 2 * 0.2 / 4 / 4  # fine grid step (normalised units)
    lo, hi = m.cfg["bounds"]["log10_stiffness"]
    assert abs((np.log10(got["stiffness"]) - lo) / (hi - lo) - u_true[0]) <= step + 1e-6, got
    assert abs(got["friction"] - u_true[2]) <= step + 1e-6, got
    for k in ("damping", "restitution", "mass"):
        assert got[k] == pytest.approx(start[k], rel=1e-5)
