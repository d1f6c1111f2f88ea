"""LPIPS (Zhang et al. 2018), version 0.1, AlexNet trunk — defined in this repository.

Definition (identical to ``lpips.LPIPS(net="alex", version="0.1")`` with ``normalize=True``):

    x ∈ [0, 1]  ->  x' = 2x − 1 ∈ [−1, 1]  ->  (x' − shift) / scale   (shift −.030 −.088 −.188,
    scale .458 .448 .450) -> AlexNet ``features`` relu1..relu5 -> unit-normalise each feature
    vector over channels (eps 1e-10) -> squared difference -> 1x1 linear head (no bias) ->
    spatial mean -> sum over the 5 layers.

The [0,1] -> [−1,1] step is ours to apply (callers pass [0,1] frames): two public
implementations feed [0,1] straight into the network, which changes the numbers.

Weights: the linear heads are the lpips package's v0.1 ``alex.pth`` (converted into
``metrics/lpips_weights.py``); the AlexNet backbone is torchvision's ``alexnet-owt-7be5be79.pth``
read from the torch hub cache (``$TORCH_HOME/hub/checkpoints``) into the in-repo ``features``
below (no torchvision). Without that file the metric is *unavailable* (``LpipsUnavailable`` with
one line telling the user how to provide it) — never a made-up value.

Importing this module imports numpy only; torch is imported on first use.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["BACKBONE_FILE", "BACKBONE_URL", "LpipsUnavailable", "backbone_path", "availability",
           "lpips", "lpips_batch", "normalize_tensor", "spatial_average", "build_network"]

BACKBONE_FILE = "alexnet-owt-7be5be79.pth"
BACKBONE_URL = f"https://download.pytorch.org/models/{BACKBONE_FILE}"
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
# (in, out, kernel, stride, padding) of AlexNet's conv layers; indices in ``features`` 0, 3, 6, 8, 10.
_CONVS = ((3, 64, 11, 4, 2), (64, 192, 5, 1, 2), (192, 384, 3, 1, 1), (384, 256, 3, 1, 1), (256, 256, 3, 1, 1))


class LpipsUnavailable(RuntimeError):
    """The AlexNet backbone weights are not on this machine; ``str(exc)`` is the one-line fix."""


def backbone_path() -> Path:
    """Where torch hub keeps the backbone: ``$TORCH_HOME`` (default ``$XDG_CACHE_HOME/torch``,
    i.e. ``~/.cache/torch``) ``/hub/checkpoints/alexnet-owt-7be5be79.pth`` — torch's own rule,
    computed without importing torch."""
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "torch")
    return Path(os.path.expanduser(home)) / "hub" / "checkpoints" / BACKBONE_FILE


def _unavailable_message(path: Path) -> str:
    return (f"LPIPS unavailable: AlexNet backbone weights not found at {path} — download {BACKBONE_URL} "
            f"on a machine with internet and copy it to that path (or set TORCH_HOME to a directory "
            f"holding hub/checkpoints/{BACKBONE_FILE}).")


def availability() -> dict[str, Any]:
    """``{"status": "ok", "backbone": path, "backbone_sha256", "official_backbone"}`` or
    ``{"status": "unavailable", "reason": one line}``. ``official_backbone`` is True when the file's
    sha256 starts with torchvision's published prefix ``7be5be79``."""
    path = backbone_path()
    if not path.is_file():
        return {"status": "unavailable", "reason": _unavailable_message(path)}
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"status": "ok", "backbone": str(path), "backbone_sha256": digest,
            "official_backbone": digest.startswith("7be5be79"), "version": "0.1", "net": "alex"}


def normalize_tensor(x: Any, eps: float = 1e-10) -> Any:
    """x / (‖x‖₂ over channels + eps), per pixel (lpips ``normalize_tensor``)."""
    import torch

    return x / (torch.sqrt(torch.sum(x * x, dim=1, keepdim=True)) + eps)


