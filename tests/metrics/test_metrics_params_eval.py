"""Parameter block (n/a rules, material accuracy) and eval helpers (track, hash digest)."""
from __future__ import annotations

import hashlib

import pytest

from core.hashing import digest
from metrics.evaluate import track_of
from metrics.physics_params import compare_params

GT = {"stiffness": 1000.0, "log10_stiffness": 3.0, "damping": 0.5, "mass_kg": 1.0, "force_law": "spring_gaus"}


def test_no_params_or_other_model_is_na_never_zero():
    b = compare_params(None, "spring_mass", GT)
    assert b["status"] == "n/a" and b["errors"] == {} and set(b["na"]) == {"stiffness", "damping", "mass_kg"}
    b = compare_params({"model": "mpm", "params": {"E": 1e5}}, "spring_mass", GT)
    assert b["status"] == "n/a" and "differs" in b["why"] and "material_accuracy" not in b


def test_shared_params_only_and_material_accuracy():
    pred = {"model": "spring_mass", "params": {"stiffness": 1100.0, "damping": 0.7, "youngs": 3.0}}
    b = compare_params(pred, "spring_mass", GT, n_particles=10)
    assert b["errors"]["stiffness"]["abs"] == pytest.approx(100.0)
    assert b["errors"]["stiffness"]["log10_abs"] == pytest.approx(0.0413926851582251)
    assert b["errors"]["damping"] == {"abs": pytest.approx(0.2)}
    assert b["na"] == {"mass_kg": "not estimated by the method", "youngs": "not a parameter of the GT model"}
    assert b["material_accuracy"] == {"param": "stiffness", "n_particles": 10, "value": 1.0}  # 10 % within 20 %
    per = {**pred, "per_particle": {"stiffness": [1000.0, 1200.0, 1300.0, 700.0]}}  # rel. err 0, .2, .3, .3
    b = compare_params(per, "spring_mass", GT)
    assert b["material_accuracy"]["value"] == pytest.approx(0.5) and b["material_accuracy"]["n_particles"] == 4


def test_track_and_digest():
    assert track_of({}, "freefall") == "freefall" and track_of({"track": "transfer"}, "freefall") == "transfer"
    files = {"b": "2", "a": "1"}
    assert digest(files) == hashlib.sha256(b"a\t1\nb\t2\n").hexdigest()
