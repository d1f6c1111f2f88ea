"""PhysInteract's per-particle Young's modulus field on generated MPM data with a two-region E field.

The dataset side already writes two-region fields (`physics.mpm.two_region_probability`: the half of
the particles on one side of a random plane is stiffer by `region_log10_ratio`, recorded in
sample.json and gt/fields.npz). Here one such sample (an object stretched by two grips, the tiny_mpm
grid) is generated, PhysInteract runs through `bench run` with the per-particle field and with the
uniform-E ablation, and `bench eval` scores both from pred/fields.npz.

What holds at this budget (20 iterations, 200 particles, one 48 px view) and is asserted: the field is
stiffer on the GT-stiff side, and its mean |log10 E error| is below the floor that ANY uniform field
has on a two-region GT (min(f, 1 - f) * gap) and below the fitted uniform field's. Material accuracy
(eq. 6, delta = 0.2) is reported; it is not asserted to beat the uniform fit: a uniform field scores 0
or about 0.5 per sample depending on whether its compromise value lands within 20 % of one region.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.slow

PROFILE = """
name: mpm-two-region
description: tiny_mpm's MPM grid, a stretch interaction and a two-region Young's modulus field.
seed: 5
n_samples: 1
assets: {source: procedural, variants_per_shape: 1, shapes: [box, capsule]}
splits: {train: 0.0, val: 0.0, test: 1.0}
scenario:
  kind: interaction
  n_frames: 8
  fps: 20
  observed_fraction: 0.75
  interaction: {kinds: [stretch], displacement_m: [0.25, 0.3], control_radius_m: 0.2, control_max_neighbors: 8,
                control_stiffness: 200.0, transfer: false}
physics:
  model: mpm
  mpm: {n_particles: 600, n_grid: 24, log10_youngs_modulus: [3.5, 3.6], poisson_ratio: [0.3, 0.3], density: 100.0,
        two_region_probability: 1.0, region_log10_ratio: [0.8, 0.8]}
render: {width: 48, height: 48, n_views: 2, held_out_views: 1, fov_deg: 40, camera_distance_m: 2.6,
         look_at_height_m: 0.5, n_surface_points: 400}
"""
FIT = {"iterations": 20, "n_particles": 200, "lr_material": 0.15, "log10_E_bounds": [3.0, 5.0],
       "grad_smoothing": 4, "lambda_smooth": 1.0}


def test_per_particle_field_recovers_a_two_region_field_on_dataset_data(tmp_path):
    from scipy.spatial import cKDTree

    from bench.cli import run as bench
    from core.jsonio import read_json

    (tmp_path / "p.yaml").write_text(PROFILE)
    data = tmp_path / "data"
    assert bench(["gen", "--profile", str(tmp_path / "p.yaml"), "--out", str(data)]) == 0
    (sid,) = [p.name for p in data.iterdir() if (p / "sample.json").exists()]
    gt_phys = read_json(data / sid / "sample.json")["physics"]["params"]
    assert gt_phys["E_field"] == "two_region" and gt_phys["region_log10_ratio"] == pytest.approx(0.8)
    x_gt = np.load(data / sid / "gt" / "particles.npy")[0]
    with np.load(data / sid / "gt" / "fields.npz") as f:
        log_gt = np.log10(f["E"].astype(np.float64))
    stiff = log_gt > log_gt.min() + 0.4
    side = (x_gt - x_gt.mean(0)) @ np.asarray(gt_phys["region_normal"]) > 0
    np.testing.assert_array_equal(stiff, side)  # the stiff half is the normal's side of the plane
    gap = float(log_gt.max() - log_gt.min())
    uniform_floor = min(stiff.mean(), 1 - stiff.mean()) * gap  # min over c of mean |c - log10 E_gt|

    res = {}
    for name, extra in (("field", {}), ("uniform", {"material_field": "uniform"})):
        cfg, out = tmp_path / f"{name}.json", tmp_path / f"run-{name}"
        cfg.write_text(json.dumps({**FIT, **extra}))
        assert bench(["run", "--method", "physinteract", "--method-config", str(cfg), "--data", str(data),
                      "--split", "all", "--inline", "--out", str(out)]) == 0
        assert bench(["eval", str(out)]) == 0
        met = read_json(out / sid / "metrics.json")
        assert met["status"] == "ok" and met["track"] == "interaction"
        ma = met["params"]["material_accuracy"]
        assert ma["source"] == "fields" and ma["n_particles"] == len(log_gt)
        with np.load(out / sid / "pred" / "fields.npz") as f:
            _, nn = cKDTree(f["x0"]).query(x_gt)
            log_pred = np.log10(f["E"].astype(np.float64))[nn]
        res[name] = {"ma": ma["value"], "log_err": float(np.abs(log_pred - log_gt).mean()),
                     "soft": float(log_pred[~stiff].mean()), "stiff": float(log_pred[stiff].mean()),
                     "ptp": float(np.ptp(log_pred))}
    print({"uniform_floor": uniform_floor, **res})
    field, uni = res["field"], res["uniform"]
    assert uni["ptp"] == 0.0 and field["ptp"] > 0.0
    # measured 2026-12-03 (two-leg stretch, trajectory framing): soft 3.88 / stiff 4.11 (GT 3.55 / 4.35), log error
    # 0.285 vs floor 0.40, MA 0.05 vs uniform 0.0 (0.0 / 0.296 on the CI machine; 0.21 on the one-leg data of
    # 2026-11). MA at delta = 0.2 needs |log10 error| < 0.08: a field that is right in sign and in mean error but
    # still smoothed across the plane scores near 0, so it is reported, not asserted (see the module doc).
    assert field["stiff"] - field["soft"] > 0.2 * gap
    assert field["log_err"] < uniform_floor - 0.05 and field["log_err"] < uni["log_err"]
    assert 0.0 <= field["ma"] <= 1.0
