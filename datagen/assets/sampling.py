"""Surface and volume sampling of an `AssetMesh` (deterministic given the numpy Generator)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from physics.point_sampling import farthest_point_sampling

from .query import inside

if TYPE_CHECKING:  # pragma: no cover
    from .mesh import AssetMesh

SurfaceSamples = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def sample_surface(mesh: "AssetMesh", n: int, rng: np.random.Generator) -> SurfaceSamples:
    """Area-weighted uniform surface samples.

    Returns points (n, 3), unit face normals (n, 3), colours (n, 3) in [0, 1], face_idx (n,)
    int64 and barycentric coordinates bary (n, 3)."""
    areas = mesh.face_areas()
    total = areas.sum()
    if not total > 0:
        raise ValueError("mesh has no surface area")
    cdf = np.cumsum(areas) / total
    face_idx = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    face_idx = np.minimum(face_idx, len(areas) - 1).astype(np.int64)
    r = rng.random((n, 2))
    sq = np.sqrt(r[:, 0])
    bary = np.stack([1.0 - sq, sq * (1.0 - r[:, 1]), sq * r[:, 1]], axis=1)
    tri = mesh.vertices[mesh.faces[face_idx]]
    points = np.einsum("pk,pkc->pc", bary, tri)
    normals = mesh.face_normals()[face_idx]
    colors = mesh.color_at(face_idx, bary)
    return points, normals, colors, face_idx, bary


def sample_surface_even(
    mesh: "AssetMesh", n: int, rng: np.random.Generator, oversample: int = 8
) -> SurfaceSamples:
    """Blue-noise-like surface samples: `oversample * n` area-weighted candidates reduced to n
    by farthest point sampling (O(oversample * n^2); ~1 s for n = 4000 on one core)."""
    pts, nrm, col, fi, bary = sample_surface(mesh, max(n, oversample * n), rng)
    keep = farthest_point_sampling(pts, n, start_index=0)
    return pts[keep], nrm[keep], col[keep], fi[keep], bary[keep]


def sample_volume(
    mesh: "AssetMesh", n: int, rng: np.random.Generator, max_rounds: int = 100
) -> np.ndarray:
    """(n, 3) points uniformly distributed inside the closed mesh (rejection sampling in its
    AABB with `inside`)."""
    lo, hi = mesh.bounds
    got: list[np.ndarray] = []
    have = 0
    batch = max(1024, 2 * n)
    for _ in range(max_rounds):
        cand = lo + rng.random((batch, 3)) * (hi - lo)
        acc = cand[inside(mesh, cand)]
        got.append(acc)
        have += len(acc)
        if have >= n:
            return np.concatenate(got)[:n]
        frac = max(have, 1) / (batch * len(got))
        batch = int(min(4_000_000, max(1024, 1.2 * (n - have) / frac)))
    raise RuntimeError(f"sample_volume: only {have}/{n} interior points; is the mesh closed?")


def volume_grid(mesh: "AssetMesh", spacing: float) -> np.ndarray:
    """(M, 3) interior points of a regular grid (no jitter) with the given spacing, centred on
    the mesh's AABB centre; points are in C order (x slowest, z fastest)."""
    if not spacing > 0:
        raise ValueError("spacing must be > 0")
    lo, hi = mesh.bounds
    ext = hi - lo
    counts = np.floor(ext / spacing).astype(np.int64) + 1
    centre = (lo + hi) / 2
    axes = [centre[k] + (np.arange(counts[k]) - (counts[k] - 1) / 2) * spacing for k in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    return grid[inside(mesh, grid)]
