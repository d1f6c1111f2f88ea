"""Neural skinning weights W_theta(X) (Vid2Sim eq. 1) trained data-free as in Simplicits.

``SkinningMLP`` maps a rest point X (object frame: X_hat = (X - center) / scale) through an ELU
MLP to n_handles learned weights and prepends the constant rigid handle, W_0(X) = 1, so a model
with ``n_handles`` learned handles drives H = n_handles + 1 affine handles. ``weights_and_grad``
propagates the input Jacobian forward through the layers (exact dW/dX, differentiable w.r.t. the
MLP parameters to any order, no nested autograd).

Training (Simplicits, Modi et al. 2024, §4.1): minimise over theta

    L = E_z[ mean_X Psi(F(X; z, theta)) / E ] + w_orth || W^T W / n - I ||_F^2 / m

with z random affine perturbations of the learned handles (std ramping up to ``perturb_scale``),
Psi the stable neo-Hookean (``material``), W the (n, m) learned weights at the sample points.
Dividing by E leaves a loss that depends on nu only (E is a pure scale of the elastic term).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from physics.reduced.material import energy_density, snh_parameters


class SkinningMLP(torch.nn.Module):
    """ELU MLP X -> [1, W_1(X), ..., W_m(X)]; ``center``/``scale`` fix the object frame."""

    def __init__(self, n_handles: int, center, scale: float, width: int = 64, depth: int = 3,
                 seed: int = 0, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        if n_handles < 0 or depth < 1:
            raise ValueError("need n_handles >= 0 and depth >= 1")
        self.n_handles = int(n_handles)
        self.register_buffer("center", torch.as_tensor(np.asarray(center, np.float64).reshape(3), dtype=dtype))
        self.register_buffer("scale", torch.as_tensor(float(scale), dtype=dtype))
        gen = torch.Generator().manual_seed(int(seed))
        sizes = [3] + [width] * depth + [max(self.n_handles, 1)]
        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / math.sqrt(fan_in)  # torch.nn.Linear's default range
            self.weights.append(torch.nn.Parameter((torch.rand(fan_out, fan_in, generator=gen) * 2 - 1).to(dtype) * bound))
            self.biases.append(torch.nn.Parameter((torch.rand(fan_out, generator=gen) * 2 - 1).to(dtype) * bound))

    @property
    def n_total(self) -> int:
        """H: learned handles + the constant rigid handle (index 0)."""
        return self.n_handles + 1

    def weights_and_grad(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """W (P, H) and dW/dX (P, H, 3) at rest points X (P, 3); column 0 is the constant handle."""
        X = X.to(self.center.dtype)
        h = (X - self.center) / self.scale
        jac = (torch.eye(3, dtype=X.dtype, device=X.device) / self.scale).expand(X.shape[0], 3, 3)
        n_layers = len(self.weights)
        for k in range(n_layers):
            pre = h @ self.weights[k].T + self.biases[k]
            jac = torch.einsum("oi,pij->poj", self.weights[k], jac)
            if k < n_layers - 1:
                h = torch.nn.functional.elu(pre)
                jac = torch.where(pre > 0, torch.ones_like(pre), torch.exp(torch.clamp(pre, max=0.0)))[..., None] * jac
            else:
                h = pre
        ones = torch.ones(X.shape[0], 1, dtype=X.dtype, device=X.device)
        if self.n_handles == 0:
            return ones, torch.zeros(X.shape[0], 1, 3, dtype=X.dtype, device=X.device)
        zeros = torch.zeros(X.shape[0], 1, 3, dtype=X.dtype, device=X.device)
        return torch.cat([ones, h], dim=1), torch.cat([zeros, jac], dim=1)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """W (P, H)."""
        return self.weights_and_grad(X)[0]


def orthogonality_loss(W: torch.Tensor) -> torch.Tensor:
    """Simplicits orthogonality term || W^T W / n - I ||_F^2 / m for learned weights W (n, m)."""
    n, m = W.shape
    gram = W.T @ W / n
    return ((gram - torch.eye(m, dtype=W.dtype, device=W.device)) ** 2).sum() / max(m, 1)


def training_losses(model: SkinningMLP, X: torch.Tensor, A: torch.Tensor, nu: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(elastic / E, orthogonality) for perturbations A (B, H, 3, 4) at points X (P, 3)."""
    from physics.reduced.kinematics import affine_coefficients

    W, dW = model.weights_and_grad(X)
    G = affine_coefficients(X, W, dW, model.center)  # (P, H, 4, 3)
    eye = torch.eye(3, dtype=X.dtype, device=X.device)
    F = eye + torch.einsum("zhib,phbj->zpij", A, G)
    mu, lam_s = snh_parameters(1.0, float(nu))
    return energy_density(F, mu, lam_s).mean(), orthogonality_loss(W[:, 1:])


def train_skinning_weights(
    points, n_handles: int, E: float = 1e5, nu: float = 0.3, steps: int = 1000, seed: int = 0, *,
    width: int = 64, depth: int = 3, lr: float = 1e-3, batch: int = 8, max_points: int = 1024,
    perturb_scale: float = 0.3, w_orth: float = 10.0, log_every: int = 0,
) -> tuple[SkinningMLP, dict]:
    """Train the weight MLP data-free (Simplicits); deterministic on CPU for a given ``seed``.

    Returns the model (float64, for simulation) and a history dict of per-step "elastic" and
    "orth" loss values. ``E`` only scales the elastic term, which is normalised by E (kept for
    parity with Simplicits' signature); the weights depend on ``nu`` and the geometry.
    """
    if E <= 0:
        raise ValueError("E must be positive")
    pts = np.asarray(points, np.float64).reshape(-1, 3)
    lo, hi = pts.min(0), pts.max(0)
    center = 0.5 * (lo + hi)
    scale = max(float(np.max(hi - lo)) * 0.5, 1e-9)
    model = SkinningMLP(n_handles, center, scale, width=width, depth=depth, seed=seed, dtype=torch.float32)
    gen = torch.Generator().manual_seed(int(seed) + 1)
    X_all = torch.as_tensor(pts, dtype=torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    hist: dict[str, list[float]] = {"elastic": [], "orth": []}
    H = model.n_total
    for step in range(int(steps)):
        if X_all.shape[0] > max_points:
            X = X_all[torch.randperm(X_all.shape[0], generator=gen)[:max_points]]
        else:
            X = X_all
        ramp = min(1.0, (step + 1) / max(1, steps // 2))
        A = torch.randn(batch, H, 3, 4, generator=gen) * (perturb_scale * ramp)
        A[:, 0] = 0.0  # the constant handle is not trained
        A[..., 3] = A[..., 3] * scale  # translations in metres
        el, orth = training_losses(model, X, A, nu)
        loss = el + w_orth * orth
        opt.zero_grad()
        loss.backward()
        opt.step()
        hist["elastic"].append(float(el.detach()))
        hist["orth"].append(float(orth.detach()))
        if log_every and step % log_every == 0:
            print(f"step {step}: elastic/E {float(el):.4e} orth {float(orth):.4e}")
    return model.double().eval(), hist
