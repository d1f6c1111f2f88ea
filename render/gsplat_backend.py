"""gsplat (CUDA) backend with the same call signature and outputs as :func:`render.splat.render_gaussians`.

Used on GPU machines and to cross-check the pure-torch rasterizer. gsplat is called as
``rasterization(..., packed=False, eps2d=0.3, rasterize_mode="classic", render_mode="RGB+ED")``;
gsplat clamps per-Gaussian alpha at 0.999 where 3DGS (and our default) uses 0.99, so compare with
``alpha_max=0.999`` or opacities below 0.99.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from .cameras import Camera
from .splat import render_gaussians

__all__ = ["gsplat_available", "render_gaussians_gsplat", "compare_with_gsplat"]


def gsplat_available() -> bool:
    """True when gsplat imports and CUDA is usable (gsplat cannot rasterize on CPU)."""
    try:
        import gsplat  # noqa: F401
    except Exception:
        return False
    return torch.cuda.is_available()


def render_gaussians_gsplat(
    means: Tensor,
    scales: Tensor | None,
    colors: Tensor,
    opacities: Tensor,
    camera: Camera,
    background: Sequence[float] | Tensor = (1.0, 1.0, 1.0),
    rotations: Tensor | None = None,
    covariances: Tensor | None = None,
    tile_size: int = 16,
    near: float = 0.01,
    eps2d: float = 0.3,
) -> dict[str, Tensor]:
    """Same inputs/outputs as ``render_gaussians`` (tensors on a CUDA device), rendered by gsplat."""
    from gsplat import rasterization

    n, dev, dt = means.shape[0], means.device, means.dtype
    if covariances is None:
        s = scales.reshape(n, -1).to(dt)
        scales3 = s.expand(n, 3) if s.shape[1] == 1 else s
        quats = rotations.to(dt) if rotations is not None else torch.tensor([1.0, 0, 0, 0], dtype=dt, device=dev).expand(n, 4)
    else:
        scales3 = quats = None
    viewmat = torch.as_tensor(camera.w2c, dtype=dt, device=dev)[None]
    K = torch.as_tensor(camera.K, dtype=dt, device=dev)[None]
    bg = torch.as_tensor(background, dtype=dt, device=dev).reshape(1, -1)
    out, alpha, meta = rasterization(
        means, quats, scales3, opacities.reshape(n), colors, viewmat, K, camera.width, camera.height,
        near_plane=near, eps2d=eps2d, packed=False, tile_size=tile_size, backgrounds=bg,
        render_mode="RGB+ED", rasterize_mode="classic", covars=covariances,
    )
    a = alpha[0, ..., 0]
    d = out[0, ..., -1]
    return {"rgb": out[0, ..., :-1], "alpha": a, "depth": torch.where(a >= 0.5, d, torch.zeros_like(d)),
            "radii": meta["radii"][0]}


def compare_with_gsplat(
    means: Tensor, scales: Tensor, colors: Tensor, opacities: Tensor, camera: Camera, **kwargs
) -> dict[str, float]:
    """Max abs difference per output between gsplat (CUDA) and our renderer (``alpha_max=0.999``)."""
    dev = torch.device("cuda")
    args = [x.to(dev) for x in (means, scales, colors, opacities)]
    kw = {k: (v.to(dev) if isinstance(v, Tensor) else v) for k, v in kwargs.items()}
    ref = render_gaussians_gsplat(*args, camera, **kw)
    ours = render_gaussians(*[x.cpu() for x in args], camera, alpha_max=0.999,
                            **{k: (v.cpu() if isinstance(v, Tensor) else v) for k, v in kw.items()})
    return {k: float((ref[k].float().cpu() - ours[k].float()).abs().max()) for k in ("rgb", "alpha", "depth")}
