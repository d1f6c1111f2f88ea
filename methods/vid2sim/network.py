"""Vid2Sim Stage I feed-forward predictor (§4.1): a video transformer + small MLP regression heads.

The paper's backbone is VideoMAE (a pretrained video ViT, fine-tuned); those weights cannot be
loaded here, so ``VideoTransformer`` — the same design at bench scale (tubelet embedding of
``tubelet`` frames x ``patch``^2 pixels, learned space + time position embeddings, pre-norm
transformer encoder, mean pooling as in VideoMAE's fine-tuning) — is trained from scratch.
The pooled feature feeds "two identical 4-layer MLPs" for E and nu (§5.1), a 4-layer hypernetwork
(Ha et al.) that regresses the weights and bias of the *final* linear layer of the LBS weight MLP
W_theta of eq. 1 (the hidden layers stay at their seeded default initialisation), and — a bench
addition, because the benchmark's drops start with a random velocity — a 4-layer v0 head.
Input is the single front-view video (RGB + alpha channel = mask).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from physics.reduced.skinning import SkinningMLP


def mlp4(n_in: int, width: int, n_out: int) -> nn.Sequential:
    """A 4-layer MLP regression head (§5.1: 'two identical 4-layer MLPs')."""
    return nn.Sequential(nn.Linear(n_in, width), nn.SiLU(), nn.Linear(width, width), nn.SiLU(),
                         nn.Linear(width, width), nn.SiLU(), nn.Linear(width, n_out))


def default_last_layer(n_handles: int, width: int, depth: int, seed: int) -> Tensor:
    """The default-initialised final layer [W | b] (n_handles, width + 1) of the LBS MLP (seeded)."""
    m = SkinningMLP(n_handles, [0.0, 0.0, 0.0], 1.0, width=width, depth=depth, seed=seed)
    return torch.cat([m.weights[-1].detach(), m.biases[-1].detach()[:, None]], dim=1)


class VideoTransformer(nn.Module):
    """Stand-in for VideoMAE: (B, T, 4, H, W) RGBA video -> (B, dim) feature (trained from scratch)."""

    def __init__(self, dim: int = 64, depth: int = 2, heads: int = 4, size: int = 32, patch: int = 8,
                 tubelet: int = 2, max_tubelets: int = 32) -> None:
        super().__init__()
        if size % patch:
            raise ValueError("enc_size must be a multiple of patch")
        self.size, self.tubelet = int(size), int(tubelet)
        self.embed = nn.Conv3d(4, dim, kernel_size=(tubelet, patch, patch), stride=(tubelet, patch, patch))
        n_patches = (size // patch) ** 2
        self.pos_space = nn.Parameter(torch.randn(n_patches, dim) * 0.02)
        self.pos_time = nn.Parameter(torch.randn(max_tubelets, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)

    def forward(self, frames: Tensor) -> Tensor:
        b, t = frames.shape[:2]
        x = nn.functional.interpolate(frames.reshape(b * t, *frames.shape[2:]), size=(self.size, self.size),
                                      mode="bilinear", align_corners=False).reshape(b, t, -1, self.size, self.size)
        pad = (-t) % self.tubelet  # repeat the last frame up to a whole tubelet
        if pad:
            x = torch.cat([x, x[:, -1:].expand(b, pad, *x.shape[2:])], dim=1)
        tok = self.embed(x.transpose(1, 2))  # (B, D, T', h, w)
        nt = tok.shape[2]
        if nt > self.pos_time.shape[0]:
            raise ValueError(f"video has {nt} tubelets > max_tubelets {self.pos_time.shape[0]}")
        tok = tok.flatten(3).permute(0, 2, 3, 1)  # (B, T', hw, D)
        tok = tok + self.pos_space[None, None] + self.pos_time[None, :nt, None]
        z = self.encoder(tok.reshape(b, -1, tok.shape[-1]))
        return self.norm(z.mean(1))


class Vid2SimNet(nn.Module):
    """Video -> raw outputs: E logit, nu logit, v0 logits (3) and the LBS final layer (n_handles, width+1)."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        d, w = int(cfg["dim"]), int(cfg["head_width"])
        self.n_handles, self.lbs_width = int(cfg["n_handles"]), int(cfg["lbs_width"])
        self.backbone = VideoTransformer(d, int(cfg["depth"]), int(cfg["heads"]), int(cfg["enc_size"]),
                                         int(cfg["patch"]), int(cfg["tubelet"]), int(cfg["max_tubelets"]))
        self.head_E, self.head_nu, self.head_v0 = mlp4(d, w, 1), mlp4(d, w, 1), mlp4(d, w, 3)
        self.hyper = mlp4(d, w, self.n_handles * (self.lbs_width + 1))
        for head in (self.head_E, self.head_nu, self.head_v0):  # start at the centre of every range
            nn.init.zeros_(head[-1].weight)
            nn.init.zeros_(head[-1].bias)
        base = default_last_layer(self.n_handles, self.lbs_width, int(cfg["lbs_depth"]), int(cfg["lbs_seed"]))
        nn.init.zeros_(self.hyper[-1].weight)  # the hypernetwork starts at the MLP's default final layer
        with torch.no_grad():
            self.hyper[-1].bias.copy_(base.reshape(-1))

    def forward(self, frames: Tensor) -> dict[str, Tensor]:
        f = self.backbone(frames)
        return {"E": self.head_E(f)[:, 0], "nu": self.head_nu(f)[:, 0], "v0": self.head_v0(f),
                "lbs_last": self.hyper(f).reshape(-1, self.n_handles, self.lbs_width + 1)}


def _range(raw: Tensor, lo: float, hi: float) -> Tensor:
    return lo + (hi - lo) * torch.sigmoid(raw)


def decode(raw: dict[str, Tensor], cfg: dict[str, Any]) -> dict[str, Tensor]:
    """Raw outputs -> physical values: log10_E, E (Pa), nu, v0 (m/s, (B,3)), lbs_last (unchanged)."""
    lo_e, hi_e = (float(v) for v in cfg["bounds"]["log10_E"])
    lo_n, hi_n = (float(v) for v in cfg["bounds"]["nu"])
    log10_e = _range(raw["E"], lo_e, hi_e)
    return {"log10_E": log10_e, "E": 10.0 ** log10_e, "nu": _range(raw["nu"], lo_n, hi_n),
            "v0": float(cfg["v0_max"]) * torch.tanh(raw["v0"]), "lbs_last": raw["lbs_last"]}


def normalised(name: str, value: Tensor, cfg: dict[str, Any]) -> Tensor:
    """Map a physical value into [0, 1] of its configured range (the Stage I regression space)."""
    if name == "v0":
        return value / float(cfg["v0_max"])
    lo, hi = (float(v) for v in cfg["bounds"][name])
    return (value - lo) / (hi - lo)
