"""PhysInteract: stand-ins, interior filling, and the paper's material claims at tiny scale.

Slow tests build a synthetic MPM stretch scene with a two-region E field (soft half / stiff half),
render it monocularly, and check (i) the per-particle field beats a uniform-E fit in material
accuracy (PhysInteract eq. 6) and (ii) joint trajectory optimisation beats material-only
optimisation under a noisy initial trajectory (paper Table 3, "w/o JO").
"""
from __future__ import annotations

import io

import numpy as np
import pytest

from methods.base import Observation, Query

FAST = dict(n_particles=150, log10_E_bounds=[3.0, 4.6], iterations=20, lr_material=0.15, control_radius_m=0.06)


def make_scene(n_frames: int = 6, log10_soft: float = 3.6, log10_stiff: float = 4.2, size: float = 0.3,
               res: int = 48, seed: int = 0, stretch: float = 0.08) -> tuple[Observation, dict]:
    """A box on the ground stretched by two grips; E is 10^soft for x < 0 and 10^stiff for x > 0."""
    import trimesh

    from physics.binding import apply_binding, idw_binding
    from physics.mpm import MPMParams, fill_mesh_particles, simulate_mpm
    from render.cameras import orbit_cameras
    from render.frames import render_trajectory

    m = trimesh.creation.box(extents=(size * 1.6, size, size))
    v = np.asarray(m.vertices) + [0, 0, size / 2]
    fill = fill_mesh_particles(v, np.asarray(m.faces), n=120, density=100.0)
    x0 = fill.positions
    E = np.where(x0[:, 0] < 0, 10.0**log10_soft, 10.0**log10_stiff)
    surf = np.asarray(trimesh.sample.sample_surface_even(trimesh.Trimesh(v, m.faces), 400, seed=seed)[0])
    colors = np.stack([0.5 + 0.4 * np.sin(surf[:, 0] * 40), 0.5 + 0.4 * np.cos(surf[:, 2] * 40),
                       0.5 + 0.3 * np.sin(surf[:, 1] * 30)], 1)
    s = np.linspace(0, 1, n_frames)[:, None]
    sm = s**3 * (10 - 15 * s + 6 * s * s)
    left, right = np.array([x0[:, 0].min(), 0, size / 2]), np.array([x0[:, 0].max(), 0, size / 2])
    ctrl = np.stack([left + sm * [-stretch, 0, 0.3 * stretch], right + sm * [stretch, 0, 0.3 * stretch]], 1)
    w, ng = 0.6, 16
    lo_z = -4.0 * 2 * w / ng
    params = MPMParams(n_grid=ng, domain_lo=(-w, -w, lo_z), domain_hi=(w, w, 2 * w + lo_z), density=100.0, E=E, nu=0.3,
                       ground="separate", friction=0.5, ground_height=0.0)
    sim = simulate_mpm(x0, np.zeros(3), fill.volumes, params, n_frames, 20.0, controls=ctrl, control_radius=0.06)
    idx, wts = idw_binding(surf, x0, k=8)
    pts = np.asarray(apply_binding(surf, x0, sim.positions, idx, wts, mode="lbs"), np.float32)
    cam = orbit_cameras(1, 1.0, 15.0, target=(0, 0, size / 2), width=res, height=res, fov_deg=40, start_azimuth_deg=-90)[0]
    scale = np.full(len(surf), 0.9 * 0.5 * size / np.sqrt(400 / 6))
    fr = render_trajectory(pts, colors, scale, 1.0, [cam], (1.0, 1.0, 1.0))[cam.name]
    obs = Observation(sample_id="synthetic", object_id="box", fps=20.0, n_frames=n_frames, n_observed=n_frames,
                      background=(1.0, 1.0, 1.0), world={"ground": {"friction": 0.5}}, cameras=[cam],
                      rgb={cam.name: fr["rgb"]}, alpha={cam.name: fr["alpha"]},
                      canonical={"means": surf.astype(np.float32), "scales": scale.astype(np.float32),
                                 "colors": colors.astype(np.float32), "opacities": np.ones(len(surf), np.float32)},
                      controls=ctrl)
    return obs, {"x0": x0, "E": E, "points": pts, "particles": sim.positions, "vol": fill.volumes}


