"""``external``: run any program on an exported observation dir and read back a run dir.

Configure it with a YAML file (``bench run --method external --method-config my.yaml``)::

    name: my_method                   # shown on the leaderboard
    label: My method (Smith et al. 2026)
    command: "python run.py --input {input} --output {output}"
    inputs: {views: multi, depth: true, canonical: false}
    timeout_s: 1800

The command runs without a shell (``methods.external_spec``). The program reads ``{input}`` (observation.json, cameras.json, rgb/<view>/<t>.png for the observed
frames of the views it may see, depth/ and asset/gaussians.ply and tracks.npy if declared) and
writes ``{output}/pred/`` in run format v1 (see bench/run_format.py): one RGBA PNG per frame per
camera listed in cameras.json, and optionally points.npy and params.json. No import of our code.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from core.processes import kill_with_parent_preexec
from core.frames import frame_name, write_rgba_png
from core.jsonio import write_json
from core.rundir import RunSample
from methods.base import Method, MethodInputs, Observation, Prediction, Query
from methods.external_spec import CARD, ExternalConfig

class ExternalMethod(Method):
    card = CARD
    Config = ExternalConfig
    runs_externally = True

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        cfg = self.cfg
        self.inputs = MethodInputs(**cfg["inputs"])
        self.name = str(cfg.get("name") or "external")
        for key in ("label", "paper", "description", "replaces"):
            if cfg.get(key):
                setattr(self, key, str(cfg[key]))
        self.command = cfg["command"]

    def fit(self, obs: Observation) -> Any:
        return obs

    def predict(self, asset: Any, query: Query) -> Prediction:
        raise RuntimeError("external methods run through run_sample (they need a working directory)")

    def run_sample(self, obs: Observation, query: Query, workdir: Path) -> Prediction:
        inp, out = workdir / "input", workdir / "output"
        for d in (inp, out):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
        export_observation(obs, query, inp)
        argv = [a.format(input=str(inp), output=str(out)) for a in shlex.split(self.command)]
        with open(workdir / "external.log", "w") as log:
            proc = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  preexec_fn=kill_with_parent_preexec)  # dies with the sample process
        if proc.returncode != 0:
            tail = (workdir / "external.log").read_text()[-300:].strip().replace("\n", " | ")
            raise RuntimeError(f"external command exited with {proc.returncode}: {tail}")
        rgb, alpha = {}, {}
        written = RunSample(out)
        for cam in query.cameras:
            fr = written.read_frames(cam.name, query.n_frames)
            if fr is not None:
                rgb[cam.name], alpha[cam.name] = fr
        if not rgb:
            raise RuntimeError(f"external command wrote no frames under {out}/pred/rgb/<view>/")
        points, corr = written.read_points()
        exported = sorted(str(p.relative_to(inp)) for p in inp.rglob("*") if p.is_file())
        write_json(workdir / "input_files.json", exported)  # what the program was shown
        shutil.rmtree(inp)  # a copy of dataset files: not kept in the run dir
        return Prediction(rgb=rgb, alpha=alpha, points=points, points_correspond=corr, params=written.read_params())


def export_observation(obs: Observation, query: Query, dest: Path) -> None:
    """Write an Observation as files an external program can read without our code."""
    visible = [c.name for c in obs.cameras]
    write_json(dest / "observation.json", {
        "sample_id": obs.sample_id, "object_id": obs.object_id, "fps": obs.fps, "n_frames": obs.n_frames,
        "n_observed": obs.n_observed, "background": list(obs.background), "world": obs.world,
        "visible_views": visible, "predict_views": [c.name for c in query.cameras],
        "predict_frames": [0, query.n_frames],
    })
    write_json(dest / "cameras.json", {"convention": "opencv", "cameras": [
        {**c.to_json(), "visible": c.name in visible} for c in query.cameras]})
    for v, rgb in obs.rgb.items():
        alpha = obs.alpha.get(v, np.ones(rgb.shape[:-1], np.float32))
        for t in range(rgb.shape[0]):
            write_rgba_png(dest / "rgb" / v / frame_name(t), rgb[t], alpha[t])
    for v, dep in obs.depth.items():
        (dest / "depth" / v).mkdir(parents=True, exist_ok=True)
        for t in range(dep.shape[0]):
            np.save(dest / "depth" / v / f"{t:04d}.npy", dep[t])
    if obs.canonical is not None:
        from render.gaussians_ply import write_gaussians_ply

        c = obs.canonical
        (dest / "asset").mkdir(parents=True, exist_ok=True)
        write_gaussians_ply(dest / "asset" / "gaussians.ply", c["means"], c["scales"], c["colors"], c["opacities"])
    if obs.tracks is not None:
        np.save(dest / "tracks.npy", obs.tracks)
