"""render.cameras: OpenCV look-at, projection, transforms.json."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from render.cameras import (
    Camera,
    backproject_pixels,
    cameras_to_transforms_json,
    intrinsics_from_fov,
    look_at,
    orbit_cameras,
    project_points,
    transforms_json_to_cameras,
)


def test_look_at_axes_opencv():
    eye, target = np.array([3.0, -2.0, 1.5]), np.array([0.2, 0.1, 0.4])
    c2w = look_at(eye, target)
    R = c2w[:3, :3]
    np.testing.assert_allclose(R.T @ R, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)
    fwd = (target - eye) / np.linalg.norm(target - eye)
    np.testing.assert_allclose(R[:, 2], fwd, atol=1e-12)  # z looks at the target
    assert R[2, 1] < 0  # y (image down) points down in the world (z up)
    assert abs(R[2, 0]) < 1e-12  # x (image right) is horizontal
    np.testing.assert_allclose(c2w[:3, 3], eye)
    # hand example: camera on -y looking along +y -> x = +x world, y = -z world
    R0 = look_at((0, -5, 0), (0, 0, 0))[:3, :3]
    np.testing.assert_allclose(R0[:, 0], [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(R0[:, 1], [0, 0, -1], atol=1e-12)
    np.testing.assert_allclose(R0[:, 2], [0, 1, 0], atol=1e-12)
    # looking straight down still yields a valid rotation
    Rd = look_at((0, 0, 5), (0, 0, 0))[:3, :3]
    np.testing.assert_allclose(Rd[:, 2], [0, 0, -1], atol=1e-12)
    assert np.linalg.det(Rd) == pytest.approx(1.0)


def test_project_target_and_roundtrip():
    cams = orbit_cameras(5, 2.5, 25.0, target=(0.1, -0.2, 0.5), width=48, height=32, fov_deg=50.0)
    assert [c.name for c in cams] == [f"view{i}" for i in range(5)]
    rng = np.random.default_rng(0)
    for c in cams:
        uv, z = project_points(np.array([[0.1, -0.2, 0.5]]), c)
        np.testing.assert_allclose(uv[0], [24.0, 16.0], atol=1e-9)  # principal point = image centre
        assert z[0] == pytest.approx(2.5)
        assert np.linalg.norm(c.center - np.array([0.1, -0.2, 0.5])) == pytest.approx(2.5)
        assert c.fov_x == pytest.approx(math.radians(50.0))
        assert c.fov_y == pytest.approx(2 * math.atan(16 / c.fy))
        np.testing.assert_allclose(c.w2c @ c.c2w, np.eye(4), atol=1e-12)
        pts = rng.uniform(-0.5, 0.5, (20, 3)) + [0, 0, 0.5]
        uv, z = project_points(pts, c)
        np.testing.assert_allclose(backproject_pixels(uv, z, c), pts, atol=1e-10)
    # evenly spaced azimuths, elevation above the target
    az = [math.degrees(math.atan2(c.center[1] + 0.2, c.center[0] - 0.1)) % 360 for c in cams]
    np.testing.assert_allclose(np.diff(az), 72.0, atol=1e-9)
    assert all(c.center[2] - 0.5 == pytest.approx(2.5 * math.sin(math.radians(25))) for c in cams)


def test_pixel_convention_hand_example():
    # camera at the origin looking along world +y; a point 1 px right of the axis at depth 2
    K = np.array([[100.0, 0, 32.0], [0, 100.0, 24.0], [0, 0, 1]])
    cam = Camera("c", 64, 48, K, look_at((0, 0, 0), (0, 1, 0)))
    uv, z = project_points(np.array([[0.02, 2.0, 0.0], [0.0, 2.0, -0.02]]), cam)
    np.testing.assert_allclose(uv, [[33.0, 24.0], [32.0, 25.0]], atol=1e-9)  # +x -> right, -z (down) -> +v
    np.testing.assert_allclose(z, [2.0, 2.0])


def test_json_roundtrip_and_transforms():
    cams = orbit_cameras(3, 2.0, 30.0, width=40, height=30)
    for c in cams:
        d = json.loads(json.dumps(c.to_json()))
        assert d["convention"] == "opencv"
        c2 = Camera.from_json(d)
        np.testing.assert_array_equal(c2.K, c.K)
        np.testing.assert_array_equal(c2.c2w, c.c2w)
    tj = json.loads(json.dumps(cameras_to_transforms_json(cams, {"view1": "rgb/view1/0000.png"})))
    assert tj["w"] == 40 and tj["h"] == 30 and tj["camera_angle_x"] == pytest.approx(math.radians(40))
    assert tj["cx"] == 20 and tj["cy"] == 15 and "fl_x" not in tj["frames"][0]
    assert tj["frames"][1]["file_path"] == "rgb/view1/0000.png" and tj["frames"][0]["file_path"] == "rgb/view0"
    # OpenGL flip: columns 1 and 2 negated, translation unchanged
    gl = np.array(tj["frames"][2]["transform_matrix"])
    cv = cams[2].c2w
    np.testing.assert_array_equal(gl[:, 0], cv[:, 0])
    np.testing.assert_array_equal(gl[:, 1], -cv[:, 1])
    np.testing.assert_array_equal(gl[:, 2], -cv[:, 2])
    np.testing.assert_array_equal(gl[:, 3], cv[:, 3])
    back = transforms_json_to_cameras(tj)
    for a, b in zip(cams, back):
        assert a.name == b.name and (a.width, a.height) == (b.width, b.height)
        np.testing.assert_array_equal(a.c2w, b.c2w)
        np.testing.assert_allclose(a.K, b.K, rtol=0, atol=0)


def test_transforms_hand_example_and_mixed_intrinsics():
    # Blender camera at (0,-4,1) looking along +y: OpenGL c2w has z_gl = -forward = (0,-1,0), y_gl = up
    cv = look_at((0, -4, 1), (0, 0, 1))
    cam = Camera("a", 32, 32, intrinsics_from_fov(32, 32, 60), cv)
    other = Camera("b", 64, 48, intrinsics_from_fov(64, 48, 45), look_at((4, 0, 1), (0, 0, 1)))
    tj = cameras_to_transforms_json([cam, other])
    gl = np.array(tj["frames"][0]["transform_matrix"])
    np.testing.assert_allclose(gl, [[1, 0, 0, 0], [0, 0, -1, -4], [0, 1, 0, 1], [0, 0, 0, 1]], atol=1e-12)
    assert tj["frames"][1]["w"] == 64 and tj["frames"][1]["fl_x"] == other.fx  # per-frame intrinsics
    back = transforms_json_to_cameras(tj)
    assert (back[1].width, back[1].height) == (64, 48)
    np.testing.assert_array_equal(back[1].K, other.K)
    np.testing.assert_array_equal(back[0].c2w, cam.c2w)


def test_import_is_light():
    code = "import sys, render, render.cameras, render.gaussians_ply, render.video; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_framing_cameras_keep_every_point_inside_the_image():
    """Issue 24.4: cameras aimed at the trajectory's bounds; every content point projects inside every view."""
    from render.cameras import border_clipped_fraction, framing_cameras, project_points

    rng = np.random.default_rng(1)
    for trial in range(5):
        pts = rng.normal(size=(400, 3)) * rng.uniform(0.1, 2.0, 3) + rng.uniform(-3, 3, 3)
        cams, rec = framing_cameras(4, pts, 15.0, 64, 48, 40.0, fill=0.8)
        assert rec["method"] == "trajectory_bounds" and rec["distance_m"] > rec["radius_m"]
        for cam in cams:
            uv, z = project_points(pts, cam)
            assert (z > 0).all()
            assert (uv[:, 0] > 0).all() and (uv[:, 0] < 64).all() and (uv[:, 1] > 0).all() and (uv[:, 1] < 48).all()
    a = np.zeros((3, 8, 8))
    a[1, 3, 3] = 1.0
    assert border_clipped_fraction(a) == 0.0
    a[2, 0, 5] = 0.3
    assert border_clipped_fraction(a) == pytest.approx(1 / 3)
