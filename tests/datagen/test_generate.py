"""Generation: determinism, object-level splits, and divergence recorded as a failure."""
import json

import numpy as np
import pytest

from bench.cli import run as bench
from datagen.profile import load_profile, profile_from_dict
from core.dataset import read_manifest
from datagen.generate import generate, plan_samples


def _tiny(**over):
    d = load_profile("tiny").model_dump(mode="json")
    for path, value in over.items():
        node = d
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return profile_from_dict(d)


def test_plan_is_prefix_stable_and_split_by_object():
    small, big = plan_samples(_tiny(n_samples=4)), plan_samples(_tiny(n_samples=30))
    assert big[:4] == small
    by_obj = {}
    for p in big:
        by_obj.setdefault(p["object_id"], set()).add(p["split"])
    assert all(len(s) == 1 for s in by_obj.values())  # an object never straddles splits


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path):
    prof = _tiny(n_samples=1)
    a, b = generate(tmp_path / "a", prof), generate(tmp_path / "b", prof)
    assert a[0]["files"] == b[0]["files"]  # every file's sha256, GT arrays included
    pa = np.load(tmp_path / "a" / "s00000" / "gt" / "particles.npy")
    pb = np.load(tmp_path / "b" / "s00000" / "gt" / "particles.npy")
    assert pa.tobytes() == pb.tobytes()
    c = generate(tmp_path / "c", _tiny(n_samples=1, seed=8))
    assert c[0]["files"]["gt/particles.npy"] != a[0]["files"]["gt/particles.npy"]


def test_diverging_simulation_is_recorded_not_dropped(tmp_path):
    prof = _tiny(n_samples=2, **{"physics.spring_mass.substeps": 1,
                                 "physics.spring_mass.log10_stiffness": [6.0, 6.0]})
    with pytest.warns(Warning):
        recs = generate(tmp_path / "d", prof)
    assert [r["status"] for r in recs] == ["failed", "failed"]
    assert all("SimulationDiverged" in r["reason"] and "substep" in r["reason"] for r in recs)
    man = read_manifest(tmp_path / "d")
    assert len(man) == 2 and all(r["status"] == "failed" for r in man)
    fail = json.loads((tmp_path / "d" / "s00000" / "failure.json").read_text())
    assert fail["status"] == "failed" and "diverged" in fail["reason"]
    assert not (tmp_path / "d" / "s00000" / "sample.json").exists()
    assert bench(["check", str(tmp_path / "d")]) == 0


# ------------------------------------------------------------------------------------------- issue 24
def test_gen_never_deletes_files_it_did_not_write(tmp_path):
    """24.1: `mkdir -p d/s00000; echo x > d/s00000/f; bench gen --n 1 --out d` deleted d/s00000/f."""
    from core.errors import UserError

    d = tmp_path / "d"
    (d / "s00000").mkdir(parents=True)
    (d / "s00000" / "f").write_text("x")
    with pytest.raises(UserError, match="not a dataset"):
        generate(d, _tiny(n_samples=1))
    assert (d / "s00000" / "f").read_text() == "x"
    ok = tmp_path / "ok"
    generate(ok, _tiny(n_samples=1))  # a dataset of this profile, then a foreign file inside a sample
    (ok / "s00000" / "notes.txt").write_text("mine")
    (ok / "s00000" / "gt" / "points.npy").write_bytes(b"corrupt")  # would be regenerated ...
    with pytest.raises(UserError, match="did not write"):
        generate(ok, _tiny(n_samples=1))  # ... but not by deleting notes.txt
    assert (ok / "s00000" / "notes.txt").read_text() == "mine"


def test_failed_candidates_are_replaced_until_n_usable_samples_exist(tmp_path):
    """24.6: asking for 5 objects from a folder with 3 bad files gave 2 samples."""
    import trimesh

    from datagen.assets import load_object, save_obj

    root = tmp_path / "meshes"
    for i, shape in enumerate(("sphere", "box", "capsule", "torus", "blob")):
        save_obj(load_object(f"proc/{shape}/000"), root / f"good{i}")
    for i in range(3):
        (root / f"bad{i}.glb").write_bytes(b"not a mesh")
    d = load_profile("tiny").model_dump(mode="json")
    d.update(n_samples=5, seed=3)
    d["assets"] = {"source": "local", "root": str(root)}
    d["splits"] = {"train": 1.0, "val": 0.0, "test": 0.0}
    recs = generate(tmp_path / "data", profile_from_dict(d))
    ok = [r for r in recs if r["status"] == "ok"]
    assert len(ok) == 5 and len([r for r in recs if r["status"] == "failed"]) >= 1
    man = read_manifest(tmp_path / "data")
    assert len(man) == len(recs) and sum(r["status"] == "ok" for r in man) == 5  # failures recorded, not dropped
    assert [r["sample_id"] for r in recs] == [f"s{i:05d}" for i in range(len(recs))]


def test_transient_failures_are_retried_on_resume(tmp_path):
    """24.6: a transient failure (a timeout, a crash) is not cached forever."""
    prof = _tiny(n_samples=1)
    d = tmp_path / "d"
    generate(d, prof)
    good = read_manifest(d)
    import shutil

    shutil.rmtree(d / "s00000")
    (d / "s00000").mkdir()
    (d / "s00000" / "failure.json").write_text(json.dumps({"status": "failed", "reason": "TimeoutError: slow",
                                                           "transient": True}))
    recs = generate(d, prof)
    assert recs[0]["status"] == "ok" and read_manifest(d) == good


