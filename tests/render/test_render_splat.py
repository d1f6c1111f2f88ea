"""render.splat against an independent brute-force numpy renderer and analytic cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from render.cameras import Camera, intrinsics_from_fov, look_at, orbit_cameras, project_points
from render.splat import render_gaussians


@pytest.fixture(autouse=True)
def _one_thread():
    """Single intra-op thread: on a busy shared CPU torch's thread pool makes timings erratic."""
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)


# ----------------------------------------------------------------------------------------------
# Brute-force reference: every Gaussian at every pixel, python loop over the sorted list, float64.
# Written from the 3DGS / gsplat formulas, sharing no code with render.splat.
# ----------------------------------------------------------------------------------------------
def _rotmat(q: np.ndarray) -> np.ndarray:
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def dense_reference(means, scales, colors, opac, cam: Camera, bg, quats=None, near=0.01, amax=0.99):
    """Per-pixel loop over all Gaussians (3DGS eqs. 2-3 with the α < 1/255 skip and T < 1e-4 stop).

    No bounding boxes or tiles: the renderer's opacity-aware boxes must not change any pixel, since
    beyond them α < 1/255 and the Gaussian is skipped anyway.
    """
    H, W = cam.height, cam.width
    fx, fy, cx, cy = cam.K[0, 0], cam.K[1, 1], cam.K[0, 2], cam.K[1, 2]
    Rw, tw = cam.w2c[:3, :3], cam.w2c[:3, 3]
    g = []  # (z, mean2d, inv cov2d, opacity, colour)
    for i in range(len(means)):
        p = Rw @ means[i] + tw
        if p[2] <= near:
            continue
        s = np.broadcast_to(np.asarray(scales[i], float), (3,))
        Rq = np.eye(3) if quats is None else _rotmat(quats[i])
        cov = Rw @ (Rq @ np.diag(s**2) @ Rq.T) @ Rw.T
        x, y, z = p
        limx = (0.3 * 0.5 * W / fx)
        limy = (0.3 * 0.5 * H / fy)
        xc = z * min(max(x / z, -(cx / fx + limx)), (W - cx) / fx + limx)
        yc = z * min(max(y / z, -(cy / fy + limy)), (H - cy) / fy + limy)
        J = np.array([[fx / z, 0, -fx * xc / z**2], [0, fy / z, -fy * yc / z**2]])
        c2 = J @ cov @ J.T + 0.3 * np.eye(2)
        mu = np.array([fx * x / z + cx, fy * y / z + cy])
        g.append((z, mu, np.linalg.inv(c2), opac[i], colors[i]))
    g.sort(key=lambda e: e[0])
    rgb = np.zeros((H, W, 3))
    alpha = np.zeros((H, W))
    depth = np.zeros((H, W))
    for v in range(H):
        for u in range(W):
            p = np.array([u + 0.5, v + 0.5])
            T, c, dz = 1.0, np.zeros(3), 0.0
            for z, mu, inv, o, col in g:  # every Gaussian at every pixel: no boxes, no tiles
                d = p - mu
                q = d @ inv @ d
                if q < 0:
                    continue
                a = min(amax, o * math.exp(-0.5 * q))
                if a < 1 / 255:
                    continue
                if T * (1 - a) < 1e-4:
                    break
                c += a * T * col
                dz += a * T * z
                T *= 1 - a
            rgb[v, u] = c + T * np.asarray(bg)
            alpha[v, u] = 1 - T
            depth[v, u] = dz / (1 - T) if 1 - T >= 0.5 else 0.0
    return rgb, alpha, depth


def _scene(seed: int, n: int, aniso: bool):
    rng = np.random.default_rng(seed)
    means = rng.uniform(-0.6, 0.6, (n, 3)) + [0, 0, 0.5]
    scales = rng.uniform(0.03, 0.15, (n, 3) if aniso else (n,))
    colors = rng.uniform(0, 1, (n, 3))
    opac = rng.uniform(0.05, 1.0, n)
    quats = rng.normal(size=(n, 4)) if aniso else None
    return means, scales, colors, opac, quats


