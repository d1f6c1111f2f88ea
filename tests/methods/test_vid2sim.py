"""Vid2Sim (methods/vid2sim): Stage I training lowers its loss, checkpoints (safetensors) reload to
identical predictions and resume like an uninterrupted run, Stage II lowers the rendering loss
(eq. 6) and moves E toward the GT of a scene simulated by our reduced-order model, the free-flight
v0 fit recovers the launch velocity, the Neural Jacobian (eq. 5) fits the exact LBS Jacobian, `bench run` without a checkpoint fails with one line,
and gen -> train -> run -> eval works end to end on `tiny_reduced` with parameter errors."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.cli import main, run
from methods.base import Query
from methods.training.checkpoints import latest_checkpoint, load_checkpoint
from methods.vid2sim import Vid2Sim, simulate_asset
from methods.vid2sim.lbs import make_skinning
from methods.vid2sim.network import default_last_layer
from methods.vid2sim.refine import (Estimate, appearance, build_scene, observed_loss, prepare_lbs, reduced_params,
                                    refine_physics, render_rgba, rollout)

FAST = {"steps": 4, "save_every": 2, "dim": 32, "head_width": 32, "n_volume": 150, "tensorboard": False}
STAGE2_FAST = {"gs_steps": 3, "lbs_steps": 10, "iterations": 3, "n_cubature": 30, "n_handles": 3}


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A `tiny_reduced` dataset (reduced-order LBS GT: E, nu in sample.json), one train + one test sample."""
    root = tmp_path_factory.mktemp("v2s") / "tiny_reduced"
    assert run(["gen", "--profile", "tiny_reduced", "--out", str(root)]) == 0
    return root


@pytest.fixture(scope="module")
def train_samples(tiny) -> list[Path]:
    from core.dataset import select_samples

    samples = [tiny / r["sample_id"] for r in select_samples(tiny, "train")]
    assert samples
    return samples


# ------------------------------------------------------------------ a scene from our own simulator
GT_E, GT_NU, FPS, N_FRAMES = 2e4, 0.3, 20.0, 10


@pytest.fixture(scope="module")
def synthetic():
    """An ellipsoid shell of 120 coloured Gaussians dropped onto the floor, simulated by physics.reduced
    with known E (its own Simplicits-trained LBS) and rendered from one camera at 40 px."""
    from physics.reduced import train_skinning_weights
    from render.cameras import orbit_cameras

    n = 120
    i = np.arange(n) + 0.5
    phi, th = np.arccos(1 - 2 * i / n), np.pi * (1 + 5 ** 0.5) * i
    u = np.stack([np.cos(th) * np.sin(phi), np.sin(th) * np.sin(phi), np.cos(phi)], 1)
    can = {"means": u * [0.35, 0.3, 0.25] + [0.0, 0.0, 0.33], "colors": (0.5 + 0.45 * np.sign(u) * np.abs(u) ** 0.5),
           "scales": np.full(n, 0.06, np.float32), "opacities": np.ones(n, np.float32)}
    from methods.vid2sim.spec import Vid2SimConfig

    cfg = Vid2SimConfig.model_validate({"n_volume": 200, "n_cubature": 30, "n_handles": 3, "iterations": 20,
                                        "friction": 0.2}).to_dict()
    scene = build_scene(can, "test/ellipsoid", {"ground": {"height": 0.0}, "gravity": [0, 0, -9.81]}, cfg)
    cam = orbit_cameras(1, 2.0, 10.0, target=(0, 0, 0.3), width=40, height=40, fov_deg=40, start_azimuth_deg=-90)[0]
    gt_lbs, _ = train_skinning_weights(scene.X, 3, nu=GT_NU, steps=120, seed=3)
    v0 = np.array([0.1, 0.0, -0.3])
    with torch.no_grad():
        r = rollout(gt_lbs, scene, reduced_params(cfg, scene, FPS), N_FRAMES, GT_E, GT_NU, v0)
        targets = torch.stack([render_rgba(r.positions[k], None, appearance(scene), cam, (1, 1, 1))
                               for k in range(N_FRAMES)])
    assert float(r.positions[:, :, 2].min()) < 0.0  # the drop reaches the floor inside the video
    return {"scene": scene, "cfg": cfg, "cam": cam, "targets": targets, "v0": v0}


