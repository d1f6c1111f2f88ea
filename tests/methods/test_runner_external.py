"""The run stage: external command methods, failures and time limits are recorded, never dropped."""
import json
import sys
import textwrap

import numpy as np
import pytest

from bench.cli import run as bench
from core.rundir import RunSample

EXTERNAL = textwrap.dedent('''
    import json, sys, pathlib
    import numpy as np, imageio.v3 as iio
    inp, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    obs = json.loads((inp / "observation.json").read_text())
    cams = json.loads((inp / "cameras.json").read_text())["cameras"]
    last = {}
    for v in obs["visible_views"]:
        last[v] = iio.imread(inp / "rgb" / v / f"{obs['n_observed'] - 1:04d}.png")
    for c in cams:
        img = last.get(c["name"], np.zeros((c["height"], c["width"], 4), np.uint8))
        d = out / "pred" / "rgb" / c["name"]
        d.mkdir(parents=True, exist_ok=True)
        for t in range(obs["n_frames"]):
            iio.imwrite(d / f"{t:04d}.png", img)
    (out / "pred" / "params.json").write_text(json.dumps({"model": "spring_mass", "params": {"stiffness": 50.0}}))
''')


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("ext")
    prof = root / "p.yaml"
    prof.write_text((__import__("datagen.profile", fromlist=["x"]).PROFILE_DIR / "tiny.yaml").read_text()
                    .replace("n_samples: 6", "n_samples: 2"))
    bench(["gen", "--profile", str(prof), "--out", str(root / "data")])
    return root


def _cfg(root, name, command, **extra):
    p = root / f"{name}.yaml"
    p.write_text(json.dumps({"name": name, "label": f"<script>{name}</script>", "command": command,
                             "inputs": {"views": "mono"}, **extra}))
    return str(p)


def test_external_command_round_trip(tiny_data):
    script = tiny_data / "m.py"
    script.write_text(EXTERNAL)
    cfg = _cfg(tiny_data, "holdlast", f"{sys.executable} {script} {{input}} {{output}}")
    out = tiny_data / "run-ext"
    bench(["run", "--method", "external", "--method-config", cfg, "--data", str(tiny_data / "data"),
           "--split", "all", "--out", str(out)])
    run = json.loads((out / "run.json").read_text())
    assert run["method"] == "holdlast" and run["method_spec"]["inputs"]["views"] == "mono"
    for sid in run["samples"]:
        st = json.loads((out / sid / "status.json").read_text())
        assert st["status"] == "ok", st
        meta = json.loads((tiny_data / "data" / sid / "sample.json").read_text())
        mono = meta["render"]["monocular_view"]
        rgb, alpha = RunSample(out / sid).read_frames(mono, meta["time"]["n_frames"])
        assert rgb.shape[0] == meta["time"]["n_frames"] and alpha.max() > 0.5
        # the external program saw only the monocular view's observed frames
        shown = json.loads((out / sid / "work" / "input_files.json").read_text())
        assert {f.split("/")[1] for f in shown if f.startswith("rgb/")} == {mono}
        assert not any(f.startswith(("gt/", "depth/", "asset/")) for f in shown)
    bench(["eval", str(out)])
    res = json.loads((out / "results.json").read_text())
    assert all(s["params"]["status"] == "ok" for s in res["samples"])  # same model as GT: scored
    bench(["board", str(out), "--out", str(tiny_data / "site")])
    html = (tiny_data / "site" / "index.html").read_text()
    assert "&lt;script&gt;holdlast&lt;/script&gt;" in html and "<script>holdlast" not in html


def test_failing_and_slow_methods_are_recorded(tiny_data):
    for name, cmd, timeout, why in (("crash", f"{sys.executable} -c 'raise SystemExit(3)'", 60, "exited with 3"),
                                    ("slow", "sleep 30", 2, "timeout")):
        cfg = _cfg(tiny_data, name, cmd, timeout_s=timeout)
        out = tiny_data / f"run-{name}"
        bench(["run", "--method", "external", "--method-config", cfg, "--data", str(tiny_data / "data"),
               "--split", "all", "--out", str(out)])
        run = json.loads((out / "run.json").read_text())
        sts = [json.loads((out / s / "status.json").read_text()) for s in run["samples"]]
        assert len(sts) == 2 and all(s["status"] == "failed" and why in s["reason"] for s in sts), sts
        bench(["eval", str(out)])
        res = json.loads((out / "results.json").read_text())
        assert [s["status"] for s in res["samples"]] == ["failed", "failed"]


def test_observation_hides_gt_ground_parameters(tiny_data):
    """The world block's ground friction / restitution are sampled GT parameters: only privileged
    (gt_physics) methods see them; everything else of the world block passes through."""
    from methods.base import MethodInputs
    from methods.observation import build_observation

    sample = sorted(p for p in (tiny_data / "data").iterdir() if p.is_dir())[0]
    meta = json.loads((sample / "sample.json").read_text())
    assert "friction" in meta["world"]["ground"]
    plain = build_observation(sample, MethodInputs(views="mono"))
    oracle = build_observation(sample, MethodInputs(views="mono", gt_physics=True))
    assert "friction" not in plain.world["ground"] and "restitution" not in plain.world["ground"]
    assert plain.world["ground"]["height"] == meta["world"]["ground"]["height"]
    assert plain.world["gravity"] == meta["world"]["gravity"]
    assert oracle.world["ground"]["friction"] == meta["world"]["ground"]["friction"]
