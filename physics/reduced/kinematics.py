"""LBS kinematics (Vid2Sim eq. 1) and its deformation gradient, both linear in the handle DoFs.

With the object-frame rest coordinate X_tilde = [X - c; 1] (c = the skinning model's centre) and
A_h the 3x4 affine of handle h (z_h = row-major flatten of A_h, 12 numbers),

    x(X) = X + sum_h W_h(X) A_h X_tilde,
    F(X) = dx/dX = I + sum_h [ (A_h X_tilde) dW_h/dX^T + W_h A_h[:, :3] ].

So x = X + B(X) z and vec(F) = vec(I) + J(X) z with B (3 x 12H) and J (9 x 12H) independent of z
(J is the Jacobian dF/dz that Vid2Sim's neural Jacobian, eq. 5, approximates; we compute it exactly).
Handle 0 has W_0 = 1, so z_0 = [R - I | t] moves the object rigidly (x = c + t + R (X - c)).
"""

from __future__ import annotations

import torch


def _as(x, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(x, dtype=like.dtype, device=like.device)


def affine_coefficients(X: torch.Tensor, W: torch.Tensor, dW: torch.Tensor, center: torch.Tensor) -> torch.Tensor:
    """G (P, H, 4, 3) with F_ij = delta_ij + sum_{h,b} A_h[i, b] G[h, b, j]."""
    xt = torch.cat([X - center, torch.ones_like(X[:, :1])], dim=1)  # (P, 4)
    e = torch.cat([torch.eye(3, dtype=X.dtype, device=X.device), torch.zeros(1, 3, dtype=X.dtype, device=X.device)])
    return xt[:, None, :, None] * dW[:, :, None, :] + W[:, :, None, None] * e


def lbs_operators(model, X, return_coefficients: bool = False):
    """(X (P,3), B (P, 3, 12H), J (P, 9, 12H)[, G (P, H, 4, 3)]) for rest points X; differentiable."""
    X = _as(X, model.center)
    W, dW = model.weights_and_grad(X)
    P, H = W.shape
    eye = torch.eye(3, dtype=X.dtype, device=X.device)
    xt = torch.cat([X - model.center, torch.ones_like(X[:, :1])], dim=1)
    wx = W[:, :, None] * xt[:, None, :]  # (P, H, 4)
    B = torch.einsum("phb,ad->pahdb", wx, eye).reshape(P, 3, 12 * H)
    G = affine_coefficients(X, W, dW, model.center)  # (P, H, 4, 3)
    J = torch.einsum("phbj,id->pijhdb", G, eye).reshape(P, 9, 12 * H)
    return (X, B, J, G) if return_coefficients else (X, B, J)


def _flat_z(z: torch.Tensor, n: int) -> torch.Tensor:
    return z.reshape(z.shape[:-2] + (n,)) if z.shape[-1] == 12 else z.reshape(z.shape[:-3] + (n,))


def deform_points(model, points, z: torch.Tensor) -> torch.Tensor:
    """x (..., P, 3) for handle DoFs z (..., H, 12) or (..., H, 3, 4) (Vid2Sim eq. 1)."""
    X, B, _ = lbs_operators(model, points)
    zf = _flat_z(_as(z, X), B.shape[-1])
    return X + torch.einsum("pan,...n->...pa", B, zf)


def deformation_gradient(model, points, z: torch.Tensor) -> torch.Tensor:
    """F = dx/dX (..., P, 3, 3) for handle DoFs z (..., H, 12)."""
    X, _, J = lbs_operators(model, points)
    zf = _flat_z(_as(z, X), J.shape[-1])
    eye = torch.eye(3, dtype=X.dtype, device=X.device)
    return eye + torch.einsum("pkn,...n->...pk", J, zf).reshape(zf.shape[:-1] + (X.shape[0], 3, 3))


def deform_covariances(cov: torch.Tensor, F: torch.Tensor) -> torch.Tensor:
    """Sigma' = F Sigma F^T (..., 3, 3) (Vid2Sim §3: Sigma' = L' L'^T with L' = F R S)."""
    return F @ cov @ F.transpose(-1, -2)


def deform_gaussian_frames(F: torch.Tensor, rotation: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """L' = F R S (..., 3, 3) for Gaussian rotations R (..., 3, 3) and scales S (..., 3)."""
    return F @ rotation * scale[..., None, :]


def translation_velocity(n_handles: int, v: "torch.Tensor | object", dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """zdot (n_handles, 12) of a rigid translation at velocity v (3,): handle 0 (W_0 = 1 everywhere)
    carries it in its translation column, the DoFs 3, 7, 11 of the row-major [R - I | t]; the other
    handles rest. Differentiable in v (a tensor that requires grad keeps its graph)."""
    v = torch.as_tensor(v, dtype=dtype)
    rows = torch.zeros(3, dtype=torch.long)
    return torch.zeros(int(n_handles), 12, dtype=dtype).index_put((rows, torch.tensor([3, 7, 11])), v)