def test_ray_address_without_a_cluster_fails_fast_in_one_line(tmp_path):
    """24.7: `--executor ray --address` with no cluster hung >= 120 s."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "bench.cli", "gen", "--profile", "tiny", "--n", "1", "--out",
                          str(tmp_path / "d"), "--executor", "ray", "--address", f"127.0.0.1:{port}"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and time.perf_counter() - t0 < 60
    err = res.stderr.strip().splitlines()[-1]
    assert "--address" in err and "Traceback" not in res.stderr
    blocker = tmp_path / "a-file"
    blocker.write_text("x")  # an --out below a file cannot be created (and root may write anywhere else)
    res = subprocess.run([sys.executable, "-m", "bench.cli", "gen", "--profile", "tiny", "--n", "1", "--out",
                          str(blocker / "d")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "--out" in res.stderr, res.stderr


def test_generated_objects_stay_in_view(tmp_path):
    """24.4: 31 of the first 39 default samples touched the image border; the clipped fraction is recorded."""
    for name in ("quick", "tiny_interact"):
        generate(tmp_path / name, load_profile(name, {"n_samples": 2}))
        for sid in ("s00000", "s00001"):
            fr = json.loads((tmp_path / name / sid / "sample.json").read_text())["render"]["framing"]
            assert fr["method"] == "trajectory_bounds" and fr["clipped_fraction"] == 0.0
            assert fr.get("clipped_fraction_transfer", 0.0) == 0.0


def test_manipulator_is_drawn_with_its_own_mask_and_excluded_from_image_metrics(tmp_path):
    """24.8: the manipulator was invisible in interaction videos; 24.5: the record says what the frames show."""
    from core.dataset import SampleDir
    from metrics.evaluate import _exclude_manipulator

    generate(tmp_path / "d", load_profile("tiny_interact", {"n_samples": 1}))
    s = SampleDir(tmp_path / "d" / "s00000")
    render = s.meta["render"]
    assert render["manipulator"]["proxy"].startswith("sphere") and render["scene"]["kind"] == "splat"
    assert render["scene"]["ground"]["visible"] is False
    masks = np.stack([s.main.manip(v, t) for v in s.views for t in range(s.n_frames)])
    assert masks.max() > 0.5  # the proxy shows up somewhere
    tm = np.stack([s.transfer.manip(v, t) for v in s.views for t in range(s.n_frames)])
    assert tm.shape == masks.shape and tm.max() > 0.5
    # metrics: a prediction that differs from the GT only under the manipulator is scored as exact
    gt = [s.main.frame(s.views[0], t) for t in range(s.n_frames)]
    man = [s.main.manip(s.views[0], t) for t in range(s.n_frames)]
    pred, alpha = np.stack([g[0] for g in gt]).copy(), np.stack([g[1] for g in gt]).copy()
    for t, m in enumerate(man):
        pred[t][m > 0] = 0.0
        alpha[t][m > 0] = 1.0
    fixed, fixed_a = _exclude_manipulator((pred, alpha), gt, man)
    assert np.array_equal(fixed, np.stack([g[0] for g in gt])) and np.array_equal(fixed_a, np.stack([g[1] for g in gt]))


def test_mixed_scenarios_and_physics_shares(tmp_path):
    """One dataset with free-fall and interaction samples and GT models in stated shares (the v1 profile's)."""
    prof = _tiny(n_samples=6, **{"scenario.kind": "mixed", "scenario.interaction_fraction": 0.5,
                                 "physics.model": "mixed", "physics.mixed_models": ["spring_mass", "mpm"],
                                 "physics.mixed_shares": [0.5, 0.5], "physics.mpm.n_particles": 200,
                                 "physics.mpm.n_grid": 16})
    recs = generate(tmp_path / "d", prof)
    assert all(r["status"] == "ok" for r in recs), [r["reason"] for r in recs]
    kinds = {r["scenario"] for r in recs}
    assert kinds <= {"freefall", "interaction"} and len(kinds) == 2
    for r in recs:
        meta = json.loads((tmp_path / "d" / r["sample_id"] / "sample.json").read_text())
        assert meta["scenario"]["kind"] == r["scenario"] and meta["physics"]["model"] == r["physics_model"]
        assert ((tmp_path / "d" / r["sample_id"] / "gt" / "controls.npy").exists()) == (r["scenario"] == "interaction")
    with pytest.raises(Exception, match="mixed_shares"):
        _tiny(**{"physics.model": "mixed", "physics.mixed_shares": [0.7, 0.7]})


def test_gen_of_one_split_gives_the_full_runs_bytes_and_resumes_into_it(tmp_path):
    prof = _tiny(n_samples=6)
    test_ids = [p["sample_id"] for p in plan_samples(prof) if p["split"] == "test"]
    assert test_ids and len(test_ids) < 6  # the tiny plan mixes splits
    only = generate(tmp_path / "d", prof, splits=["test"])
    assert [r["sample_id"] for r in only] == test_ids and all(r["split"] == "test" for r in only)
    full = {r["sample_id"]: r for r in generate(tmp_path / "full", prof)}
    for r in only:
        assert r["files"] == full[r["sample_id"]]["files"]  # every file's sha256
    assert {r["sample_id"] for r in read_manifest(tmp_path / "d")} == set(test_ids)
    stamp = (tmp_path / "d" / test_ids[0] / "sample.json").stat().st_mtime_ns
    rest = generate(tmp_path / "d", prof)  # resume without --splits: keeps the test samples, adds the rest
    assert {r["sample_id"]: r["files"] for r in rest} == {k: r["files"] for k, r in full.items()}
    assert (tmp_path / "d" / test_ids[0] / "sample.json").stat().st_mtime_ns == stamp
    # and a split-only run into a full directory keeps the other splits' manifest lines
    generate(tmp_path / "d", prof, splits=["test"])
    assert len(read_manifest(tmp_path / "d")) == 6
    with pytest.raises(Exception, match="unknown split"):
        generate(tmp_path / "e", prof, splits=["tset"])