def _scores(asset: dict, gt: dict) -> dict[str, float]:
    from scipy.spatial import cKDTree

    from metrics.physics_params import material_accuracy

    _, nn = cKDTree(asset["x0"]).query(gt["x0"])
    pe = asset["E"][nn]
    return {"ma": material_accuracy(pe, gt["E"]), "log_err": float(np.abs(np.log10(pe) - np.log10(gt["E"])).mean())}


def test_registry_config_and_card():
    from core.method_config import load_method_config
    from core.errors import UserError
    from methods.physinteract.spec import PhysInteractConfig
    from methods.registry import make_method

    cfg = load_method_config("physinteract")
    assert set(cfg) <= set(PhysInteractConfig.model_fields)
    m = make_method("physinteract", cfg)
    assert m.inputs.views == "mono" and m.inputs.canonical and m.inputs.controls and not m.inputs.tracks
    assert "SAM" in m.replaces and "4D-Humans" in m.replaces
    with pytest.raises(UserError, match="unknown key 'lr'"):
        make_method("physinteract", {"lr": 1.0})


def test_interior_filling_of_gaussian_centres():
    from methods.physinteract.perception import fill_gaussians

    rng = np.random.default_rng(0)
    d = rng.normal(size=(2000, 3))
    surf = 0.2 * d / np.linalg.norm(d, axis=1, keepdims=True) + [0, 0, 0.3]
    x, h = fill_gaussians(surf, 400)
    r = np.linalg.norm(x - [0, 0, 0.3], axis=1)
    assert 150 < len(x) < 900 and r.max() < 0.2 + h and (r < 0.1).sum() > 5  # interior is filled
    assert abs(len(x) * h**3 - 4 / 3 * np.pi * 0.2**3) / (4 / 3 * np.pi * 0.2**3) < 0.6


def test_stand_in_contacts_are_exact_without_noise():
    from methods.physinteract.perception import contact_index, stand_in_contacts
    from render.cameras import orbit_cameras

    cam = orbit_cameras(1, 2.0, 20.0, target=(0, 0, 0.3))[0]
    ctrl = np.cumsum(np.full((5, 2, 3), 0.01), axis=0) + [[0.1, 0.0, 0.3], [-0.1, 0.0, 0.3]]
    c, t0 = stand_in_contacts(ctrl, cam, np.random.default_rng(0), 0.0, 0.0, 0.0)
    np.testing.assert_allclose(c, ctrl[0], atol=1e-9)
    np.testing.assert_allclose(t0, ctrl, atol=1e-9)
    c2, t2 = stand_in_contacts(ctrl, cam, np.random.default_rng(0), 2.0, 0.01, 0.01)
    assert 1e-4 < np.abs(c2 - ctrl[0]).max() < 0.1 and np.abs(t2 - ctrl).max() > 1e-3
    idx = contact_index(np.array([[0.1, 0.0, 0.3], [0.5, 0.5, 0.5], [-0.1, 0.01, 0.3]]), ctrl[0], 0.05)
    assert list(idx) == [0, -1, 1]


@pytest.fixture(scope="module")
def ablation():
    from methods.physinteract import PhysInteract

    obs, gt = make_scene()
    fits = {name: PhysInteract({**FAST, **extra}).fit(obs)
            for name, extra in (("full", {}), ("uniform", {"material_field": "uniform"}),
                                ("material_only", {"optimize_trajectory": False}))}
    return obs, gt, fits


@pytest.mark.slow
def test_per_particle_field_beats_uniform_fit(ablation):
    _, gt, fits = ablation
    full, uni = _scores(fits["full"], gt), _scores(fits["uniform"], gt)
    print("full", full, "uniform", uni)
    assert np.ptp(fits["uniform"]["E"]) == 0.0 and np.ptp(fits["full"]["E"]) > 0.0
    assert full["ma"] > uni["ma"]
    soft = gt["x0"][:, 0] < 0
    from scipy.spatial import cKDTree

    _, nn = cKDTree(fits["full"]["x0"]).query(gt["x0"])
    e = np.log10(fits["full"]["E"][nn])
    assert e[soft].mean() < e[~soft].mean()  # the field is stiffer on the stiff half


