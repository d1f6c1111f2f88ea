"""render.gaussians_ply and render.video."""

from __future__ import annotations

import numpy as np
import pytest

from render.gaussians_ply import SH_C0, read_gaussians_ply, write_gaussians_ply
from render.video import has_mp4, side_by_side, to_uint8_rgb, write_gif, write_mp4


def test_ply_roundtrip_and_layout(tmp_path):
    rng = np.random.default_rng(0)
    n = 50
    means = rng.normal(size=(n, 3))
    scales = rng.uniform(0.001, 0.2, (n, 3))
    colors = rng.uniform(0, 1, (n, 3))
    opac = rng.uniform(0.01, 0.99, n)
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    p = tmp_path / "g.ply"
    write_gaussians_ply(p, means, scales, colors, opac, q)
    g = read_gaussians_ply(p)
    for k, v in [("means", means), ("scales", scales), ("colors", colors), ("opacities", opac), ("rotations", q)]:
        np.testing.assert_allclose(g[k], v, rtol=2e-6, atol=2e-6, err_msg=k)
    # independent check of the standard 3DGS layout: header + 17 little-endian float32 per vertex
    raw = p.read_bytes()
    head, body = raw.split(b"end_header\n")
    assert b"format binary_little_endian 1.0" in head and f"element vertex {n}".encode() in head
    names = [l.split()[-1] for l in head.decode().splitlines() if l.startswith("property")]
    assert names == ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
                     "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    rows = np.frombuffer(body, "<f4").reshape(n, 17)
    np.testing.assert_allclose(rows[:, 6:9], (colors - 0.5) / SH_C0, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rows[:, 9], np.log(opac / (1 - opac)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rows[:, 10:13], np.log(scales), rtol=1e-6, atol=1e-6)


def test_ply_isotropic_defaults(tmp_path):
    p = tmp_path / "iso.ply"
    write_gaussians_ply(p, np.zeros((3, 3)), np.array([0.01, 0.02, 0.03]), np.full((3, 3), 0.5), np.ones(3))
    g = read_gaussians_ply(p)
    np.testing.assert_allclose(g["scales"], np.repeat([[0.01], [0.02], [0.03]], 3, 1), rtol=1e-6)
    np.testing.assert_allclose(g["rotations"], np.tile([1.0, 0, 0, 0], (3, 1)))
    assert np.all(g["opacities"] > 0.999) and np.all(np.isfinite(g["opacities"]))


def test_video_helpers(tmp_path):
    from PIL import Image

    frames = [np.full((10, 12, 3), i / 4.0) for i in range(5)] + [np.tile(np.array([0, 0, 0, 255], np.uint8), (10, 12, 1))]
    gif = write_gif(tmp_path / "a.gif", frames, fps=5)
    im = Image.open(gif)
    assert im.n_frames == 6 and im.size == (12, 10)
    rgba = np.zeros((2, 2, 4))
    rgba[..., 0], rgba[..., 3] = 1.0, 0.5
    np.testing.assert_array_equal(to_uint8_rgb(rgba)[0, 0], [255, 128, 128])  # over white
    sbs = side_by_side(np.zeros((4, 3, 3)), np.ones((6, 5, 3)), gap=2)
    assert sbs.shape == (6, 10, 3) and sbs.dtype == np.uint8
    if has_mp4():
        out = write_mp4(tmp_path / "a.mp4", [np.random.rand(9, 11, 3) for _ in range(4)], fps=4)
        assert out.stat().st_size > 0
    else:
        with pytest.raises(ImportError):
            write_mp4(tmp_path / "a.mp4", frames)
