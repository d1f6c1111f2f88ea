"""Every method's search ranges and fixed priors cover the GT ranges of the profiles it runs on (issue 21.3).

PhysTwin searched log10 damping in (-1.5, 1.0) while every spring-mass profile draws damping in [0.01, 0.1]:
on tiny_interact seed 778 it returned 6.69 against a true 0.032. `bench run` now refuses such a run in one line.
"""
from __future__ import annotations

import json

import pytest

from core.errors import UserError
from core.method_config import load_method_config
from datagen.profile import list_profiles, load_profile
from methods.ranges import check_parameter_ranges, range_misses
from methods.registry import make_method

METHODS = ("phystwin", "spring_gaus", "reconphys", "vid2sim", "physinteract")
#: (method, profile) pairs the shipped configs are not meant for, each refused in one line instead
NOT_MEANT = {("reconphys", "paper")}  # the decoder's log10 K range [1, 3] is the one it is trained with


def _dataset(tmp_path, profile: str):
    d = tmp_path / profile
    d.mkdir()
    (d / "dataset.json").write_text(json.dumps({"config": load_profile(profile).model_dump(mode="json")}))
    return d


def _models(profile: str) -> set[str]:
    ph = load_profile(profile).physics
    return set(ph.mixed_models) if ph.model == "mixed" else {ph.model}


@pytest.mark.parametrize("name", METHODS)
def test_shipped_config_covers_the_shipped_profiles(tmp_path, name):
    method = make_method(name, load_method_config(name))
    model = next(iter(method.parameter_ranges()))
    checked = 0
    for profile in list_profiles():
        if model not in _models(profile):
            continue
        data = _dataset(tmp_path, profile)
        if (name, profile) in NOT_MEANT:
            with pytest.raises(UserError, match="miss the data"):
                check_parameter_ranges(method, data)
            continue
        res = check_parameter_ranges(method, data)
        assert res["status"] == "ok" and res["checked"], (name, profile)
        checked += 1
    assert checked >= 1


@pytest.mark.parametrize("name,config,profile,param", [
    ("phystwin", {"bounds": {"log10_zeta": [-1.5, 1.0]}}, "tiny_interact", "damping"),  # the defect as it shipped
    ("spring_gaus", {"log10_stiffness_bounds": [1.5, 4.5]}, "quick_consistent_wide", "stiffness"),
    ("spring_gaus", {"damping": 1.0}, "quick", "damping"),  # a fixed prior outside the data
    ("reconphys", {"bounds": {"restitution": [0.3, 0.9]}}, "quick", "restitution"),
    ("vid2sim", {"bounds": {"log10_E": [4.0, 6.0]}}, "quick_reduced", "youngs_modulus"),
    ("physinteract", {"log10_E_bounds": [3.0, 5.0]}, "quick_interact", "youngs_modulus"),
])
def test_a_range_that_misses_the_data_is_refused_in_one_line(tmp_path, name, config, profile, param):
    with pytest.raises(UserError) as e:
        check_parameter_ranges(make_method(name, config), _dataset(tmp_path, profile))
    msg = str(e.value)
    assert param in msg and "\n" not in msg and ("the dataset draws" in msg or "outside the dataset" in msg)


def test_range_rule_hand_cases():
    data = {"spring_mass": {"damping": (0.01, 0.1), "friction": (0.0, 1.0)}}
    assert range_misses({"spring_mass": {"damping": (0.001, 1.0), "friction": (0.0, 1.0)}}, data) == []
    assert len(range_misses({"spring_mass": {"damping": (0.02, 1.0)}}, data)) == 1
    assert range_misses({"spring_mass": {"damping": (0.05, 0.05)}}, data) == []  # a prior inside the range
    assert len(range_misses({"spring_mass": {"damping": (0.5, 0.5)}}, data)) == 1
    assert range_misses({"mpm": {"youngs_modulus": (1.0, 2.0)}}, data) == []  # other GT model: not compared