@pytest.mark.slow
def test_joint_trajectory_optimisation_beats_material_only(ablation):
    _, gt, fits = ablation
    full, mat = _scores(fits["full"], gt), _scores(fits["material_only"], gt)
    print("joint", full, "material-only", mat)
    assert full["log_err"] < mat["log_err"] and full["ma"] >= mat["ma"]
    assert fits["full"]["info"]["best_rec"] < fits["material_only"]["info"]["best_rec"]


@pytest.mark.slow
def test_prediction_fields_give_material_accuracy_in_eval(ablation, tmp_path):
    from methods.physinteract import PhysInteract
    from metrics.evaluate import field_material_accuracy

    obs, gt, fits = ablation
    m = PhysInteract(FAST)
    pred = m.predict(fits["full"], Query(n_frames=obs.n_frames, fps=obs.fps, cameras=obs.cameras, controls=obs.controls))
    v = obs.cameras[0].name
    assert pred.rgb[v].shape == obs.rgb[v].shape and pred.points.shape == gt["points"].shape
    assert np.abs(pred.points - gt["points"]).mean() < 0.03
    assert pred.params["model"] == "mpm" and pred.params["params"]["youngs_modulus"] > 0
    sample, run = tmp_path / "sample", tmp_path / "run"
    (sample / "gt").mkdir(parents=True)
    (run / "pred").mkdir(parents=True)
    np.savez(sample / "gt" / "fields.npz", E=gt["E"].astype(np.float32))
    np.save(sample / "gt" / "particles.npy", gt["particles"])
    (run / "pred" / "fields.npz").write_bytes(pred.extra_files["pred/fields.npz"])
    ma = field_material_accuracy(sample, run)
    assert ma is not None and ma["n_particles"] == len(gt["E"])
    assert ma["value"] == pytest.approx(_scores(fits["full"], gt)["ma"], abs=1e-6)
    with np.load(io.BytesIO(pred.extra_files["pred/fields.npz"])) as f:
        assert f["E"].shape == (len(fits["full"]["x0"]),)
    m.export_asset(fits["full"], tmp_path / "asset")
    assert (tmp_path / "asset" / "physics.json").exists() and (tmp_path / "asset" / "particles.npz").exists()


@pytest.mark.slow
def test_bench_run_on_mpm_and_interaction_data(tmp_path):
    """`bench run` on tiny_mpm (free fall, E field) and tiny_interact (transfer track): ok, scored,
    material accuracy read from pred/fields.npz."""
    import yaml

    from bench.cli import run as bench
    from core.jsonio import read_json

    cfg = tmp_path / "pi.yaml"
    cfg.write_text(yaml.safe_dump({"iterations": 2, "n_particles": 100, "n_grid": 12, "log10_E_bounds": [3.5, 5.6]}))
    for profile, extra in (("tiny_mpm", []), ("tiny_interact", ["--track", "transfer"])):
        data, run = tmp_path / profile, tmp_path / f"run-{profile}"
        bench(["gen", "--profile", profile, "--n", "2", "--out", str(data)])
        bench(["run", "--method", "physinteract", "--method-config", str(cfg), "--data", str(data), "--split", "all",
               "--inline", "--out", str(run), *extra])
        bench(["eval", str(run)])
        for s in read_json(run / "results.json")["samples"]:
            assert s["status"] == "ok", s["reason"]
            assert s["summary"]["future"]["all"]["psnr"] > 10.0
            if profile == "tiny_mpm":
                ma = s["params"]["material_accuracy"]
                assert ma["source"] == "fields" and 0.0 <= ma["value"] <= 1.0
                assert s["params"]["pred_model"] == "mpm" and "youngs_modulus" in s["params"]["errors"]
            else:
                assert s["track"] == "transfer"