def _stage1_estimate(syn, E: float) -> Estimate:
    sc, cfg = syn["scene"], syn["cfg"]
    last = default_last_layer(int(cfg["n_handles"]), int(cfg["lbs_width"]), int(cfg["lbs_depth"]), int(cfg["lbs_seed"]))
    return Estimate(E=E, nu=0.35, v0=syn["v0"].copy(), lbs=make_skinning(cfg, sc.center, sc.scale, last))


def test_stage2_lowers_rendering_loss_and_moves_E_toward_gt(synthetic):
    syn, cfg = synthetic, synthetic["cfg"]
    est = _stage1_estimate(syn, 1e5)
    prepare_lbs(syn["scene"], est, cfg)
    args = (syn["targets"], syn["cam"], (1, 1, 1), FPS, cfg)
    before = observed_loss(syn["scene"], est, *args).mean()
    refine_physics(syn["scene"], est, *args)
    after = observed_loss(syn["scene"], est, *args).mean()
    err_before, err_after = abs(5.0 - np.log10(GT_E)), abs(np.log10(est.E) - np.log10(GT_E))
    print(f"stage II: eq. 6 loss {before:.5f} -> {after:.5f}; E 1e5 -> {est.E:.4g} (GT {GT_E:g}); "
          f"|log10 E error| {err_before:.3f} -> {err_after:.3f}")
    assert after < 0.5 * before
    assert err_after < err_before - 0.3
    assert est.history["joint"]["diverged"] == 0 and len(est.history["joint"]["loss"]) == cfg["iterations"]


def test_stiffness_scan_lands_near_gt_from_the_far_end_of_the_range(synthetic):
    """``E_scan`` (bench addition): from log10 E = 5.8 (GT 4.3) the forward-only line search of the
    observed-frame loss lands within two fine grid steps of the GT and lowers the loss; nu and v0 stay."""
    from methods.vid2sim.refine import scan_stiffness

    syn, cfg = synthetic, {**synthetic["cfg"], "E_scan": 9}
    est = _stage1_estimate(syn, 10 ** 5.8)
    prepare_lbs(syn["scene"], est, cfg)
    rec = scan_stiffness(syn["scene"], est, syn["targets"], syn["cam"], (1, 1, 1), FPS, cfg)
    lo, hi = cfg["bounds"]["log10_E"]
    step = (hi - lo) / 9 / 4
    print(f"E scan: log10 E 5.8 -> {np.log10(est.E):.3f} (GT {np.log10(GT_E):.3f}); loss {rec['start_loss']:.5f} -> "
          f"{rec['loss']:.5f}; {rec['rollouts']} rollouts")
    assert abs(np.log10(est.E) - np.log10(GT_E)) <= 2 * step + 1e-9, rec
    assert rec["loss"] < 0.5 * rec["start_loss"] and est.nu == 0.35 and np.array_equal(est.v0, syn["v0"])


def test_launch_velocity_fit_on_free_flight_frames(synthetic):
    from methods.vid2sim.refine import fit_launch_velocity

    syn = synthetic
    est = _stage1_estimate(syn, 1e5)
    est.v0 = syn["v0"] + np.array([0.15, 0.0, 0.15])  # x, z lie in the image plane of the camera (looking along +y)
    hist = fit_launch_velocity(syn["scene"], est, syn["targets"], syn["cam"], (1, 1, 1), FPS,
                               {**syn["cfg"], "v0_steps": 20})
    err = np.abs(est.v0 - syn["v0"])
    print(f"v0 fit: loss {hist[0]:.5f} -> {hist[-1]:.5f}; |v0 error| x {err[0]:.3f}, z {err[2]:.3f} (from 0.15)")
    assert hist[-1] < 0.3 * hist[0] and err[0] < 0.05 and err[2] < 0.05


