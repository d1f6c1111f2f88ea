"""Pure-torch, tiled, differentiable 3D Gaussian splatting with gsplat / 3DGS conventions.

Reference: Kerbl et al., "3D Gaussian Splatting for Real-Time Radiance Field Rendering" (SIGGRAPH 2023)
and gsplat (``rasterization(..., packed=False, eps2d=0.3, rasterize_mode="classic")``).

Per Gaussian (3DGS eq. 6 and eqs. 2-3 / EWA splatting, Zwicker et al. 2001):

* 3D covariance ``Σ = R S Sᵀ Rᵀ`` (R from the normalised wxyz quaternion, S = diag(scales)), or given.
* camera space ``t = W μ + b``, ``Σ_c = W Σ Wᵀ`` with ``(W, b)`` = world-to-camera (OpenCV).
* 2D covariance ``Σ' = J Σ_c Jᵀ + 0.3 I`` (3DGS eq. 5 + the 0.3 px² low-pass, gsplat ``eps2d=0.3``),
  ``J = [[fx/z, 0, -fx x/z²], [0, fy/z, -fy y/z²]]`` evaluated with x/z, y/z clamped to 1.3x the
  half-FOV (gsplat ``persp_proj``); the mean ``μ' = (fx x/z + cx, fy y/z + cy)`` is not clamped.
* culled if ``z <= near`` (or > 1e10), ``det Σ' <= 0``, ``o < 1/255`` or its box misses the image;
  per-axis box radii ``r_x = ceil(e sqrt(Σ'_xx))``, ``r_y = ceil(e sqrt(Σ'_yy))`` with the
  opacity-aware extent ``e = min(3.33, sqrt(2 ln(255 o)))`` (gsplat 1.5 ``fully_fused_projection``,
  Radl et al. 2024 §B.2: beyond e the Gaussian's α is below 1/255 and skipped anyway), and tiles
  ``[floor((μ'-r)/ts), ceil((μ'+r)/ts))`` per axis as gsplat ``isect_tiles``.

Per pixel with centre ``p = (u + 0.5, v + 0.5)`` (3DGS eq. 2-3, front to back by camera z):

* ``α_i = min(α_max, o_i exp(-σ))``, ``σ = ½ dᵀ Σ'⁻¹ d``, ``d = p - μ'_i``; skipped if ``α_i < 1/255``
  (σ is clamped at 0 against rounding). ``α_max = 0.99`` as in 3DGS (gsplat: 0.999; see ``alpha_max``).
* ``C = Σ_i c_i α_i T_i + T_final · bg`` with ``T_i = Π_{j<i} (1 - α_j)``; compositing stops before
  the first Gaussian that would make the transmittance drop below 1e-4 (3DGS ``test_T < 0.0001``).
* alpha ``= 1 - T_final``; depth = alpha-normalised expected camera z ``Σ w_i z_i / Σ w_i`` (gsplat "ED"),
  set to 0 where alpha < 0.5 (docs/CONVENTIONS.md).

Implementation: projection is plain autograd; Gaussians are depth-sorted and binned into 16x16 tiles,
and all tiles are composited together in depth chunks by ``render._raster.Composite`` (σ for a whole
chunk is one batched matmul on quadratic pixel features, ``cumprod`` within a chunk, transmittance
carried between chunks, tiles dropping out once exhausted or saturated). Its backward is hand-written
(3DGS-style, chunks re-evaluated back to front), so memory is O(pixels · chunk), not O(pixels · N).

CPU note: on a busy shared machine torch's intra-op threads can slow this down several-fold; call
``torch.set_num_threads(1)`` there (the benchmark does by default).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from ._raster import ALPHA_MIN, Composite, tile_lists
from .cameras import Camera

__all__ = ["project_gaussians", "render_gaussians", "render_gaussians_batch", "quat_to_rotmat"]

EPS2D = 0.3
FAR = 1e10


def quat_to_rotmat(q: Tensor) -> Tensor:
    """Rotation matrices (N,3,3) from quaternions (N,4) in wxyz order (normalised first)."""
    q = q / q.norm(dim=-1, keepdim=True)
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    ).reshape(q.shape[:-1] + (3, 3))


def _covariances(scales: Tensor, rotations: Tensor | None, n: int) -> Tensor:
    """3D covariances Σ = R S Sᵀ Rᵀ (3DGS eq. 6) from isotropic (N,) / anisotropic (N,3) scales."""
    s = scales.reshape(n, -1)
    if s.shape[1] == 1:
        s = s.expand(n, 3)
    if rotations is None:
        return torch.diag_embed(s * s)
    M = quat_to_rotmat(rotations) * s[:, None, :]
    return M @ M.transpose(-1, -2)


def project_gaussians(
    means: Tensor,
    cov3d: Tensor,
    camera: Camera,
    near: float = 0.01,
    eps2d: float = EPS2D,
    opacities: Tensor | None = None,
) -> dict[str, Tensor]:
    """EWA projection (3DGS eq. 5, gsplat ``fully_fused_projection``): means2d, conics, depths, radii.

    ``conic = (a, b, c)`` is the upper triangle of ``Σ'⁻¹``; ``radii`` (N,2) are the per-axis box
    half-widths in pixels, (0, 0) for culled Gaussians. With ``opacities`` the box is opacity-aware
    (module docstring); without, the extent is 3.33.
    """
    n, dt, dev = means.shape[0], means.dtype, means.device
    w2c = torch.as_tensor(camera.w2c, dtype=dt, device=dev)
    R, t = w2c[:3, :3], w2c[:3, 3]
    pc = means @ R.T + t
    cov_c = R @ cov3d @ R.T
    fx, fy, cx, cy = camera.fx, camera.fy, camera.cx, camera.cy
    W, H = camera.width, camera.height
    x, y, z = pc.unbind(-1)
    # guard the division for culled Gaussians (their outputs are masked out via radii == 0)
    zs = torch.where(z > near, z, torch.ones_like(z))
    tan_x, tan_y = 0.5 * W / fx, 0.5 * H / fy
    tx = zs * torch.clamp(x / zs, min=-(cx / fx + 0.3 * tan_x), max=(W - cx) / fx + 0.3 * tan_x)
    ty = zs * torch.clamp(y / zs, min=-(cy / fy + 0.3 * tan_y), max=(H - cy) / fy + 0.3 * tan_y)
    zero = torch.zeros_like(zs)
    J = torch.stack([fx / zs, zero, -fx * tx / zs**2, zero, fy / zs, -fy * ty / zs**2], -1).reshape(-1, 2, 3)
    cov2d = J @ cov_c @ J.transpose(-1, -2)
    a = cov2d[:, 0, 0] + eps2d
    b = 0.5 * (cov2d[:, 0, 1] + cov2d[:, 1, 0])
    c = cov2d[:, 1, 1] + eps2d
    det = a * c - b * b
    det_s = torch.where(det > 0, det, torch.ones_like(det))
    conics = torch.stack([c / det_s, -b / det_s, a / det_s], -1)
    means2d = torch.stack([fx * x / zs + cx, fy * y / zs + cy], -1)
    with torch.no_grad():
        extend = torch.full_like(a, 3.33)
        valid = (det > 0) & (z > near) & (z < FAR)
        if opacities is not None:
            o = opacities.detach().reshape(-1).to(dt)
            valid = valid & (o >= ALPHA_MIN)
            extend = torch.minimum(extend, torch.sqrt(2.0 * torch.log(torch.clamp(o, min=ALPHA_MIN) / ALPHA_MIN)))
        rx = torch.ceil(extend * torch.sqrt(torch.clamp(a, min=0)))
        ry = torch.ceil(extend * torch.sqrt(torch.clamp(c, min=0)))
        mx, my = means2d[:, 0], means2d[:, 1]
        inside = (mx + rx > 0) & (mx - rx < W) & (my + ry > 0) & (my - ry < H) & ((rx > 0) | (ry > 0))
        radii = torch.where((valid & inside)[:, None], torch.stack([rx, ry], -1), torch.zeros(n, 2, dtype=dt, device=dev))
    return {"means2d": means2d, "conics": conics, "depths": z, "radii": radii}


def render_gaussians(
    means: Tensor,
    scales: Tensor,
    colors: Tensor,
    opacities: Tensor,
    camera: Camera,
    background: Sequence[float] | Tensor = (1.0, 1.0, 1.0),
    rotations: Tensor | None = None,
    covariances: Tensor | None = None,
    tile_size: int = 16,
    near: float = 0.01,
    alpha_max: float = 0.99,
    eps2d: float = EPS2D,
    chunk: int = 32,
) -> dict[str, Tensor]:
    """Render Gaussians into ``camera``: {"rgb" (H,W,3), "alpha" (H,W), "depth" (H,W), "radii" (N,2)}.

    ``scales`` are linear standard deviations, (N,) isotropic or (N,3) per local axis; ``rotations``
    (N,4) wxyz; ``covariances`` (N,3,3) overrides both. ``colors`` (N,3) and ``opacities`` (N,) are in
    [0,1] (any channel count C works for ``colors``; ``background`` must then have C entries).
    """
    n = means.shape[0]
    dt, dev = means.dtype, means.device
    if covariances is not None:
        cov3d = covariances.to(dt)
    else:
        cov3d = _covariances(scales.to(dt), None if rotations is None else rotations.to(dt), n)
    proj = project_gaussians(means, cov3d, camera, near=near, eps2d=eps2d, opacities=opacities)
    W, H = camera.width, camera.height
    ts = tile_size
    tiles_x, tiles_y = -(-W // ts), -(-H // ts)
    lists, counts = tile_lists(proj["means2d"], proj["radii"], proj["depths"], ts, tiles_x, tiles_y)
    bg = torch.as_tensor(background, dtype=dt, device=dev).reshape(-1)
    n_ch = colors.shape[-1]

    # one extra zero-opacity Gaussian (index n) pads the per-tile lists
    pad = lambda x: torch.cat([x, x.new_zeros((1,) + x.shape[1:])])  # noqa: E731
    mean2d, conic = pad(proj["means2d"]), pad(proj["conics"])
    opac = pad(opacities.reshape(n).to(dt))
    feat = pad(torch.cat([colors.to(dt), proj["depths"][:, None]], -1))  # colour channels + depth

    tyy, txx = torch.meshgrid(torch.arange(tiles_y, device=dev), torch.arange(tiles_x, device=dev), indexing="ij")
    origin = torch.stack([txx.flatten(), tyy.flatten()], -1).to(dt) * ts
    acc_full, T_full = Composite.apply(mean2d, conic, opac, feat, lists, counts, origin, ts, chunk, alpha_max)

    def untile(x: Tensor) -> Tensor:
        x = x.reshape(tiles_y, tiles_x, ts, ts, *x.shape[2:]).transpose(1, 2)
        return x.reshape(tiles_y * ts, tiles_x * ts, *x.shape[4:])[:H, :W]

    acc_img, T_img = untile(acc_full), untile(T_full)
    alpha_img = 1 - T_img
    rgb = acc_img[..., :n_ch] + T_img[..., None] * bg
    depth_ed = acc_img[..., n_ch] / torch.clamp(alpha_img, min=1e-10)  # gsplat "ED"
    depth = torch.where(alpha_img >= 0.5, depth_ed, torch.zeros_like(depth_ed))
    return {"rgb": rgb, "alpha": alpha_img, "depth": depth, "radii": proj["radii"]}


def render_gaussians_batch(
    means: Tensor,
    scales: Tensor,
    colors: Tensor,
    opacities: Tensor,
    cameras: Sequence[Camera],
    **kwargs,
) -> dict[str, Tensor]:
    """Render the same Gaussians into several cameras (same size); outputs stacked on a leading axis."""
    outs = [render_gaussians(means, scales, colors, opacities, cam, **kwargs) for cam in cameras]
    return {key: torch.stack([o[key] for o in outs]) for key in outs[0]}
