"""Vid2Sim's LBS pieces: the object's volume samples, the weight MLP W_theta of eq. 1 with a
hypernetwork-predicted final layer (§4.1), its data-free Simplicits objective, and the Neural
Jacobian of eq. 5 (§4.2).

Geometry: LGM cannot be loaded here, so the sample's canonical Gaussians stand in for it; their
centres are surface points, and the volume is filled with a grid inside their convex hull
(``physics.spring_mass.anchors.sample_anchors``: farthest-point samples of surface + interior), or
sampled uniformly inside it (``volume_sampling: uniform``; see ``volume_samples``). Only
E / rho is observable in the dynamics, and equal cubature volumes make the total volume cancel too.

Neural Jacobian (eq. 5). In LBS, F(X, z) = I + J(X) z with J = I_3 (x) G(X), G_h = [X~ dW_h^T + W_h [I; 0]]
(``physics.reduced.kinematics``): J is fixed by W and dW/dX. ``NeuralJacobian`` predicts dW/dX
(n_handles x 3 per point) with its own MLP, and J_theta is assembled from it and W_theta(X); it is
trained with eq. 5, || J_theta(X) z + I - F(X, z) ||_1, F by central finite differences of phi(X, z),
z random handle perturbations (data-free, as Simplicits samples them). ``JacobianSkinning`` hands
(W_theta, dW from the network) to the simulator, so the elastic energy, Hessian and adjoint use J_theta.
A network emitting all 9 x 12H entries of J would have to learn this Kronecker structure, which is exact.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from physics.reduced.skinning import SkinningMLP, training_losses


# ------------------------------------------------------------------------------ geometry
def volume_samples(means: np.ndarray, n: int, seed: int, fill_res: int = 12,
                   mode: str = "fps") -> tuple[np.ndarray, float]:
    """(X (n, 3) float64 volume samples, total volume m^3) of the canonical shape's convex hull.

    ``fps`` (default): the Gaussian centres (surface) + a ``fill_res``^3 grid fill of their hull,
    farthest-point sampled (``physics.spring_mass.anchors.sample_anchors``). ``uniform``: ``n`` seeded
    uniform samples inside the hull, as Simplicits samples an object's volume (and as the reduced GT
    samples its mesh). The simulator's floor contact acts on the farthest-point cubature points taken
    from X, so the choice sets how deep the surface sinks into the floor, which the rendering loss
    trades against E (``probes/vid2sim_discretization.py``; docs/RESULTS.md, Vid2Sim).
    """
    from scipy.spatial import ConvexHull

    from physics.spring_mass.anchors import sample_anchors

    if mode not in ("fps", "uniform"):
        raise ValueError(f"volume_sampling: unknown mode {mode!r} (uniform | fps)")
    p = np.asarray(means, np.float64)
    try:
        hull = ConvexHull(p)
        vol = float(hull.volume)
    except Exception:  # flat point set: the bounding box with a thin third side
        hull = None
        ext = np.maximum(p.max(0) - p.min(0), 1e-3)
        vol = float(np.prod(ext))
    if mode == "fps" or hull is None:
        return sample_anchors(p, int(n), int(seed), int(fill_res)).astype(np.float64), vol
    rng = np.random.default_rng(int(seed))
    lo, hi = p.min(0), p.max(0)
    eq = hull.equations  # (F, 4): n.x + d <= 0 inside
    out: list[np.ndarray] = []
    have = 0
    for _ in range(1000):  # rejection sampling in the bounding box
        cand = rng.uniform(lo, hi, size=(max(4 * int(n), 256), 3))
        cand = cand[np.all(cand @ eq[:, :3].T + eq[:, 3] <= 0.0, axis=1)]
        out.append(cand)
        have += len(cand)
        if have >= int(n):
            break
    X = np.concatenate(out)[: int(n)]
    if len(X) < int(n):  # a hull far thinner than its box: fall back to the surface + grid fill
        return sample_anchors(p, int(n), int(seed), int(fill_res)).astype(np.float64), vol
    return X.astype(np.float64), vol


def object_frame(points: np.ndarray) -> tuple[np.ndarray, float]:
    """(centre, half the largest extent): the LBS MLP's input normalisation (as ``train_skinning_weights``)."""
    p = np.asarray(points, np.float64)
    lo, hi = p.min(0), p.max(0)
    return 0.5 * (lo + hi), max(float(np.max(hi - lo)) * 0.5, 1e-9)


def make_skinning(cfg: dict[str, Any], center: np.ndarray, scale: float, last: Tensor | None = None,
                  dtype: torch.dtype = torch.float64) -> SkinningMLP:
    """W_theta with seeded default hidden layers and ``last`` (n_handles, width+1) as its final layer."""
    m = SkinningMLP(int(cfg["n_handles"]), center, scale, width=int(cfg["lbs_width"]), depth=int(cfg["lbs_depth"]),
                    seed=int(cfg["lbs_seed"]), dtype=torch.float32)
    if last is not None:
        with torch.no_grad():
            m.weights[-1].copy_(last[:, :-1].float())
            m.biases[-1].copy_(last[:, -1].float())
    return m.to(dtype)