@pytest.mark.parametrize("seed,aniso,size", [(0, False, (48, 40)), (1, True, (32, 32)), (2, True, (40, 56))])
def test_matches_dense_reference(seed, aniso, size):
    W, H = size
    means, scales, colors, opac, quats = _scene(seed, 60, aniso)
    cam = Camera("c", W, H, intrinsics_from_fov(W, H, 50.0), look_at((2.2, -1.0, 1.2), (0.1, 0.0, 0.45)))
    # one Gaussian behind the camera, one straddling the image border, a saturated stack (T < 1e-4)
    behind = cam.c2w[:3, 3] - 0.5 * cam.c2w[:3, 2]
    means = np.vstack([means, behind, [0.1, 0.0, 0.45], [0.1, 0.0, 0.45], [0.12, 0.0, 0.45]])
    scales = np.concatenate([scales, np.full((4,) + scales.shape[1:], 0.2)])
    colors = np.vstack([colors, np.eye(3)[[0, 1, 2, 0]]])
    opac = np.concatenate([opac, [1.0, 1.0, 1.0, 1.0]])
    if quats is not None:
        quats = np.vstack([quats, np.tile([1.0, 0, 0, 0], (4, 1))])
    bg = (0.2, 0.4, 0.9)
    ref = dense_reference(means, scales, colors, opac, cam, bg, quats)
    t = lambda a: None if a is None else torch.tensor(a, dtype=torch.float64)
    out = render_gaussians(t(means), t(scales), t(colors), t(opac), cam, background=bg, rotations=t(quats), chunk=8)
    np.testing.assert_allclose(out["rgb"].numpy(), ref[0], atol=1e-5)
    np.testing.assert_allclose(out["alpha"].numpy(), ref[1], atol=1e-5)
    np.testing.assert_allclose(out["depth"].numpy(), ref[2], atol=1e-5)
    assert ref[1].max() > 0.99 and ref[1].min() < 1e-6  # both saturated and empty pixels exercised
    out32 = render_gaussians(*(x.float() for x in (t(means), t(scales), t(colors), t(opac))), cam, background=bg,
                             rotations=None if quats is None else t(quats).float())
    np.testing.assert_allclose(out32["rgb"].numpy(), ref[0], atol=2e-4)


def _single_camera(W=64, H=64, fov=40.0):
    return Camera("c", W, H, intrinsics_from_fov(W, H, fov), look_at((0, -3.0, 0.5), (0, 0, 0.5)))


def test_single_isotropic_gaussian_analytic():
    cam = _single_camera()
    f, z, sigma, o = cam.fx, 3.0, 0.05, 0.8
    mean = np.array([[0.013, 0.0, 0.52]])  # off the pixel grid on purpose
    out = render_gaussians(torch.tensor(mean), torch.tensor([sigma], dtype=torch.float64),
                           torch.tensor([[1.0, 0, 0]], dtype=torch.float64), torch.tensor([o], dtype=torch.float64),
                           cam, background=(0.0, 0.0, 0.0))
    uv, zz = project_points(mean, cam)
    assert zz[0] == pytest.approx(z)
    s2 = (f * sigma / z) ** 2 + 0.3  # isotropic 2D covariance at the optical axis: (fσ/z)² I + 0.3 I
    a = out["alpha"].numpy()
    vv, uu = np.mgrid[0:64, 0:64] + 0.5
    d2 = (uu - uv[0, 0]) ** 2 + (vv - uv[0, 1]) ** 2
    expected = np.minimum(0.99, o * np.exp(-0.5 * d2 / s2))
    expected[expected < 1 / 255] = 0
    # exact near the centre (J is exactly fσ/z only on the axis; this Gaussian is 1.4 px off it)
    near_c = d2 < 9
    np.testing.assert_allclose(a[near_c], expected[near_c], rtol=2e-3)
    iv, iu = np.unravel_index(a.argmax(), a.shape)
    assert a.max() == pytest.approx(expected.max(), rel=2e-3)
    cu, cv = (a * uu).sum() / a.sum(), (a * vv).sum() / a.sum()
    assert cu == pytest.approx(uv[0, 0], abs=0.02) and cv == pytest.approx(uv[0, 1], abs=0.02)
    # colour = alpha * red over black background
    np.testing.assert_allclose(out["rgb"][..., 0].numpy(), a, atol=1e-12)


