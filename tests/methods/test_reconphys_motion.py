"""ReconPhys motion cues (methods/reconphys/motion.py): silhouette moments and the ballistic v0."""
from __future__ import annotations

import numpy as np
import torch

from methods.reconphys.motion import augment_video
from methods.reconphys.motion import N_STATS, ballistic_v0, mirror_stats, silhouette_stats
from render.cameras import Camera, intrinsics_from_fov, look_at
from render.splat import render_gaussians


def test_silhouette_stats_of_a_disc_and_its_motion():
    h = w = 64
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    frames = np.stack([((xs - 20 - 2 * t) ** 2 + (ys - 30) ** 2 <= 100).astype(float) for t in range(3)])
    f = silhouette_stats(frames)
    assert f.shape == (3, N_STATS)
    np.testing.assert_allclose(f[:, 0], (20 + 2 * np.arange(3)) / w - 0.5, atol=1e-3)  # centroid u
    np.testing.assert_allclose(f[:, 1], 30 / h - 0.5, atol=1e-3)
    np.testing.assert_allclose(f[0, 2], np.sqrt(np.pi * 100) / w, rtol=0.02)  # sqrt(area)
    np.testing.assert_allclose(f[0, 3], 10 / 2 / w, rtol=0.05)  # disc std = r/2
    np.testing.assert_allclose(f[1:, 5], 10 * 2 / w, atol=1e-3)  # frame-to-frame du (x10)
    assert np.all(silhouette_stats(np.zeros((2, 8, 8))) == 0)


def test_mirrored_video_has_mirrored_silhouette_stats():
    """The stage-B mirror augmentation: stats of the flipped frames == mirror_stats of the stats."""
    h = w = 48
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    frames = np.stack([(((xs - 14 - 3 * t) / 8) ** 2 + ((ys - 20 - t) / 5) ** 2 <= 1).astype(float) for t in range(4)])
    f, g = silhouette_stats(frames), silhouette_stats(frames[:, :, ::-1])
    assert not np.allclose(f, g, atol=1e-3)  # the flip does change the centroid column
    np.testing.assert_allclose(mirror_stats(f), g, atol=1e-5)
    np.testing.assert_allclose(mirror_stats(torch.as_tensor(f)).numpy(), g, atol=1e-5)
    # augment_video: alpha kept or flipped with the stats, RGB only scaled by gains in [0.8, 1.2]
    video = torch.as_tensor(np.concatenate([np.full((4, 3, h, w), 0.5), frames[:, None]], 1), dtype=torch.float32)[None]
    seen = set()
    for seed in range(8):
        v, st = augment_video(video, torch.as_tensor(f)[None], np.random.default_rng(seed))
        flipped = bool(torch.equal(v[0, :, 3], video[0, :, 3].flip(-1)))
        assert flipped or torch.equal(v[0, :, 3], video[0, :, 3])
        np.testing.assert_allclose(st[0].numpy(), g if flipped else f, atol=1e-5)
        gains = v[0, 0, :3, 0, 0] / 0.5
        assert torch.all((gains >= 0.8 - 1e-6) & (gains <= 1.2 + 1e-6)) and torch.allclose(v[0, :, :3], v[0, :1, :3, :1, :1].expand_as(v[0, :, :3]))
        seen.add(flipped)
    assert seen == {True, False}


def test_ballistic_v0_recovers_the_velocity_of_a_rendered_drop():
    """Independent check: a Gaussian ball rendered under x_t = x_0 + v0 t + g t^2/2 (before contact)."""
    rng = np.random.default_rng(0)
    d = rng.normal(size=(600, 3))
    means0 = 0.3 * d / np.linalg.norm(d, axis=1, keepdims=True) + [0.0, 0.0, 1.2]
    cam = Camera("c", 64, 64, intrinsics_from_fov(64, 64, 40.0), look_at((0.4, -2.8, 1.0), (0.0, 0.0, 0.8)))
    v0, fps = np.array([0.35, -0.2, 0.3]), 24.0
    alphas = []
    for t in range(12):
        tt = t / fps
        x = means0 + v0 * tt + 0.5 * np.array([0, 0, -9.81]) * tt * tt
        out = render_gaussians(torch.tensor(x), torch.full((600,), 0.04, dtype=torch.float64),
                               torch.full((600, 3), 0.5, dtype=torch.float64), torch.full((600,), 0.9, dtype=torch.float64),
                               cam)
        alphas.append(out["alpha"].numpy())
    est, tc = ballistic_v0(means0, np.stack(alphas), cam, fps, ground=0.0, margin=0.02)
    # contact: lowest point 0.9 m, v0z 0.3 m/s -> within 0.02 m of the ground at t = 0.455 s -> frame 11
    assert tc == 11
    assert np.abs(est[[0, 2]] - v0[[0, 2]]).max() < 0.05  # image-plane components (measured 0.002, 0.027)
    assert abs(est[1] - v0[1]) < 0.12  # optical axis, from the silhouette scale change (measured 0.032)