def hidden_features(cfg: dict[str, Any], center: np.ndarray, scale: float, X: np.ndarray) -> tuple[Tensor, Tensor]:
    """Fixed hidden-layer features h (P, width) and dh/dX (P, width, 3) of W_theta at X (float32).

    The hidden layers of a seeded SkinningMLP do not depend on its number of outputs, so a model with
    ``width`` outputs and an identity final layer returns exactly the last hidden features.
    """
    w = int(cfg["lbs_width"])
    m = SkinningMLP(w, center, scale, width=w, depth=int(cfg["lbs_depth"]), seed=int(cfg["lbs_seed"]))
    with torch.no_grad():
        m.weights[-1].copy_(torch.eye(w))
        m.biases[-1].zero_()
        W, dW = m.weights_and_grad(torch.as_tensor(X, dtype=torch.float32))
    return W[:, 1:].contiguous(), dW[:, 1:].contiguous()


class _Evaluated:
    """Weights already evaluated at fixed points, in the interface ``training_losses`` reads."""

    def __init__(self, center: Tensor, W: Tensor, dW: Tensor) -> None:
        self.center, self.W, self.dW = center, W, dW

    def weights_and_grad(self, X: Tensor) -> tuple[Tensor, Tensor]:
        """The stored (W, dW/dX); ``X`` must be the points they were evaluated at."""
        return self.W, self.dW


def hyper_weights(h: Tensor, dh: Tensor, last: Tensor) -> tuple[Tensor, Tensor]:
    """W (P, 1+n) and dW/dX (P, 1+n, 3) of the MLP whose final layer is ``last`` (n, width+1); col 0 = 1."""
    Wl = h @ last[:, :-1].T + last[:, -1]
    dWl = torch.einsum("nw,pwj->pnj", last[:, :-1], dh)
    ones = torch.ones_like(Wl[:, :1])
    return torch.cat([ones, Wl], 1), torch.cat([torch.zeros_like(dWl[:, :1]), dWl], 1)


def random_handle_perturbations(n_total: int, scale: float, cfg: dict[str, Any], gen: torch.Generator,
                                dtype: torch.dtype = torch.float32) -> Tensor:
    """Simplicits' data-free z samples (B, H, 3, 4): Gaussian affines of the learned handles (translations in m)."""
    A = torch.randn(int(cfg["simplicits_batch"]), n_total, 3, 4, generator=gen, dtype=dtype) * float(cfg["perturb_scale"])
    A[:, 0] = 0.0  # the constant (rigid) handle
    A[..., 3] = A[..., 3] * scale
    return A


def simplicits_loss(model: Any, X: Tensor, nu: float, cfg: dict[str, Any], gen: torch.Generator,
                    scale: float) -> tuple[Tensor, dict[str, float]]:
    """Simplicits' data-free objective E_z[mean_X Psi(F)/E] + w_orth ||W^T W/n - I||^2/m for ``model``."""
    n_total = model.W.shape[1] if isinstance(model, _Evaluated) else model.n_total
    A = random_handle_perturbations(n_total, scale, cfg, gen, X.dtype)
    el, orth = training_losses(model, X, A, nu)
    return el + float(cfg["w_orth"]) * orth, {"elastic": float(el.detach()), "orth": float(orth.detach())}


def hyper_simplicits_loss(item: dict[str, Any], last: Tensor, nu: float, cfg: dict[str, Any],
                          gen: torch.Generator) -> tuple[Tensor, dict[str, float]]:
    """Stage I hypernetwork loss: the Simplicits objective of W_theta with the predicted final layer."""
    W, dW = hyper_weights(item["h"], item["dh"], last)
    ev = _Evaluated(torch.as_tensor(item["center"], dtype=torch.float32), W, dW)
    return simplicits_loss(ev, item["X"], nu, cfg, gen, item["scale"])


def finetune_skinning(model: SkinningMLP, X: np.ndarray, nu: float, cfg: dict[str, Any], steps: int,
                      seed: int) -> list[float]:
    """Train all LBS layers data-free (Simplicits) from the Stage I estimate (§5.2); returns the losses."""
    gen = torch.Generator().manual_seed(int(seed))
    Xt = torch.as_tensor(X, dtype=model.center.dtype)
    scale = float(model.scale)
    opt = torch.optim.Adam(model.parameters(), lr=float(cfg["lr_lbs_pre"]))
    hist = []
    for _ in range(int(steps)):
        loss, _ = simplicits_loss(model, Xt, nu, cfg, gen, scale)
        opt.zero_grad()
        loss.backward()
        opt.step()
        hist.append(float(loss.detach()))
    return hist


