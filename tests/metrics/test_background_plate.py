"""Background plates (Blender GT): evaluation composites predictions over them, methods see matted frames.

A splat dataset is turned into one whose frames show the object over a textured plate (the way a Blender
sample's frames show it over the scene): GT' = GT + (1 - alpha) * (plate - background). Its oracle, which
renders the object over the flat colour, must then score as well as on the flat data when composited over
the plate, and badly when scored as rendered.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bench.cli import run as bench_run


@pytest.fixture(scope="module")
def flat(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("plate") / "flat"
    bench_run(["gen", "--profile", "tiny", "--n", "1", "--out", str(root)])
    return root


def _texture(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    checker = ((yy // 8 + xx // 8) % 2).astype(np.float32)[..., None]
    return np.clip(0.15 + 0.5 * checker * rng.uniform(0.3, 1.0, 3) + 0.1 * rng.random((h, w, 3)), 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def plated(flat, tmp_path_factory) -> Path:
    from core.dataset import SampleDir
    from core.frames import write_rgba_png
    from core.hashing import sha256_file

    root = tmp_path_factory.mktemp("plate") / "plated"
    shutil.copytree(flat, root)
    recs = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]
    for rec in recs:
        s = SampleDir(root / rec["sample_id"])
        bg = np.asarray(s.meta["render"]["background"], np.float32)
        for i, v in enumerate(s.views):
            rgb0, _ = s.frame(v, 0)
            plate = _texture(*rgb0.shape[:2], seed=i)
            write_rgba_png(s.plate_path(v), plate, np.ones(plate.shape[:2], np.float32))
            for track in [s.main] + ([s.transfer] if s.has_transfer else []):
                for t in range(s.n_frames):
                    rgb, a = track.frame(v, t)
                    write_rgba_png(track.rgb_path(v, t), rgb + (1.0 - a[..., None]) * (plate - bg), a)
        rec["files"] = {str(p.relative_to(s.path)): sha256_file(p) for p in sorted(s.path.rglob("*"))
                        if p.is_file() and p.name != "blender.log"}
    (root / "manifest.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in recs))
    return root


def test_composite_equals_rendering_over_the_plate():
    """Independent reference: the splat renderer over black gives the premultiplied colour C and alpha; the
    object over the plate is C + (1 - alpha) * plate. Compositing its over-the-colour render must give that."""
    import torch

    from metrics.evaluate import composite_over_plate
    from render.cameras import orbit_cameras
    from render.splat import render_gaussians

    cam = orbit_cameras(1, 2.0, 15.0, target=(0.0, 0.0, 0.3), width=48, height=40)[0]
    g = torch.Generator().manual_seed(0)
    means = torch.rand(60, 3, generator=g) * 0.4 + torch.tensor([-0.2, -0.2, 0.1])
    scales, colors = torch.full((60,), 0.04), torch.rand(60, 3, generator=g)
    opac = torch.rand(60, generator=g) * 0.8 + 0.1
    bg = (0.9, 0.2, 0.6)
    over_bg = render_gaussians(means, scales, colors, opac, cam, background=bg)
    over_black = render_gaussians(means, scales, colors, opac, cam, background=(0.0, 0.0, 0.0))
    plate = _texture(40, 48, seed=3)
    rgb, alpha = over_bg["rgb"].numpy()[None], over_bg["alpha"].numpy()[None]
    got, _ = composite_over_plate((rgb, alpha), plate, bg)
    a = over_black["alpha"].numpy()[..., None]
    want = np.clip(over_black["rgb"].numpy() + (1.0 - a) * plate, 0, 1)
    assert 0.05 < float(alpha.mean()) < 0.95
    np.testing.assert_allclose(got[0], want, atol=2e-6)
    assert composite_over_plate((rgb, alpha), None, bg)[0] is rgb  # no plate: scored as rendered


def test_oracle_scores_over_the_plate_and_fails_over_the_flat_colour(plated, flat, tmp_path):
    for name, data in (("flat", flat), ("plated", plated)):
        bench_run(["run", "--method", "oracle", "--data", str(data), "--split", "all", "--out", str(tmp_path / name)])
    shutil.copytree(tmp_path / "plated", tmp_path / "plated-flat")
    bench_run(["eval", str(tmp_path / "plated")])
    bench_run(["eval", str(tmp_path / "plated-flat"), "--background", "flat"])
    bench_run(["eval", str(tmp_path / "flat")])
    res = {k: json.loads((tmp_path / k / "results.json").read_text()) for k in ("plated", "plated-flat", "flat")}
    psnr = {k: float(r["samples"][0]["summary"]["future"]["all"]["psnr"]) for k, r in res.items()}  # JSON keeps inf as "inf"
    assert psnr["flat"] == float("inf")  # the splat oracle is bit-identical to splat GT
    assert psnr["plated"] > 40.0, psnr  # only the 8-bit rounding of the composite is left
    assert psnr["plated-flat"] < 25.0, psnr  # the plate's texture against the flat colour
    assert res["plated"]["protocol_id"] != res["plated-flat"]["protocol_id"]
    assert "plate" in res["plated"]["protocol"]["background"]
    m = json.loads((tmp_path / "plated" / res["plated"]["samples"][0]["sample_id"] / "metrics.json").read_text())
    assert "background/view0.png" in m["hashes"]["gt"]  # the plate is one of the GT files a score depends on


def test_methods_see_frames_matted_onto_the_background_colour(plated, flat):
    """The observation of the plated sample equals the flat sample's (to the 8-bit rounding of the two
    composites), and is exactly the background colour off the object."""
    from core.dataset import SampleDir
    from methods.base import MethodInputs
    from methods.observation import build_observation

    sid = json.loads((flat / "manifest.jsonl").read_text().splitlines()[0])["sample_id"]
    a = build_observation(flat / sid, MethodInputs())
    b = build_observation(plated / sid, MethodInputs())
    no_mask = build_observation(plated / sid, MethodInputs(masks=False))
    bg = np.asarray(SampleDir(flat / sid).meta["render"]["background"], np.float32)
    for v in a.rgb:
        assert np.abs(a.rgb[v] - b.rgb[v]).max() <= 2.5 / 255
        off = b.alpha[v] == 0
        assert off.any() and np.all(b.rgb[v][off] == bg)
        assert np.abs(no_mask.rgb[v] - a.rgb[v]).max() > 0.2  # without masks: the frames as they are