def test_neural_jacobian_fits_exact_jacobian_and_trains_jointly(synthetic):
    from physics.reduced.kinematics import lbs_operators
    from methods.vid2sim.lbs import JacobianSkinning

    syn = synthetic
    cfg = {**syn["cfg"], "neural_jacobian": True, "jac_steps": 300, "lbs_steps": 10, "iterations": 1}
    est = _stage1_estimate(syn, 3e4)
    prepare_lbs(syn["scene"], est, cfg)
    hist = est.history["jac_pre"]
    assert hist[-1] < 0.1 * hist[0]  # eq. 5 drops by > 10x
    X = torch.as_tensor(syn["scene"].X)
    with torch.no_grad():
        J = lbs_operators(est.lbs, X)[2]
        Jt = lbs_operators(JacobianSkinning(est.lbs, est.jac), X)[2]
    assert float((Jt - J).norm() / J.norm()) < 0.06
    before = [p.detach().clone() for p in est.jac.parameters()]
    refine_physics(syn["scene"], est, syn["targets"], syn["cam"], (1, 1, 1), FPS, cfg)
    assert any(not torch.equal(a, b) for a, b in zip(before, est.jac.parameters()))  # J_theta is optimised too


def test_volume_samples_uniform_inside_hull_and_fps_mode():
    from scipy.spatial import ConvexHull

    from methods.vid2sim.lbs import volume_samples

    rng = np.random.default_rng(0)
    u = rng.normal(size=(200, 3))
    means = u / np.linalg.norm(u, axis=1, keepdims=True) * [0.4, 0.3, 0.2] + [0.0, 0.0, 0.5]
    X, vol = volume_samples(means, 300, seed=7, mode="uniform")
    eq = ConvexHull(means).equations
    assert X.shape == (300, 3) and np.all(X @ eq[:, :3].T + eq[:, 3] <= 1e-12)
    assert np.array_equal(X, volume_samples(means, 300, seed=7, mode="uniform")[0]) and vol == pytest.approx(ConvexHull(means).volume)
    # interior samples: their mean distance to the centre is below that of the surface points
    c = means.mean(0)
    assert np.linalg.norm(X - c, axis=1).mean() < 0.9 * np.linalg.norm(means - c, axis=1).mean()
    Xf, _ = volume_samples(means, 300, seed=7)  # default: surface + grid fill, farthest-point
    assert Xf.shape == (300, 3) and not np.array_equal(Xf, X)
    with pytest.raises(ValueError):
        volume_samples(means, 10, seed=0, mode="nope")


def test_rollout_retries_a_stalled_newton_solve_at_the_fallback_tolerance(synthetic, monkeypatch):
    import physics.reduced as pr
    from physics.errors import SimulationDiverged

    syn, cfg = synthetic, synthetic["cfg"]
    est = _stage1_estimate(syn, 2e4)
    real, tols = pr.simulate_reduced, []

    def stalling(model, cx, cv, q, params, n, **kw):  # the strict solve fails, a looser one runs
        tols.append(params.newton_tol)
        if params.newton_tol < 1e-6:
            raise SimulationDiverged(3, "Newton did not converge (test)")
        return real(model, cx, cv, q, params, n, **kw)

    monkeypatch.setattr(pr, "simulate_reduced", stalling)
    params = reduced_params(cfg, syn["scene"], FPS)
    with pytest.raises(SimulationDiverged):
        rollout(est.lbs, syn["scene"], params, 3, est.E, est.nu, est.v0)
    res = rollout(est.lbs, syn["scene"], params, 3, est.E, est.nu, est.v0, fallback_tol=1e-5)
    assert res.positions.shape[0] == 3 and tols[-2:] == [params.newton_tol, 1e-5]


def test_predict_rejects_controls_and_declares_none():
    m = Vid2Sim({})
    assert m.inputs.controls is False and m.inputs.views == "mono" and m.inputs.canonical
    with pytest.raises(ValueError, match="control"):
        m.predict({}, Query(n_frames=4, fps=20.0, cameras=[], controls=np.zeros((4, 1, 3))))


# ------------------------------------------------------------------ Stage I + bench train / run / eval
def test_training_step_reduces_stage1_loss(train_samples):
    m = Vid2Sim(FAST)
    torch.manual_seed(0)
    items = m.load_training_set(train_samples)
    model = m.build_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss, _ = m.sample_loss(model, items[0], step=0)
        loss.backward()
        grads = [p.grad for p in model.hyper.parameters() if p.grad is not None]
        assert grads and sum(float(g.abs().sum()) for g in grads) > 0  # the Simplicits term reaches the hypernetwork
        opt.step()
        losses.append(float(loss.detach()))
    with torch.no_grad():
        final, log = m.sample_loss(model, items[0], step=0)
    print(f"stage I loss {losses[0]:.4f} -> {float(final):.4f}")
    assert float(final) < losses[0]


