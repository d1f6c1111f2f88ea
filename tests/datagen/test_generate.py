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
