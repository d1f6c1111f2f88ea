"""Tile binning and front-to-back alpha compositing with a hand-written backward (3DGS eq. 2-3).

``composite(...)`` returns per tile-pixel ``acc = Σ_i w_i f_i`` (f = colour channels + depth) and the
final transmittance ``T``, with ``w_i = α_i T_i``, ``T_i = Π_{j<i} (1 - α_j)`` and
``α_i = min(α_max, o_i exp(-σ_i))``, ``σ_i = ½ dᵀ Σ'⁻¹ d``. All tiles are processed together in depth
chunks; the forward keeps only each chunk's starting transmittance, and the backward re-evaluates the
chunks back to front (like the 3DGS CUDA backward), so memory stays O(pixels · chunk).

Gradient (per pixel, for Gaussians actually composited), with G_i = ∂L/∂acc · f_i:

    ∂L/∂α_i = T_i G_i - (Σ_{j>i} w_j G_j + ∂L/∂T · T_final) / (1 - α_i)
    ∂L/∂f_i = w_i ∂L/∂acc,  ∂α/∂o = e^{-σ}, ∂α/∂σ = -α (unclamped), ∂σ/∂μ' = -Σ'⁻¹ d.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

ALPHA_MIN = 1.0 / 255.0
T_MIN = 1e-4


@torch.no_grad()
def tile_lists(means2d: Tensor, radii: Tensor, depths: Tensor, tile_size: int, tiles_x: int, tiles_y: int) -> tuple[Tensor, Tensor]:
    """Per-tile Gaussian indices sorted front to back, padded with ``N``: (n_tiles, Kmax) and counts.

    A Gaussian with box radii r = (r_x, r_y) (``radii`` (N,2)) covers tiles
    ``[floor((μ'-r)/ts), ceil((μ'+r)/ts))`` per axis (gsplat isect_tiles); r = (0, 0) means culled.
    """
    n, dev = means2d.shape[0], means2d.device
    n_tiles = tiles_x * tiles_y
    ids = torch.nonzero((radii > 0).any(-1)).flatten()
    if ids.numel() == 0:
        empty = torch.full((n_tiles, 0), n, dtype=torch.long, device=dev)
        return empty, torch.zeros(n_tiles, dtype=torch.long, device=dev)
    ids = ids[torch.argsort(depths[ids], stable=True)]
    m, r = means2d[ids].double() / tile_size, radii[ids].double() / tile_size
    lo, hi = torch.floor(m - r).long(), torch.ceil(m + r).long()
    lo[:, 0].clamp_(0, tiles_x), hi[:, 0].clamp_(0, tiles_x)
    lo[:, 1].clamp_(0, tiles_y), hi[:, 1].clamp_(0, tiles_y)
    nx, ny = hi[:, 0] - lo[:, 0], hi[:, 1] - lo[:, 1]
    cnt = nx * ny
    total = int(cnt.sum())
    g = torch.repeat_interleave(torch.arange(len(ids), device=dev), cnt)
    local = torch.arange(total, device=dev) - (torch.cumsum(cnt, 0) - cnt)[g]
    tile = (lo[g, 1] + local // nx[g]) * tiles_x + lo[g, 0] + local % nx[g]
    tile_sorted, order = torch.sort(tile, stable=True)  # stable: depth order is kept inside each tile
    counts = torch.bincount(tile_sorted, minlength=n_tiles)
    pos = torch.arange(total, device=dev) - (torch.cumsum(counts, 0) - counts)[tile_sorted]
    lists = torch.full((n_tiles, int(counts.max())), n, dtype=torch.long, device=dev)
    lists[tile_sorted, pos] = ids[g[order]]
    return lists, counts


def _pixel_features(ts: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """Quadratic features Φ = [qx², qx qy, qy², qx, qy, 1] of pixel centres relative to the tile centre (P, 6)."""
    ar = torch.arange(ts, dtype=dtype, device=device) + 0.5 - ts / 2
    qy, qx = (t.flatten() for t in torch.meshgrid(ar, ar, indexing="ij"))
    return torch.stack([qx * qx, qx * qy, qy * qy, qx, qy, torch.ones_like(qx)], -1)


def _quad_coeffs(m: Tensor, cn: Tensor) -> Tensor:
    """σ(q) = ½ (q-m)ᵀ Σ'⁻¹ (q-m) as coefficients on Φ: m (m,C,2) tile-centred means, cn (m,C,3) -> (m,C,6)."""
    mx, my = m[..., 0], m[..., 1]
    ca, cb, cc = cn[..., 0], cn[..., 1], cn[..., 2]
    s0 = 0.5 * ca * mx * mx + cb * mx * my + 0.5 * cc * my * my
    return torch.stack([0.5 * ca, cb, 0.5 * cc, -(ca * mx + cb * my), -(cc * my + cb * mx), s0], -1)


def _chunk_alpha(phi: Tensor, m: Tensor, cn: Tensor, op: Tensor, alpha_max: float):
    """Alpha of chunk Gaussians at the tile pixels -> (m_tiles, P, C); σ is one batched matmul Φ·coeffᵀ.

    σ is clamped at 0 (it is ≥ 0 for a positive-definite Σ'; 3DGS skips the rounding-negative case).
    """
    sigma = torch.matmul(phi, _quad_coeffs(m, cn).transpose(1, 2)).clamp_(min=0)
    e = torch.exp(-sigma)
    g = op[:, None, :] * e
    alpha = torch.where(g >= ALPHA_MIN, g.clamp(max=alpha_max), torch.zeros_like(g))  # α<1/255 skipped
    return alpha, (sigma, e, g)


