"""ReconPhys held-out calibration (methods/reconphys/calibration.py, trainer.calibrate).

Independent references: synthetic predictions with a known relation to the truth (the least-squares
shrinkage has a closed form there), and the checkpoint's own raw predictor (calibrated inference must be
exactly c + alpha (u - c) of it).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.errors import UserError
from core.splits import object_unit_interval
from methods.reconphys import ReconPhys
from methods.reconphys.calibration import (CALIBRATION_DIR, CALIBRATION_JSON, _SALT, apply_shrinkage, holdout_mask,
                                           shrinkage)
from methods.reconphys.outputs import PARAM_NAMES

FAST = {"dim": 32, "enc_width": 8, "enc_size": 32, "tensorboard": False, "invert_grid": 3}


def test_shrinkage_closed_forms():
    """Perfect predictions keep alpha 1; predictions twice as far from the centre as the targets get 1/2;
    anti-correlated ones are clipped to 0; a constant output gets 0."""
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 1, (200, 3))
    c = t.mean(0)
    pred = np.stack([t[:, 0], c[1] + 2 * (t[:, 1] - c[1]), c[2] - (t[:, 2] - c[2])], 1)
    assert np.allclose(shrinkage(pred, t, c), [1.0, 0.5, 0.0])
    assert shrinkage(np.broadcast_to(c, t.shape), t, c).tolist() == [0.0, 0.0, 0.0]


def test_shrinkage_against_noisy_targets_matches_the_truth():
    """The claim the method rests on: with target noise independent of the predictor's error, the alpha
    fitted against the noisy targets is the alpha fitted against the true parameter (+- sampling error);
    and the shrunk predictor has a lower true error than both the raw one and the centre."""
    rng = np.random.default_rng(1)
    theta = rng.uniform(0, 1, (20000, 1))
    target = theta + rng.normal(0, 0.3, theta.shape)  # stage A's error
    pred = theta + rng.normal(0, 0.4, theta.shape)    # the predictor's error on unseen objects
    c = target.mean(0)
    a_t, a_true = shrinkage(pred, target, c)[0], shrinkage(pred, theta, c)[0]
    assert abs(a_t - a_true) < 0.02 and 0.2 < a_true < 0.5, (a_t, a_true)
    shrunk = c + a_t * (pred - c)
    err = lambda p: float(((p - theta) ** 2).mean())  # noqa: E731
    assert err(shrunk) < err(pred) and err(shrunk) < err(np.broadcast_to(c, theta.shape))


def test_apply_shrinkage_numpy_and_torch_agree():
    cal = {"alpha": dict(zip(PARAM_NAMES, [1.0, 0.0, 0.5, 0.25, 0.0])),
           "centre": dict(zip(PARAM_NAMES, [0.5, 0.4, 0.3, 0.5, 0.5]))}
    u = np.array([[0.9, 0.9, 0.9, 0.9, 0.9]])
    got = apply_shrinkage(u, cal)
    assert np.allclose(got, [[0.9, 0.4, 0.6, 0.6, 0.5]])
    assert np.allclose(apply_shrinkage(torch.as_tensor(u, dtype=torch.float32), cal).numpy(), got, atol=1e-6)


def test_holdout_keeps_objects_whole_and_refuses_an_empty_side():
    ids = [f"obj{i // 3}" for i in range(300)]  # 100 objects, 3 videos each
    held = holdout_mask(ids, 0.3)
    by_obj = {}
    for o, h in zip(ids, held):
        by_obj.setdefault(o, set()).add(bool(h))
    assert all(len(s) == 1 for s in by_obj.values())
    assert 15 <= sum(next(iter(s)) for s in by_obj.values()) <= 45
    with pytest.raises(ValueError, match="calib_fraction"):
        holdout_mask(ids[:3], 0.3)  # one object: one side is always empty


def test_config_needs_a_pure_stage_b():
    with pytest.raises(UserError, match="calibrate"):
        ReconPhys({"calibrate": "holdout", "curriculum": "invert", "distill_steps": 10, "steps": 5})
    with pytest.raises(UserError, match="calibrate"):
        ReconPhys({"calibrate": "holdout", "curriculum": "none", "steps": 0})
    with pytest.raises(UserError, match="calibrate"):
        ReconPhys({"calibrate": "sometimes"})


@pytest.mark.slow
def test_calibrated_training_and_inference(tiny_train, tmp_path):
    """`calibrate: holdout` trains the held-out predictor beside the main one, writes calibration.json,
    and a reloaded method predicts exactly the shrunk outputs of the raw checkpoint; without the file a
    calibrated config is refused in one line."""
    from methods.observation import build_observation

    ids = [build_observation(p, ReconPhys.inputs).object_id for p in tiny_train]
    cuts = sorted({object_unit_interval(_SALT + o) for o in ids})
    assert len(cuts) >= 2, "tiny's training split needs two objects"
    frac = 0.5 * (cuts[0] + cuts[1])  # holds out exactly the first object in hash order
    ck = tmp_path / "ck"
    cfg = {**FAST, "curriculum": "invert", "distill_steps": 30, "distill_batch": 2, "steps": 0, "save_every": 10,
           "calibrate": "holdout", "calib_fraction": frac}
    res = ReconPhys(cfg).train(tiny_train, ck)
    assert res["step"] == 30 and set(res["calibration"]) == set(PARAM_NAMES)
    doc = json.loads((ck / CALIBRATION_JSON).read_text())
    assert (ck / CALIBRATION_DIR / "latest.json").exists()
    assert doc["n_heldout_objects"] == 1 and doc["n_fit_objects"] == len(set(ids)) - 1
    assert all(0.0 <= a <= 1.0 for a in doc["alpha"].values())
    targets = np.asarray([json.loads((ck / "inversion.json").read_text())["samples"][p.name]["u"] for p in tiny_train])
    assert np.allclose([doc["centre"][n] for n in PARAM_NAMES], targets.mean(0), atol=1e-6)
    # a held-out alpha of 1/2 everywhere: inference must return c + (u - c) / 2 of the raw predictor
    doc["alpha"] = {n: 0.5 for n in PARAM_NAMES}
    (ck / CALIBRATION_JSON).write_text(json.dumps(doc))
    obs = build_observation(tiny_train[0], ReconPhys.inputs)
    raw = ReconPhys({**cfg, "calibrate": "none", "checkpoint": str(ck)})
    cal = ReconPhys({**cfg, "checkpoint": str(ck)})
    p_raw = raw.predict_physics(raw.load_model(), obs)
    p_cal = cal.predict_physics(cal.load_model(), obs)
    b = cal.cfg["bounds"]
    for name, key in (("log10_stiffness", "log10_stiffness"), ("friction", "friction"), ("log10_damping", "log10_damping")):
        lo, hi = b[name]
        u_raw, u_cal = (float(p_raw[key]) - lo) / (hi - lo), (float(p_cal[key]) - lo) / (hi - lo)
        assert u_cal == pytest.approx(doc["centre"][name] + 0.5 * (u_raw - doc["centre"][name]), abs=1e-5)
    cal.export_asset(cal.fit(obs), tmp_path / "asset")  # the run's asset records the shrinkage it applied
    assert json.loads((tmp_path / "asset" / "physics.json").read_text())["calibration"]["alpha"] == doc["alpha"]
    (ck / CALIBRATION_JSON).unlink()
    with pytest.raises(UserError, match="calibration.json"):
        ReconPhys({**cfg, "checkpoint": str(ck)}).load_model()


def test_force_retraining_clears_nested_checkpoints(tiny, tmp_path):
    """`bench train --force` must not resume the calibration predictor of an earlier training either."""
    from methods.training.verb import train_method

    out = tmp_path / "ck"
    nested = out / CALIBRATION_DIR
    nested.mkdir(parents=True)
    for d in (out, nested):
        (d / "latest.json").write_text(json.dumps({"step": 5, "checkpoint": "step_000005"}))
        (d / "step_000005.json").write_text("{}")
    (out / "other").mkdir()
    (out / "other" / "keep.txt").write_text("not a checkpoint dir")
    train_method("train_mean", tiny, "train", out, {}, resume=False)
    assert not (nested / "latest.json").exists() and not (nested / "step_000005.json").exists()
    assert not (out / "step_000005.json").exists() and (out / "other" / "keep.txt").exists()
