"""CLI: --help stays light; each bad input is one clear line and a non-zero exit, never a traceback."""
import subprocess
import sys

import pytest


def bench(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_help_does_not_import_heavy_libraries():
    code = ("import sys\nfrom bench.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'warp', 'taichi', 'bpy') if m in sys.modules]\n"
            "print('HEAVY', heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr
    for verb in ("gen", "run", "eval", "board", "check", "list", "show"):
        assert verb in out.stdout


def _one_line_error(res, *needles):
    assert res.returncode != 0
    err = res.stderr.strip()
    assert "Traceback" not in res.stderr, res.stderr
    assert len(err.splitlines()) == 1, err
    for n in needles:
        assert n in err, err


def test_unknown_method(tmp_path):
    _one_line_error(bench("run", "--method", "nosuch", "--data", str(tmp_path)), "--method", "nosuch", "static")


def test_missing_dataset(tmp_path):
    _one_line_error(bench("run", "--method", "static", "--data", str(tmp_path / "absent")), "--data", "does not exist")


def test_not_a_dataset(tmp_path):
    _one_line_error(bench("run", "--method", "static", "--data", str(tmp_path)), "no manifest.jsonl")


def test_wrong_split_name(tmp_path):
    _one_line_error(bench("run", "--method", "static", "--data", str(tmp_path), "--split", "tset"), "--split", "tset", "train")


def test_malformed_yaml(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nscenario: {n_frames: 3\n")
    _one_line_error(bench("gen", "--profile", str(bad), "--out", str(tmp_path / "d")), str(bad), "malformed YAML")


def test_unknown_profile_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nrender: {widht: 32}\n")
    _one_line_error(bench("gen", "--profile", str(bad), "--out", str(tmp_path / "d")), "render.widht", "unknown key")


def test_unknown_profile_name(tmp_path):
    _one_line_error(bench("gen", "--profile", "giant", "--out", str(tmp_path / "d")), "--profile", "giant")


def test_eval_and_board_on_non_runs(tmp_path):
    _one_line_error(bench("eval", str(tmp_path)), "not a run directory")
    _one_line_error(bench("board", str(tmp_path), "--out", str(tmp_path / "site")), "not a run directory")
    _one_line_error(bench("check", str(tmp_path / "nothing")), "does not exist")
    _one_line_error(bench("show", str(tmp_path)), "no sample.json")


def test_list_shows_methods_and_profiles():
    res = bench("list")
    assert res.returncode == 0, res.stderr
    for word in ("static", "oracle", "external", "tiny", "quick", "paper"):
        assert word in res.stdout