def _prefix(alpha: Tensor, T: Tensor, done: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """3DGS early stop: keep Gaussians while T·Π(1-α) >= 1e-4; a stopped pixel stays stopped.

    Returns the composited alphas, the keep mask and the updated per-pixel ``done`` flag.
    """
    t_incl = T[..., None] * torch.cumprod(1 - alpha, -1)
    stop = (t_incl < T_MIN) | done[..., None]
    ok = torch.cumsum(stop.to(torch.int32), -1) == 0
    return alpha * ok, ok, done | stop.any(-1)


class Composite(torch.autograd.Function):
    """(means2d, conics, opacities, feats) of N+1 Gaussians (last = zero-opacity pad) -> (acc, T) per tile."""

    @staticmethod
    def forward(ctx, mean2d, conic, opac, feat, lists, counts, origin, ts: int, chunk: int, alpha_max: float):
        n_tiles, P, F = counts.shape[0], ts * ts, feat.shape[1]
        acc_full = feat.new_zeros(n_tiles, P, F)
        T_full = feat.new_ones(n_tiles, P)
        act = torch.nonzero(counts > 0).flatten()
        acc = feat.new_zeros(len(act), P, F)
        T = feat.new_ones(len(act), P)
        done = torch.zeros(len(act), P, dtype=torch.bool, device=feat.device)
        phi = _pixel_features(ts, feat.dtype, feat.device)
        centre = origin[act] + ts / 2
        steps = []
        k = 0
        while len(act) > 0:
            idx = lists[act, k : k + chunk]
            alpha, _ = _chunk_alpha(phi, mean2d[idx] - centre[:, None], conic[idx], opac[idx], alpha_max)
            a, _, done_new = _prefix(alpha, T, done)
            cp = torch.cumprod(1 - a, -1)
            w = a * torch.cat([T[..., None], T[..., None] * cp[..., :-1]], -1)
            acc.baddbmm_(w, feat[idx])
            steps.append((act, centre, T, done, k))
            T, done = T * cp[..., -1], done_new
            k += chunk
            alive = (counts[act] > k) & ~done.all(-1)
            if not bool(alive.all()):
                dead = ~alive
                acc_full[act[dead]], T_full[act[dead]] = acc[dead], T[dead]
                act, acc, T, done, centre = act[alive], acc[alive], T[alive], done[alive], centre[alive]
        ctx.save_for_backward(mean2d, conic, opac, feat, lists, T_full)
        ctx.steps, ctx.chunk, ctx.alpha_max, ctx.phi = steps, chunk, alpha_max, phi
        return acc_full, T_full

    @staticmethod
    @once_differentiable
    def backward(ctx, g_acc, g_T):
        mean2d, conic, opac, feat, lists, T_full = ctx.saved_tensors
        F = feat.shape[1]
        carry = g_T * T_full  # Σ_{j after} w_j G_j + ∂L/∂T·T_final, accumulated back to front
        g_mu, g_cn = torch.zeros_like(mean2d), torch.zeros_like(conic)
        g_op, g_f = torch.zeros_like(opac), torch.zeros_like(feat)
        for act, centre, T0, done0, k in reversed(ctx.steps):
            idx = lists[act, k : k + ctx.chunk]
            f, m, cn = feat[idx], mean2d[idx] - centre[:, None], conic[idx]
            alpha, (sigma, e, g) = _chunk_alpha(ctx.phi, m, cn, opac[idx], ctx.alpha_max)
            a, ok, _ = _prefix(alpha, T0, done0)
            one_m = 1 - a
            cp = torch.cumprod(one_m, -1)
            t_excl = torch.cat([T0[..., None], T0[..., None] * cp[..., :-1]], -1)
            w = a * t_excl
            ga = g_acc[act]
            G = torch.bmm(ga, f.transpose(1, 2))  # (m,P,C)
            wG = w * G
            suf = wG.flip(-1).cumsum(-1).flip(-1)  # Σ_{j>=i in chunk}
            c = carry[act]
            carry[act] = c + suf[..., 0]
            d_a = (t_excl * G - (c[..., None] + suf - wG) / one_m) * (ok & (alpha > 0))  # composited only
            d_g = d_a * (g < ctx.alpha_max) * (sigma > 0)
            flat = idx.flatten()
            g_f.index_add_(0, flat, torch.bmm(w.transpose(1, 2), ga).reshape(-1, F))
            g_op.index_add_(0, flat, (d_g * e).sum(1).flatten())
            gq = torch.matmul((-d_g * g).transpose(1, 2), ctx.phi)  # ∂L/∂coeff (m,C,6)
            mx, my = m[..., 0], m[..., 1]
            ca, cb, cc = cn[..., 0], cn[..., 1], cn[..., 2]
            G0, G1, G2, G3, G4, G5 = gq.unbind(-1)
            gmx = -ca * G3 - cb * G4 + (ca * mx + cb * my) * G5
            gmy = -cb * G3 - cc * G4 + (cb * mx + cc * my) * G5
            g_mu.index_add_(0, flat, torch.stack([gmx, gmy], -1).reshape(-1, 2))
            gca = 0.5 * G0 - mx * G3 + 0.5 * mx * mx * G5
            gcb = G1 - my * G3 - mx * G4 + mx * my * G5
            gcc = 0.5 * G2 - my * G4 + 0.5 * my * my * G5
            g_cn.index_add_(0, flat, torch.stack([gca, gcb, gcc], -1).reshape(-1, 3))
        return g_mu, g_cn, g_op, g_f, None, None, None, None, None, None
