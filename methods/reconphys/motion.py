"""Monocular motion cues for ReconPhys: silhouette statistics and the pre-contact ballistic v0.

Both are bench additions (the paper's objects do not start with a random velocity and its encoder is
a pretrained InternViT). ``silhouette_stats`` gives the predictor per-frame, scale-free silhouette
moments next to its CNN features. ``ballistic_v0`` replaces a regressed initial velocity: before the
first ground contact the object moves rigidly, ``x_t = x_0 + v0 t + g t²/2`` (as Spring-Gaus §4.3 /
PAC-NeRF use for their v0), so v0 follows in closed form from the silhouette's image motion, given
the frame-0 canonical Gaussians and the camera.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from methods.spring_gaus.dynamics import GRAVITY, contact_frame  # first ballistic ground-contact frame
from render.cameras import Camera, project_points
#: per-frame silhouette statistics: centroid u, v (image-centred, / size), sqrt(area) / width,
#: std u, std v (/ size); followed by their frame-to-frame differences (x 10)
N_STATS = 10


def _moments(alpha: np.ndarray) -> np.ndarray:
    """(T,H,W) alpha -> (T,5): centroid u, v (pixel units), area, std u, std v."""
    a = np.asarray(alpha, np.float64)
    t, h, w = a.shape
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    m0 = a.sum((1, 2))
    safe = np.maximum(m0, 1e-9)
    u = (a * xs).sum((1, 2)) / safe
    v = (a * ys).sum((1, 2)) / safe
    su = np.sqrt(np.maximum((a * xs**2).sum((1, 2)) / safe - u**2, 0.0))
    sv = np.sqrt(np.maximum((a * ys**2).sum((1, 2)) / safe - v**2, 0.0))
    return np.stack([u, v, m0, su, sv], -1)


def silhouette_stats(alpha: np.ndarray) -> np.ndarray:
    """(T,H,W) alpha -> (T, N_STATS) float32 features (see ``N_STATS``); an empty frame gives zeros."""
    t, h, w = np.asarray(alpha).shape
    m = _moments(alpha)
    f = np.stack([m[:, 0] / w - 0.5, m[:, 1] / h - 0.5, np.sqrt(m[:, 2]) / w, m[:, 3] / w, m[:, 4] / h], -1)
    f[m[:, 2] < 1e-6] = 0.0
    d = np.diff(f, axis=0, prepend=f[:1]) * 10.0
    return np.concatenate([f, d], -1).astype(np.float32)


def mirror_stats(stats):
    """``silhouette_stats`` of the left-right mirrored video: the centroid u and its difference change
    sign (columns 0 and 5), every other statistic is unchanged. Works on numpy arrays and torch tensors."""
    out = stats.clone() if hasattr(stats, "clone") else np.array(stats, copy=True)
    out[..., 0] = -out[..., 0]
    out[..., 5] = -out[..., 5]
    return out


def ballistic_v0(means0: np.ndarray, alpha: np.ndarray, camera: Camera, fps: float, ground: float = 0.0,
                 margin: float = 0.02, prior_sigma: float = 2.0, iters: int = 3) -> tuple[np.ndarray, int]:
    """Initial velocity (3,) m/s and first contact frame from one view's silhouettes.

    Residuals on frames 1..t_c-1 (t_c: ballistic contact frame, re-estimated from the fit): the
    silhouette centroid's displacement from frame 0 vs the displacement of the projected mean of the
    translated canonical centres (pixels), and the relative change of sqrt(area) vs the inverse depth
    ratio of that mean (carries the motion along the optical axis). A weak zero-mean prior
    (``prior_sigma`` m/s) keeps the ill-posed cases bounded. Frame 0 alone (no pre-contact motion
    seen) gives v0 = 0.
    """
    m = _moments(alpha)
    n_obs = len(m)
    p = np.asarray(means0, np.float64)
    c0 = p.mean(0)
    uv0 = project_points(p, camera)[0].mean(0)
    z0 = project_points(c0[None], camera)[1][0]
    r0 = np.sqrt(max(m[0, 2], 1e-9))
    z_min = float(p[:, 2].min())
    scale = float(np.sqrt(camera.width * camera.height))
    g = np.asarray(GRAVITY)

    def residual(v0: np.ndarray, frames: np.ndarray) -> np.ndarray:
        out = []
        for t in frames:
            tt = t / fps
            d = v0 * tt + 0.5 * g * tt * tt
            uv = project_points(p + d, camera)[0].mean(0)
            z = project_points((c0 + d)[None], camera)[1][0]
            out += list((uv - uv0) - (m[t, :2] - m[0, :2]))
            out.append(scale * ((z0 / z) - np.sqrt(max(m[t, 2], 1e-9)) / r0))
        return np.asarray(out + list(v0 / prior_sigma))

    v0 = np.zeros(3)
    for _ in range(iters):
        tc = contact_frame(z_min, float(v0[2]), fps, n_obs, ground, margin)
        frames = np.arange(1, max(tc, 1))
        if len(frames) == 0:
            return np.zeros(3, np.float32), tc
        v0 = least_squares(residual, v0, args=(frames,), method="lm").x
    return v0.astype(np.float32), contact_frame(z_min, float(v0[2]), fps, n_obs, ground, margin)


def depth_axis(camera: Camera) -> np.ndarray:
    """Unit world vector of the camera's viewing direction projected on the ground plane: the v0
    component a monocular ballistic fit barely sees (it only scales the silhouette)."""
    d = np.asarray(camera.c2w, np.float64)[:3, 2].copy()
    d[2] = 0.0
    n = float(np.linalg.norm(d))
    return d / n if n > 1e-9 else np.array([1.0, 0.0, 0.0])


def augment_video(video, stats, rng: np.random.Generator):
    """Stage-B augmentation (bench addition, ``distill_augment``): with probability 1/2 the video is
    mirrored left-right (a mirrored world has the same physics; the silhouette statistics follow,
    ``motion.mirror_stats``), and the RGB channels get one gain each in [0.8, 1.2] (texture colour is
    not physics). video (1,T,4,H,W), stats (1,T,N_STATS) or None -> both augmented (new tensors)."""
    import torch

    if rng.random() < 0.5:
        video, stats = video.flip(-1), None if stats is None else mirror_stats(stats)
    gain = torch.as_tensor(rng.uniform(0.8, 1.2, 3), dtype=video.dtype).view(1, 1, 3, 1, 1)
    return torch.cat([(video[:, :, :3] * gain).clamp(0.0, 1.0), video[:, :, 3:]], dim=2), stats