def spatial_average(x: Any) -> Any:
    """Mean over H and W, keeping (N, C, 1, 1)."""
    return x.mean(dim=(2, 3), keepdim=True)


def _features() -> Any:
    import torch.nn as nn

    layers: list[nn.Module] = []
    for i, (cin, cout, k, s, p) in enumerate(_CONVS):
        layers += [nn.Conv2d(cin, cout, k, s, p), nn.ReLU(inplace=False)]
        if i in (0, 1, 4):
            layers.append(nn.MaxPool2d(3, 2))
    return nn.Sequential(*layers)  # same indices as torchvision.models.alexnet().features


def build_network(backbone_state: dict[str, Any]) -> Any:
    """The LPIPS module with the given torchvision-AlexNet state dict (``features.*`` keys used)."""
    import torch
    import torch.nn as nn

    from metrics.lpips_weights import linear_heads

    class _Lpips(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = _features()
            self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in (64, 192, 384, 256, 256))
            self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1))
            self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1))

        def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
            out, h = [], (x - self.shift) / self.scale
            for i, layer in enumerate(self.features):
                h = layer(h)
                if i in (1, 4, 7, 9, 11):  # relu1 .. relu5
                    out.append(h)
                if i == 11:  # the final max-pool is not used by LPIPS
                    break
            return out

        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            """a, b: (N, 3, H, W) in [−1, 1] -> (N,) distances."""
            val = torch.zeros(a.shape[0], dtype=a.dtype, device=a.device)
            for fa, fb, lin in zip(self.taps(a), self.taps(b), self.lins):
                d = (normalize_tensor(fa) - normalize_tensor(fb)) ** 2
                val = val + spatial_average(lin(d)).flatten()
            return val

    net = _Lpips()
    feats = {k[len("features."):]: v for k, v in backbone_state.items() if k.startswith("features.")}
    net.features.load_state_dict(feats, strict=True)
    with torch.no_grad():
        for lin, w in zip(net.lins, linear_heads()):
            lin.weight.copy_(torch.from_numpy(w))
    return net.eval().requires_grad_(False)


@lru_cache(maxsize=2)
def _network(path: str, mtime_ns: int) -> Any:
    import torch

    return build_network(torch.load(path, map_location="cpu", weights_only=True))


def _load() -> Any:
    path = backbone_path()
    if not path.is_file():
        raise LpipsUnavailable(_unavailable_message(path))
    return _network(str(path), path.stat().st_mtime_ns)


def lpips_batch(pred: np.ndarray, gt: np.ndarray, chunk: int = 32) -> np.ndarray:
    """LPIPS of N frame pairs (N, H, W, 3) in [0, 1] -> float64 (N,). Scales to [−1, 1] itself.

    Raises :class:`LpipsUnavailable` when the backbone file is absent.
    """
    import torch

    p, g = np.asarray(pred), np.asarray(gt)
    if p.shape != g.shape or p.ndim != 4 or p.shape[-1] != 3:
        raise ValueError(f"expected matching (N, H, W, 3) arrays, got {p.shape} and {g.shape}")
    net = _load()
    out = []
    with torch.no_grad():
        for i in range(0, len(p), chunk):
            a = torch.from_numpy(np.ascontiguousarray(p[i:i + chunk], np.float32)).permute(0, 3, 1, 2)
            b = torch.from_numpy(np.ascontiguousarray(g[i:i + chunk], np.float32)).permute(0, 3, 1, 2)
            out.append(net(2.0 * a - 1.0, 2.0 * b - 1.0).double().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def lpips(pred: np.ndarray, gt: np.ndarray) -> float:
    """LPIPS (AlexNet, v0.1) of one H x W x 3 pair in [0, 1]; 0 for identical images."""
    return float(lpips_batch(np.asarray(pred)[None], np.asarray(gt)[None])[0])