# ------------------------------------------------------------------------------ neural Jacobian (eq. 5)
class NeuralJacobian(nn.Module):
    """J_theta(X): an ELU MLP X_hat -> dW/dX of the learned handles (n_handles, 3); see module doc."""

    def __init__(self, n_handles: int, center: Tensor, scale: Tensor, width: int = 64, seed: int = 0) -> None:
        super().__init__()
        self.n_handles = int(n_handles)
        self.register_buffer("center", center.detach().clone())
        self.register_buffer("scale", scale.detach().clone())
        gen = torch.Generator().manual_seed(int(seed))
        self.net = nn.Sequential(nn.Linear(3, width), nn.ELU(), nn.Linear(width, width), nn.ELU(),
                                 nn.Linear(width, 3 * self.n_handles))
        with torch.no_grad():
            for lin in self.net[::2]:
                b = 1.0 / float(np.sqrt(lin.in_features))
                lin.weight.copy_((torch.rand(lin.weight.shape, generator=gen) * 2 - 1) * b)
                lin.bias.copy_((torch.rand(lin.bias.shape, generator=gen) * 2 - 1) * b)
        self.to(center.dtype)

    def forward(self, X: Tensor) -> Tensor:
        """dW/dX (P, n_handles, 3) in 1/m."""
        out = self.net((X.to(self.center.dtype) - self.center) / self.scale)
        return out.reshape(X.shape[0], self.n_handles, 3) / self.scale


class JacobianSkinning(nn.Module):
    """W from the LBS MLP and dW/dX from the neural Jacobian: the simulator then uses J_theta (eq. 5)."""

    def __init__(self, lbs: SkinningMLP, jac: NeuralJacobian) -> None:
        super().__init__()
        self.lbs, self.jac = lbs, jac

    @property
    def center(self) -> Tensor:
        """The LBS object-frame centre."""
        return self.lbs.center

    @property
    def n_total(self) -> int:
        """H: learned handles + the constant one."""
        return self.lbs.n_total

    def weights_and_grad(self, X: Tensor) -> tuple[Tensor, Tensor]:
        """W (P, H) from the LBS MLP and dW/dX (P, H, 3) from J_theta (zero for the constant handle)."""
        W = self.lbs.weights_and_grad(X)[0]
        dW = self.jac(X)
        return W, torch.cat([torch.zeros_like(dW[:, :1]), dW], dim=1)


def fd_operators(lbs: SkinningMLP, X: Tensor, eps: float = 1e-4) -> tuple[Tensor, Tensor]:
    """(W (P, H), D (P, 3, 3, 12H)) with F_ij(X, z) = delta_ij + D[:, i, j] z by central differences of
    phi(X, z) = X + B(X) z in X (eq. 5's cheap ground truth; phi is linear in z, so D serves every z)."""
    from physics.reduced.kinematics import lbs_operators

    with torch.no_grad():
        cols = []
        for j in range(3):
            e = torch.zeros(3, dtype=X.dtype)
            e[j] = eps
            cols.append((lbs_operators(lbs, X + e)[1] - lbs_operators(lbs, X - e)[1]) / (2 * eps))
        return lbs.weights_and_grad(X)[0], torch.stack(cols, dim=2)


def jacobian_loss(jac: NeuralJacobian, X: Tensor, W: Tensor, D: Tensor, center: Tensor, A: Tensor) -> Tensor:
    """Eq. 5: mean over points and z of || J_theta(X) z + I - F(X, z) ||_1, z = A (B, H, 3, 4) flattened.

    J_theta z = sum_{h,b} A[h, i, b] G[h, b, j] with G assembled from W and the network's dW/dX."""
    from physics.reduced.kinematics import affine_coefficients

    dW = jac(X)
    G = affine_coefficients(X, W, torch.cat([torch.zeros_like(dW[:, :1]), dW], dim=1), center)
    JZ = torch.einsum("zhib,phbj->zpij", A, G)
    FZ = torch.einsum("pijn,zn->zpij", D, A.reshape(A.shape[0], -1))
    return (JZ - FZ).abs().sum((-2, -1)).mean()


def train_jacobian(lbs: SkinningMLP, jac: NeuralJacobian, X: np.ndarray, cfg: dict[str, Any], steps: int,
                   seed: int) -> list[float]:
    """Fit J_theta to the (frozen) current LBS with eq. 5 on data-free z samples; returns the losses."""
    gen = torch.Generator().manual_seed(int(seed))
    Xt = torch.as_tensor(X, dtype=lbs.center.dtype)
    W, D = fd_operators(lbs, Xt)
    opt = torch.optim.Adam(jac.parameters(), lr=float(cfg["lr_jac_pre"]))
    hist = []
    for _ in range(int(steps)):
        A = random_handle_perturbations(lbs.n_total, float(lbs.scale), cfg, gen, Xt.dtype)
        loss = jacobian_loss(jac, Xt, W, D, lbs.center, A)
        opt.zero_grad()
        loss.backward()
        opt.step()
        hist.append(float(loss.detach()))
    return hist
