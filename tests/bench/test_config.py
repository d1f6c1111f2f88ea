"""Profiles: every shipped profile validates; unknown keys and bad values name the key."""
import pytest

from datagen.profile import list_profiles, load_profile
from core.errors import UserError


def test_shipped_profiles_validate():
    names = list_profiles()
    assert {"tiny", "quick", "paper"} <= set(names)
    for n in names:
        p = load_profile(n)
        assert p.name == n
        assert p.render.held_out_views < p.render.n_views


def _write(tmp_path, text):
    p = tmp_path / "p.yaml"
    p.write_text(text)
    return str(p)


def test_unknown_key_is_named(tmp_path):
    with pytest.raises(UserError) as e:
        load_profile(_write(tmp_path, "name: x\nscenario:\n  n_frame: 3\n"))
    assert "scenario.n_frame" in str(e.value) and "unknown key" in str(e.value)


def test_out_of_range_value_is_named(tmp_path):
    with pytest.raises(UserError) as e:
        load_profile(_write(tmp_path, "name: x\nrender:\n  width: 2\n"))
    assert "render.width" in str(e.value)
    with pytest.raises(UserError) as e:
        load_profile(_write(tmp_path, "name: x\nsplits: {train: 0.5, val: 0.1, test: 0.1}\n"))
    assert "splits" in str(e.value) and "sum to 1" in str(e.value)
    with pytest.raises(UserError) as e:
        load_profile(_write(tmp_path, "name: x\nphysics:\n  spring_mass:\n    restitution: [0.5, 1.5]\n"))
    assert "physics.spring_mass" in str(e.value) and "restitution" in str(e.value)


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = _write(tmp_path, "name: x\nscenario: [1, 2\n")
    with pytest.raises(UserError) as e:
        load_profile(path)
    msg = str(e.value)
    assert path in msg and "malformed YAML" in msg and "\n" not in msg


def test_unknown_profile_name():
    with pytest.raises(UserError) as e:
        load_profile("nope")
    assert "--profile" in str(e.value) and "tiny" in str(e.value)


def test_every_shipped_method_config_is_accepted_by_its_method():
    """configs/methods/<method>[_variant].yaml: each resolves without unknown keys or bad values."""
    import pathlib

    import yaml

    from methods.registry import available_methods, make_method

    names = sorted(available_methods(), key=len, reverse=True)
    files = sorted((pathlib.Path(__file__).resolve().parents[2] / "configs" / "methods").glob("*.yaml"))
    assert len(files) >= 7
    for f in files:
        name = next(n for n in names if f.stem == n or f.stem.startswith(n + "_"))
        make_method(name, yaml.safe_load(f.read_text()) or {})


def test_every_shipped_profile_validates():
    """configs/profiles/*.yaml: each loads into a DatasetProfile under its own name."""
    from datagen.profile import PROFILE_DIR

    files = sorted(PROFILE_DIR.glob("*.yaml"))
    assert len(files) >= 10
    for f in files:
        assert load_profile(f.stem).name == f.stem