def test_checkpoint_reloads_to_identical_predictions_and_resumes(tiny, train_samples, tmp_path):
    samples = train_samples
    ref, ck = tmp_path / "ref", tmp_path / "ck"
    m = Vid2Sim(FAST)
    assert m.train(samples, ref)["step"] == 4 and (ref / "step_000004.safetensors").exists()
    meta = latest_checkpoint(ref)
    assert meta["step"] == 4 and meta["config"]["dim"] == 32
    with open(meta["path"], "rb") as f:  # safetensors: 8-byte header length + JSON header, no pickle
        assert json.loads(f.read(int.from_bytes(f.read(8), "little")))["__metadata__"]["step"] == "4"
    from methods.observation import build_observation

    obs = build_observation(samples[0], Vid2Sim.inputs)
    before = m.predict_stage1(m._model, obs)
    m2 = Vid2Sim({**FAST, "checkpoint": str(ref)})
    after = m2.predict_stage1(m2.load_model(), obs)
    for k in before:
        assert torch.equal(before[k], after[k]), k
    # interrupted after 2 of 4 steps, resumed by `bench train`: same weights as the uninterrupted run
    assert Vid2Sim(FAST).train(samples, ck, stop_after=2)["step"] == 2
    cfg = tmp_path / "v.yaml"
    cfg.write_text("".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}\n" for k, v in FAST.items()))
    assert run(["train", "--method", "vid2sim", "--data", str(tiny), "--split", "train", "--out", str(ck),
                "--method-config", str(cfg)]) == 0
    with (ck / "log.csv").open() as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [1, 2, 3, 4]
    a, b = Vid2Sim(FAST).build_model(), Vid2Sim(FAST).build_model()
    load_checkpoint(ref, a)
    load_checkpoint(ck, b)
    for (ka, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(va, vb), ka


def test_bench_run_without_checkpoint_is_one_clear_line(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # default runs/checkpoints/vid2sim/<dataset> does not exist here
    with pytest.raises(SystemExit) as exc:
        main(["run", "--method", "vid2sim", "--data", str(tiny), "--split", "test", "--out", str(tmp_path / "r")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no Vid2Sim checkpoint" in err and "bench train --method vid2sim" in err
    assert not (tmp_path / "r").exists()


def test_gen_train_run_eval_end_to_end(tiny, tmp_path):
    ck, out = tmp_path / "ck", tmp_path / "run"
    cfg = tmp_path / "v.yaml"
    cfg.write_text(f"checkpoint: {ck}\n" + "".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}\n"
                                                  for k, v in {**FAST, **STAGE2_FAST}.items()))
    assert run(["train", "--method", "vid2sim", "--data", str(tiny), "--out", str(ck), "--steps", "2",
                "--method-config", str(cfg)]) == 0
    assert run(["run", "--method", "vid2sim", "--data", str(tiny), "--split", "test", "--out", str(out),
                "--method-config", str(cfg), "--inline"]) == 0
    st = [json.loads(p.read_text()) for p in out.glob("*/status.json")]
    assert st and all(s["status"] == "ok" for s in st), st
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["config"]["checkpoint"] == str(ck.resolve()) and run_json["config"]["checkpoint_step"] == 2
    sid = st[0]["sample_id"]
    phys = json.loads((out / sid / "asset" / "physics.json").read_text())
    assert {"youngs_modulus", "poisson_ratio", "v0"} <= set(phys["physics"]) and phys["lbs"]["n_handles"] == 3
    pred_pts = np.load(out / sid / "pred" / "points.npy")
    np.testing.assert_allclose(simulate_asset(out / sid / "asset", pred_pts.shape[0]), pred_pts, atol=1e-6)
    assert run(["eval", str(out)]) == 0
    params = json.loads((out / sid / "metrics.json").read_text())["params"]
    assert params["status"] == "ok" and params["pred_model"] == "reduced"
    assert {"youngs_modulus", "poisson_ratio"} <= set(params["errors"])
    assert np.isfinite(params["errors"]["youngs_modulus"]["log10_abs"])
