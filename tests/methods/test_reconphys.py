"""ReconPhys (methods/reconphys) and `bench train` (methods/training/) on the `tiny` profile:
a training step lowers eq. 11, checkpoints (safetensors) reload to identical predictions, an
interrupted run resumes to the same weights as an uninterrupted one, and `bench run` without a
checkpoint fails with one line saying how to train one."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.cli import main, run
from core.errors import UserError
from methods.reconphys import ReconPhys
from methods.reconphys.simulation import object_seed, sample_anchors
from methods.training.checkpoints import latest_checkpoint, load_checkpoint

FAST = {"steps": 4, "save_every": 2, "dim": 32, "enc_width": 8, "enc_size": 32, "tensorboard": False}


def test_anchors_are_seeded_by_object_id():
    pts = np.random.default_rng(0).normal(size=(200, 3))
    a = sample_anchors(pts, 30, object_seed("proc/box/000"))
    b = sample_anchors(pts, 30, object_seed("proc/box/000"))
    c = sample_anchors(pts, 30, object_seed("proc/box/001"))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (30, 3) and not np.array_equal(a, c)


def test_object_hash_gt_anchors_are_reconphys_anchors(tmp_path):
    """ReconPhys §4.1 protocol: GT drawn with ``anchor_sampling: object_hash`` has exactly the anchors
    (and kNN springs) that ReconPhys builds from the sample's canonical Gaussians with the same settings."""
    from datagen.profile import load_profile, profile_from_dict
    from datagen.generate import generate
    from methods.observation import build_observation
    from methods.reconphys.simulation import build_scene
    from physics.spring_mass import knn_springs

    d = load_profile("tiny").model_dump(mode="json")
    d["n_samples"] = 1
    d["physics"]["spring_mass"].update(anchor_sampling="object_hash", anchor_fill="hull", anchor_fill_res=10)
    recs = generate(tmp_path / "h", profile_from_dict(d))
    assert recs[0]["status"] == "ok"
    sample = tmp_path / "h" / "s00000"
    meta = json.loads((sample / "sample.json").read_text())
    rec = meta["physics"]["anchor_sampling"]
    assert rec["kind"] == "object_hash" and rec["fill"] == "hull" and rec["fill_res"] == 10
    x0 = np.load(sample / "gt" / "particles.npy")[0]
    m = ReconPhys({"n_anchors": 40, "n_k": 8, "fill_res": 10, "anchor_fill": "hull"})
    obs = build_observation(sample, m.inputs)
    scene = build_scene(obs.canonical, obs.object_id, 0.0, m.cfg)
    assert scene.anchors.tobytes() == x0.tobytes()
    springs = np.load(sample / "gt" / "springs.npz")
    e, _ = knn_springs(scene.anchors, 8)
    np.testing.assert_array_equal(e, springs["edges"])
    # another fill resolution is another discretization
    other = build_scene(obs.canonical, obs.object_id, 0.0, {**m.cfg, "fill_res": 12})
    assert other.anchors.tobytes() != x0.tobytes()


def test_training_step_reduces_loss(tiny_train):
    m = ReconPhys({**FAST, "lr": 1e-3})
    torch.manual_seed(0)
    items = m.load_training_set(tiny_train[:1])
    model = m.build_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss, _ = m.sample_loss(model, items[0])
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
        assert sum(float(g.abs().sum()) for g in grads) > 0  # eq. 11 reaches the predictor through sim + render
        opt.step()
        losses.append(float(loss.detach()))
    with torch.no_grad():
        final, _ = m.sample_loss(model, items[0])
    assert float(final) < losses[0]


def test_checkpoint_reloads_to_identical_predictions(tiny_train, tmp_path):
    ck = tmp_path / "ck"
    m = ReconPhys({**FAST, "steps": 2})
    res = m.train(tiny_train, ck)
    assert res["step"] == 2 and (ck / "step_000002.safetensors").exists()
    meta = latest_checkpoint(ck)
    assert meta["step"] == 2 and meta["config"]["dim"] == 32  # JSON side-car: config + step
    with open(meta["path"], "rb") as f:  # safetensors: 8-byte header length + JSON header, no pickle
        n = int.from_bytes(f.read(8), "little")
        assert json.loads(f.read(n))["__metadata__"]["step"] == "2"
    obs = m.load_training_set(tiny_train[:1])[0]["obs"]
    before = m.predict_physics(m._model, obs)
    m2 = ReconPhys({**FAST, "checkpoint": str(ck)})
    after = m2.predict_physics(m2.load_model(), obs)
    for k in before:
        assert torch.equal(before[k], after[k]), k
    # other output ranges would decode the same logits into other physics: refused in one line
    m3 = ReconPhys({**FAST, "checkpoint": str(ck), "bounds": {"friction": [0.0, 0.5]}})
    with pytest.raises(UserError, match="trained with bounds"):
        m3.load_model()


def test_resume_continues_from_saved_step(tiny, tiny_train, tmp_path):
    samples = tiny_train
    ref_dir, ck = tmp_path / "ref", tmp_path / "ck"
    ReconPhys(FAST).train(samples, ref_dir)
    first = ReconPhys(FAST).train(samples, ck, stop_after=2)  # "interrupted" after 2 of 4 steps
    assert first["step"] == 2 and latest_checkpoint(ck)["step"] == 2
    cfg = tmp_path / "rp.yaml"
    cfg.write_text("".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}\n" for k, v in FAST.items()))
    assert run(["train", "--method", "reconphys", "--data", str(tiny), "--split", "train", "--out", str(ck),
                "--method-config", str(cfg)]) == 0
    assert latest_checkpoint(ck)["step"] == 4
    with (ck / "log.csv").open() as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [1, 2, 3, 4]
    a, b = ReconPhys(FAST).build_model(), ReconPhys(FAST).build_model()
    load_checkpoint(ref_dir, a)
    load_checkpoint(ck, b)
    for (ka, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(va, vb), ka  # resumed == uninterrupted (model + Adam state restored)


def test_bench_run_without_checkpoint_is_one_clear_line(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # default runs/checkpoints/reconphys/<dataset> does not exist here
    with pytest.raises(SystemExit) as exc:
        main(["run", "--method", "reconphys", "--data", str(tiny), "--split", "test", "--out", str(tmp_path / "r")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no ReconPhys checkpoint" in err and "bench train --method reconphys" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_bench_run_with_checkpoint_end_to_end(tiny, tmp_path):
    ck = tmp_path / "ck"
    cfg = tmp_path / "rp.yaml"
    cfg.write_text(f"checkpoint: {ck}\ntensorboard: false\ndim: 32\nenc_width: 8\nenc_size: 32\n")
    run(["train", "--method", "reconphys", "--data", str(tiny), "--out", str(ck), "--steps", "1",
         "--method-config", str(cfg)])
    out = tmp_path / "run"
    run(["run", "--method", "reconphys", "--data", str(tiny), "--split", "test", "--out", str(out),
         "--method-config", str(cfg), "--inline"])
    st = [json.loads(p.read_text()) for p in out.glob("*/status.json")]
    assert st and all(s["status"] == "ok" for s in st)
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["config"]["checkpoint"] == str(ck.resolve()) and run_json["config"]["checkpoint_step"] == 1
    phys = json.loads(next(out.glob("*/asset/physics.json")).read_text())
    assert {"stiffness", "damping", "friction", "mass", "v0"} <= set(phys["physics"])
