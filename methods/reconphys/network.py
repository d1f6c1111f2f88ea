"""ReconPhys physical predictor (§3.3): per-frame image encoder -> temporal aggregation -> MLP decoder.

The paper's per-frame encoder is InternViT-300M; those weights cannot be loaded here, so a small CNN
trained from scratch stands in for it (``FrameEncoder``). Temporal aggregation follows the paper:
ResNet-style residual blocks over time plus multi-head self-attention; an MLP decoder maps the pooled
feature to global physical attributes (mass, stiffness, damping, friction; + restitution as a bench
addition, because the benchmark's ground is restitutive). Outputs are squashed into the configured
physical ranges (log10 for scale parameters). Bench additions: per-frame silhouette statistics
(``motion.silhouette_stats``) are embedded and added to the CNN features, and the initial velocity is
not regressed but estimated in closed form from the pre-contact frames (``motion.ballistic_v0``).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from methods.reconphys.outputs import N_OUT, PARAM_NAMES


class FrameEncoder(nn.Module):
    """Stand-in for InternViT: 4 strided conv blocks on RGBA + 2 CoordConv channels -> D features."""

    def __init__(self, dim: int, width: int = 32, size: int = 64) -> None:
        super().__init__()
        self.size = size
        chans = [6, width, width, 2 * width, 2 * width]
        layers: list[nn.Module] = []
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(a, b, 3, stride=2, padding=1), nn.GroupNorm(4, b), nn.SiLU()]
        self.conv = nn.Sequential(*layers)
        self.proj = nn.Linear(chans[-1] * 4, dim)  # mean + spatial soft-argmax-like moments

    def forward(self, frames: Tensor) -> Tensor:
        """frames (B, T, 4, H, W) in [0,1] -> (B, T, D)."""
        b, t = frames.shape[:2]
        x = frames.reshape(b * t, *frames.shape[2:])
        x = nn.functional.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, self.size), torch.linspace(-1, 1, self.size), indexing="ij")
        coords = torch.stack([xs, ys]).to(x).expand(x.shape[0], 2, self.size, self.size)
        f = self.conv(torch.cat([x, coords], dim=1))  # (BT, C, h, w)
        h, w = f.shape[-2:]
        gy, gx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
        att = torch.softmax(f.flatten(2), dim=-1).reshape_as(f)  # per-channel spatial attention
        mx, my = (att * gx.to(f)).sum((-2, -1)), (att * gy.to(f)).sum((-2, -1))
        feats = torch.cat([f.mean((-2, -1)), f.amax((-2, -1)), mx, my], dim=1)
        return self.proj(feats).reshape(b, t, -1)


class ResBlock1d(nn.Module):
    """ResNet-style temporal block: x + conv(SiLU(GN(conv(x))))."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.GroupNorm(4, dim), nn.SiLU(), nn.Conv1d(dim, dim, 3, padding=1),
                                  nn.GroupNorm(4, dim), nn.SiLU(), nn.Conv1d(dim, dim, 3, padding=1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class PhysPredictor(nn.Module):
    """Video (B,T,4,H,W) -> raw physical logits (B, N_OUT); see ``decode`` for physical units."""

    def __init__(self, dim: int = 128, n_blocks: int = 2, n_heads: int = 4, max_frames: int = 64,
                 enc_width: int = 32, enc_size: int = 64, n_stats: int = 0) -> None:
        super().__init__()
        self.encoder = FrameEncoder(dim, enc_width, enc_size)
        self.stats = nn.Sequential(nn.Linear(n_stats, dim), nn.SiLU(), nn.Linear(dim, dim)) if n_stats else None
        self.time_emb = nn.Parameter(torch.zeros(max_frames, dim))
        nn.init.normal_(self.time_emb, std=0.02)
        self.blocks = nn.ModuleList(ResBlock1d(dim) for _ in range(n_blocks))
        self.attn = nn.MultiheadAttention(dim, n_heads, batch_first=True)
        self.norm = nn.LayerNorm(dim)
        self.decoder = nn.Sequential(nn.Linear(2 * dim, dim), nn.SiLU(), nn.Linear(dim, dim), nn.SiLU(),
                                     nn.Linear(dim, N_OUT))
        nn.init.zeros_(self.decoder[-1].weight)  # start at the centre of every physical range
        nn.init.zeros_(self.decoder[-1].bias)

    def forward(self, frames: Tensor, stats: Tensor | None = None) -> Tensor:
        """frames (B,T,4,H,W); stats (B,T,n_stats) silhouette statistics when built with n_stats."""
        z = self.encoder(frames)  # (B,T,D)
        if self.stats is not None:
            z = z + self.stats(stats)
        t = z.shape[1]
        z = z + self.time_emb[:t]
        x = z.transpose(1, 2)  # (B,D,T)
        for blk in self.blocks:
            x = blk(x)
        x = x.transpose(1, 2)
        y = self.norm(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        dz = (z[:, 1:] - z[:, :-1]).mean(1) if t > 1 else torch.zeros_like(z[:, 0])  # motion summary
        return self.decoder(torch.cat([x.mean(1), dz], dim=-1))


def _range(raw: Tensor, lo: float, hi: float) -> Tensor:
    return lo + (hi - lo) * torch.sigmoid(raw)


def decode(raw: Tensor, cfg: dict[str, Any]) -> dict[str, Tensor]:
    """Raw logits (B, N_OUT) -> physical attributes in SI units, each (B,) (v0: (B,3)).

    stiffness: N per unit strain (K of eq. 9/16); damping: zeta_0 (eq. 17); friction, restitution:
    ground coefficients; mass: total object mass (kg).
    """
    out: dict[str, Tensor] = {}
    for i, name in enumerate(PARAM_NAMES):
        lo, hi = cfg["bounds"][name]
        out[name] = _range(raw[:, i], float(lo), float(hi))
    out["stiffness"] = 10.0 ** out["log10_stiffness"]
    out["damping"] = 10.0 ** out["log10_damping"]
    out["mass"] = 10.0 ** out["log10_mass"]
    return out


def video_tensor(rgb, alpha) -> Tensor:
    """(T,H,W,3) + (T,H,W) numpy -> (1, T, 4, H, W) float32 tensor for the predictor."""
    x = torch.cat([torch.as_tensor(rgb, dtype=torch.float32), torch.as_tensor(alpha, dtype=torch.float32)[..., None]],
                  dim=-1)
    return x.permute(0, 3, 1, 2)[None].contiguous()


def physics_from_u(u: np.ndarray, cfg: dict[str, Any], v0) -> dict[str, Any]:
    """Normalised outputs u (5,) in [0,1] -> the decoder's physical attributes (0-dim tensors) + v0."""
    raw = torch.logit(torch.as_tensor(np.clip(u, 1e-6, 1 - 1e-6), dtype=torch.float32))[None]
    return {**{k: v[0] for k, v in decode(raw, cfg).items()}, "v0": v0}