def test_box_keeps_the_alpha_tail_across_a_tile_border():
    """An opaque Gaussian whose 3-sigma box ends inside tile 0 still reaches pixel u=16 (tile 1) with
    alpha = o exp(-q/2) > 1/255 (3.25 sigma away): the opacity-aware box (gsplat 1.5) must include tile 1.
    A ``ceil(3 sqrt(lambda_max))`` box drops it (measured: up to 1.2e-2 alpha vs gsplat on an H100).
    Narrow field of view, so perspective barely widens the 2D footprint (sigma_x ~ 3.91 px)."""
    from render.cameras import backproject_pixels

    cam = _single_camera(48, 32, fov=10.0)
    z, s_px, o = 3.0, 3.9, 0.99
    mean = backproject_pixels(np.array([[16.5 - 3.25 * s_px, 16.0]]), np.array([z]), cam)
    scale = z * math.sqrt(s_px**2 - 0.3) / cam.fx  # world sigma whose 2D sigma (with eps2d) is ~3.9 px
    args = (mean, np.array([scale]), np.array([[1.0, 0.5, 0.0]]), np.array([o]))
    ref = dense_reference(*args, cam, (0.0, 0.0, 0.0))
    assert ref[1][16, 16] > 1.0 / 255 and ref[1][16, 17] < 1.0 / 255  # tail pixel in tile 1 is composited
    t = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    out = render_gaussians(*(t(a) for a in args), cam, background=(0.0, 0.0, 0.0))
    np.testing.assert_allclose(out["alpha"].numpy(), ref[1], atol=1e-9)
    np.testing.assert_allclose(out["rgb"].numpy(), ref[0], atol=1e-9)


def test_behind_camera_and_background():
    cam = _single_camera(32, 32)
    behind = cam.c2w[:3, 3] - 1.0 * cam.c2w[:3, 2]
    out = render_gaussians(torch.tensor(behind[None]), torch.tensor([0.3]), torch.tensor([[1.0, 0, 0]]),
                           torch.tensor([1.0]), cam, background=(0.1, 0.2, 0.3))
    assert out["alpha"].abs().max() == 0
    assert out["depth"].abs().max() == 0
    np.testing.assert_allclose(out["rgb"].numpy(), np.broadcast_to([0.1, 0.2, 0.3], (32, 32, 3)), atol=1e-7)
    assert out["radii"][0].tolist() == [0, 0]


def test_depth_of_flat_opaque_layer():
    cam = _single_camera(64, 64)
    # a grid of opaque Gaussians on the plane y = 0 (camera z = 3), covering the central region
    xs = np.linspace(-0.4, 0.4, 17)
    X, Z = np.meshgrid(xs, xs + 0.5)
    pts = np.stack([X.ravel(), np.zeros(X.size), Z.ravel()], 1)
    n = len(pts)
    out = render_gaussians(torch.tensor(pts, dtype=torch.float32), torch.full((n,), 0.04), torch.rand(n, 3),
                           torch.full((n,), 0.95), cam)
    d, a = out["depth"].numpy(), out["alpha"].numpy()
    uv, _ = project_points(np.array([[-0.3, 0, 0.2], [0.3, 0, 0.8]]), cam)
    (u0, v1), (u1, v0) = uv.astype(int)
    inner = d[v0:v1, u0:u1]
    assert (a[v0:v1, u0:u1] > 0.99).all()
    np.testing.assert_allclose(inner, 3.0, atol=1e-4)
    assert d[0, 0] == 0 and d[-1, -1] == 0 and a[0, 0] < 1e-6
    assert np.all(d[a < 0.5] == 0)


