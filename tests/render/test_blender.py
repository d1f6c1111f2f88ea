"""Blender renderer (render/blender/): pipeline smoke, splat agreement, camera and depth conventions."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from render.blender import BlenderSettings, bpy_available, render_mesh_frames
from render.cameras import Camera, look_at, project_points

pytestmark = [pytest.mark.blender, pytest.mark.skipif(not bpy_available(), reason="bpy (Blender) is not installed")]


def _profile(**over):
    from datagen.profile import load_profile, profile_from_dict

    d = load_profile("tiny").model_dump(mode="json")
    base = {"n_samples": 1, "scenario.n_frames": 3, "render.width": 64, "render.height": 64, "render.n_views": 2,
            "render.held_out_views": 1, "render.renderer": "blender", "render.samples": 4, "render.timeout_s": 300,
            "render.framing": "trajectory"}
    for path, value in {**base, **over}.items():
        node = d
        *head, last = path.split(".")
        for k in head:
            node = node[k]
        node[last] = value
    return profile_from_dict(d)


def _icosphere(center, radius: float, subdivisions: int = 2) -> tuple[np.ndarray, np.ndarray]:
    import trimesh

    s = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    return np.asarray(s.vertices) + np.asarray(center, np.float64), np.asarray(s.faces)


def _render(faces, verts, cams, tmp_path: Path, engine: str = "cycles", samples: int = 16, **kw):
    settings = BlenderSettings(engine=engine, samples=samples, denoise=False, ground_plane=False, device="cpu",
                               timeout_s=300, **kw)
    grey = np.full((len(verts[0]), 3), 0.7)
    return render_mesh_frames(faces, verts, cams, settings, tmp_path / engine, tmp_path / f"{engine}.log",
                              vertex_colors=grey)


@pytest.mark.parametrize("look", ["studio", "photoreal"])
def test_generate_smoke(tmp_path: Path, look: str) -> None:
    from core.frames import read_rgba_png
    from datagen.generate import generate

    recs = generate(tmp_path / "d", _profile(**{"render.look": look}))
    assert [r["status"] for r in recs] == ["ok"], recs[0]["reason"]
    s = tmp_path / "d" / "s00000"
    assert (s / "blender.log").stat().st_size > 0 and "blender.log" not in recs[0]["files"]
    assert not (s / ".blender-job").exists()
    meta = json.loads((s / "sample.json").read_text())
    render = meta["render"]
    assert meta["versions"]["bpy"] not in (None, "not installed")  # the renderer that made the bytes is recorded
    assert (render["renderer"], render["engine"], render["samples"]) == ("blender", "cycles", 4)
    assert render["scene"]["kind"] == look and render["scene"]["ground"]["visible"]  # the record says what shows
    if look == "photoreal":
        assert render["scene"]["ground"]["pattern"] in ("checker", "noise") and render["scene"]["world"]["kind"] == "sky"
    dist = render["framing"]["distance_m"]  # camera distance to the look-at point (the trajectory's centre)
    r = render["framing"]["radius_m"]
    for view in ("view0", "view1"):
        for t in range(3):
            assert f"rgb/{view}/{t:04d}.png" in recs[0]["files"] and f"depth/{view}/{t:04d}.npy" in recs[0]["files"]
            rgb, alpha = read_rgba_png(s / "rgb" / view / f"{t:04d}.png")
            depth = np.load(s / "depth" / view / f"{t:04d}.npy")
            assert rgb.shape == (64, 64, 3) and alpha.shape == depth.shape == (64, 64)
            assert 0.0 <= alpha.min() and alpha.max() <= 1.0 and (alpha > 0.5).sum() > 50  # object visible
            fg = alpha >= 0.5
            assert np.isfinite(depth).all() and np.all(depth[~fg] == 0)
            assert np.all((depth[fg] > dist - r - 0.1) & (depth[fg] < dist + r + 0.1))
            assert rgb[~fg].std() > 0.01  # the ground plane shows in RGB but not in alpha
            # normals (24.3): written, unit length on the object, facing the camera side, none elsewhere
            nrgba = read_rgba_png(s / "normal" / view / f"{t:04d}.png")
            assert f"normal/{view}/{t:04d}.png" in recs[0]["files"]
            on = nrgba[1] > 0.5
            assert np.array_equal(on, fg) or abs(int(on.sum()) - int(fg.sum())) <= 0.02 * fg.size
            n = 2.0 * nrgba[0][on] - 1.0
            assert np.all(np.abs(np.linalg.norm(n, axis=-1) - 1.0) < 0.03) and np.all(nrgba[0][~on] == 0)
        # the background plate: the same scene without the object. Away from the object (and its shadow, which is
        # below it) it shows what the frames show; where the object was, it shows the scene behind it instead
        assert f"background/{view}.png" in recs[0]["files"] and render["background_plate"]["path"]
        plate, plate_a = read_rgba_png(s / "background" / f"{view}.png")
        assert plate.shape == (64, 64, 3) and np.all(plate_a == 1.0)
        from scipy.ndimage import binary_dilation

        rgb0, alpha0 = read_rgba_png(s / "rgb" / view / "0000.png")
        near = binary_dilation(alpha0 > 0.01, iterations=12)
        assert np.median(np.abs(plate - rgb0)[~near]) < 0.02, np.median(np.abs(plate - rgb0)[~near])
        on = alpha0 > 0.99
        assert np.abs(plate - rgb0)[on].mean() > 3.0 * np.abs(plate - rgb0)[~near].mean()


def test_splat_and_blender_silhouettes_agree(tmp_path: Path, record_property) -> None:
    """Same simulated frames, mesh (Blender) vs surface Gaussians (splat): alpha > 0.5 masks.

    The splat silhouette is larger by the Gaussians' extent (a few sigma plus the 0.3 px^2 low-pass),
    so the comparison uses dense, small Gaussians (8000 points, scale 0.5 x spacing, 96 px): IoU ~0.93.
    At the tiny profile's 300 points x 0.9 it is ~0.57 (1200 x 0.9: ~0.77) with the same registration.
    """
    from datagen.rendering import render_sample_frames
    from datagen.sample_build import build_scene
    from datagen.writer import make_cameras

    prof = _profile(**{"scenario.n_frames": 2, "render.width": 96, "render.height": 96,
                       "render.n_surface_points": 8000, "render.gaussian_scale_factor": 0.5})
    scene = build_scene(prof, "proc/box/000", np.random.default_rng(3))
    cams, _ = make_cameras(prof)
    blender = render_sample_frames(prof, scene, cams, tmp_path)
    splat = render_sample_frames(prof.model_copy(update={"render": prof.render.model_copy(update={"renderer": "splat"})}),
                                 scene, cams, tmp_path)
    ious, shifts = [], []
    for c in cams:
        for t in range(scene.points.shape[0]):
            a, b = blender[c.name]["alpha"][t] > 0.5, splat[c.name]["alpha"][t] > 0.5
            ious.append((a & b).sum() / (a | b).sum())
            shifts.append(np.linalg.norm(np.argwhere(a).mean(0) - np.argwhere(b).mean(0)))
    record_property("iou_min", float(min(ious)))
    print(f"splat vs blender silhouette IoU: min {min(ious):.3f} mean {np.mean(ious):.3f}; "
          f"mask centroid offset max {max(shifts):.2f} px")
    assert min(ious) >= 0.9 and max(shifts) < 0.75


@pytest.mark.parametrize("engine", ["cycles", "workbench"])
def test_camera_convention_projects_points(tmp_path: Path, engine: str, record_property) -> None:
    from scipy import ndimage

    centers = np.array([[0.0, 0.0, 0.5], [0.45, -0.3, 0.8], [-0.5, 0.35, 0.25]])
    parts = [_icosphere(c, 0.05) for c in centers]
    verts = np.concatenate([p[0] for p in parts])
    faces = np.concatenate([p[1] + sum(len(q[0]) for q in parts[:i]) for i, p in enumerate(parts)])
    w, h = 96, 64  # non-square image, off-centre principal points, different focal lengths
    cams = [Camera("a", w, h, [[120.0, 0, w / 2 + 6.0], [0, 120.0, h / 2 - 4.0], [0, 0, 1]],
                   look_at([2.6, 1.2, 1.4], [0.0, 0.0, 0.5])),
            Camera("b", w, h, [[100.0, 0, w / 2 - 3.5], [0, 100.0, h / 2 + 2.5], [0, 0, 1]],
                   look_at([-1.0, -2.8, 0.9], [0.0, 0.0, 0.5]))]
    out = _render(faces, verts[None], cams, tmp_path, engine)
    worst = 0.0
    for c in cams:
        alpha = out[c.name]["alpha"][0]
        labels, n = ndimage.label(alpha > 0.02)
        assert n == 3
        uv_pred, _ = project_points(centers, c)
        for k in range(1, n + 1):
            wgt = np.where(labels == k, alpha, 0.0)
            vv, uu = np.mgrid[0:h, 0:w] + 0.5  # pixel centres
            uv = np.array([(wgt * uu).sum(), (wgt * vv).sum()]) / wgt.sum()
            err = np.linalg.norm(uv_pred - uv, axis=1).min()
            worst = max(worst, float(err))
    record_property("projection_err_px", worst)
    print(f"{engine}: max projection error {worst:.3f} px")
    assert worst < 1.0


@pytest.mark.parametrize("engine", ["cycles", "workbench"])
def test_depth_is_z_depth_of_a_tilted_plane(tmp_path: Path, engine: str, record_property) -> None:
    cam = Camera("c", 64, 64, [[70.0, 0, 32.0], [0, 70.0, 32.0], [0, 0, 1]], look_at([0.0, -3.0, 1.0], [0.0, 0.0, 1.0]))
    # a 2 m square whose normal is tilted 30 degrees away from the camera axis, centred 3 m ahead
    n_world = np.array([0.0, -np.cos(np.radians(30)), np.sin(np.radians(30))])
    e1 = np.array([1.0, 0.0, 0.0])
    e2 = np.cross(n_world, e1)
    c0 = np.array([0.0, 0.0, 1.0])
    quad = np.array([c0 + sx * e1 + sy * e2 for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))])
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    out = _render(faces, quad[None], [cam], tmp_path, engine)
    alpha, depth = out["c"]["alpha"][0], out["c"]["depth"][0]
    inside = alpha > 0.999
    assert inside.sum() > 500
    # analytic z-depth at pixel centres: ray X = z d (d = K^-1 [u, v, 1]) meets n_c . X = n_c . c0_c
    w2c = cam.w2c
    n_c, p_c = w2c[:3, :3] @ n_world, w2c[:3, :3] @ c0 + w2c[:3, 3]
    vv, uu = np.mgrid[0:64, 0:64] + 0.5
    d = np.stack([(uu - 32.0) / 70.0, (vv - 32.0) / 70.0, np.ones_like(uu)], -1)
    z_true = (n_c @ p_c) / (d @ n_c)
    err = np.abs(depth - z_true)[inside]
    ray_len_gap = np.abs(z_true * np.linalg.norm(d, axis=-1) - z_true)[inside].max()
    record_property("depth_err_m", float(err.max()))
    print(f"{engine}: depth abs error max {err.max():.2e} m, mean {err.mean():.2e} m "
          f"(ray length would differ by up to {ray_len_gap:.3f} m)")
    # Cycles averages the depth of 16 jittered samples per pixel on a plane whose depth changes by
    # ~2.5 cm per pixel: a few mm of sampling noise per pixel, unbiased on average
    assert err.max() < 5e-3 and err.mean() < 1e-3 and ray_len_gap > 0.25


def test_inprocess_render_equals_the_worker_process_and_keeps_blender_quiet(tmp_path: Path, capfd) -> None:
    """`render.blender_process: inprocess` (the v1 default) renders the same bytes as the worker process, and
    Blender's own per-frame lines go to the log, not to the terminal (they would drown the progress bar)."""
    from render.cameras import orbit_cameras

    v, f = _icosphere((0.0, 0.0, 0.4), 0.3)
    verts = np.stack([v, v + [0.05, 0.0, -0.05]]).astype(np.float32)
    cams = orbit_cameras(2, 2.0, 15.0, target=(0.0, 0.0, 0.4), width=32, height=32)
    out = {}
    for proc in ("subprocess", "inprocess"):
        capfd.readouterr()
        out[proc] = _render(f, verts, cams, tmp_path / proc, samples=4, process=proc)
        printed = capfd.readouterr()
        assert "Saved:" not in printed.out + printed.err, proc
        assert (tmp_path / proc / "cycles.log").stat().st_size > 0
    for c in cams:
        for key in ("rgb", "alpha", "depth"):
            np.testing.assert_array_equal(out["inprocess"][c.name][key], out["subprocess"][c.name][key])