@pytest.mark.parametrize("chunk,saturate", [(32, False), (2, True)])
def test_gradcheck_tiny_scene(chunk, saturate):
    """float64 gradcheck of the hand-written rasterizer backward + autograd projection.

    chunk=2 with an opaque stack exercises multi-chunk carries, tile drop-out and the T < 1e-4 stop.
    """
    torch.manual_seed(0)
    cam = orbit_cameras(1, 2.5, 15.0, width=24, height=20, fov_deg=45.0)[0]
    n = 5
    f64 = dict(dtype=torch.float64)
    means = (torch.rand(n, 3, **f64) - 0.5) * 0.6 + torch.tensor([0, 0, 0.5], **f64)
    scales = torch.rand(n, 3, **f64) * 0.1 + 0.08
    quats = torch.randn(n, 4, **f64)
    colors = torch.rand(n, 3, **f64)
    opac = torch.rand(n, **f64) * 0.6 + 0.2
    if saturate:  # three nearly opaque, overlapping Gaussians in front of the others
        means[:3] = torch.tensor([[0.0, 0.0, 0.5], [0.03, 0.0, 0.52], [0.0, 0.04, 0.47]], **f64) + 0.5 * cam_dir(cam)
        opac[:3] = torch.tensor([0.97, 0.98, 0.96], **f64)
        scales[:3] = 0.15
    proj = torch.rand(6, 20, 24, 5, **f64)  # 6 random projections keep gradcheck cheap

    def f(m, s, c, o, q):
        out = render_gaussians(m, s, c, o, cam, background=(0.3, 0.5, 0.7), rotations=q, chunk=chunk)
        img = torch.cat([out["rgb"], out["alpha"][..., None], 0.1 * out["depth"][..., None]], -1)
        return (img * proj).sum((1, 2, 3))

    args = [x.clone().requires_grad_() for x in (means, scales, colors, opac, quats)]
    if saturate:
        out = render_gaussians(*args[:4], cam, rotations=args[4], chunk=chunk)
        # 0.03·0.02·0.04 < 1e-4: the third opaque Gaussian hits the early stop, so T_final stays >= 1e-4
        assert 0.999 < out["alpha"].max() <= 1 - 1e-4
    assert torch.autograd.gradcheck(f, args, eps=1e-6, atol=1e-5, rtol=1e-4)
    iso = torch.rand(n, **f64) * 0.1 + 0.08
    assert torch.autograd.gradcheck(
        lambda m, s: (render_gaussians(m, s, colors, opac, cam, chunk=chunk)["rgb"] * proj[..., :3]).sum((1, 2, 3)),
        [means.clone().requires_grad_(), iso.requires_grad_()], eps=1e-6, atol=1e-5, rtol=1e-4)
    # every input really receives gradient (the check is not vacuous)
    f(*args).sum().backward()
    assert all(a.grad is not None and a.grad.abs().sum() > 0 for a in args)


def cam_dir(cam: Camera) -> torch.Tensor:
    """Unit vector from the target towards the camera."""
    return -torch.tensor(cam.c2w[:3, 2])


def test_covariance_override_and_batch():
    from render.splat import render_gaussians_batch, quat_to_rotmat

    torch.manual_seed(1)
    n = 30
    means = (torch.rand(n, 3) - 0.5) + torch.tensor([0, 0, 0.5])
    scales = torch.rand(n, 3) * 0.1 + 0.02
    quats = torch.randn(n, 4)
    R = quat_to_rotmat(quats)
    cov = R @ torch.diag_embed(scales**2) @ R.transpose(1, 2)
    cams = orbit_cameras(3, 3.0, 20.0, width=32, height=32)
    c, o = torch.rand(n, 3), torch.rand(n)
    batch = render_gaussians_batch(means, scales, c, o, cams, rotations=quats)
    assert batch["rgb"].shape == (3, 32, 32, 3) and batch["depth"].shape == (3, 32, 32)
    x = render_gaussians(means, scales, c, o, cams[1], rotations=quats)
    y = render_gaussians(means, None, c, o, cams[1], covariances=cov)
    torch.testing.assert_close(x["rgb"], y["rgb"], atol=1e-5, rtol=0)
    torch.testing.assert_close(x["rgb"], batch["rgb"][1], atol=0, rtol=0)
