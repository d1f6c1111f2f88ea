"""Point-set metrics: Chamfer variants, EMD, tracking error.

Points are (P, 3) float arrays in world metres (objects normalised to ``object_size_m``; the
caller records the scale factor). d(x, Y) = min_{y in Y} ||x - y||₂ unless stated otherwise.
Nearest neighbours use ``scipy.spatial.cKDTree`` (exact). All results are float64 Python floats.

Subsampling (``n``, ``seed``): ``rng = np.random.default_rng(seed)``; if ``n`` is not None, pred
indices are drawn first, then gt indices, each ``rng.choice(len, n, replace=False)``; a set
with <= n points is kept whole (and draws nothing). Same (n, seed, sizes) -> same subset.
``paired=True`` (the sets correspond: row m of both is the same material point, equal sizes) draws one
index set and applies it to both, so a subsample never separates corresponding points.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "subsample_pair",
    "nearest_distances",
    "chamfer_l2sq_mean",
    "chamfer_reconphys",
    "chamfer_springgaus_x1e6",
    "chamfer_phystwin_l1",
    "emd",
    "tracking_error",
]


def _points(x: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 3:
        raise ValueError(f"{name}: expected (N, 3) points, got shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"{name}: empty point set")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: non-finite coordinates")
    return a


def _draw(x: np.ndarray, n: int | None, rng: np.random.Generator) -> np.ndarray:
    if n is None or len(x) <= n:
        return x
    return x[np.sort(rng.choice(len(x), size=n, replace=False))]


def subsample_pair(
    pred: np.ndarray, gt: np.ndarray, n: int | None = None, seed: int = 0, paired: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded subsample of both sets to at most ``n`` points each (see module docstring)."""
    p, g = _points(pred, "pred"), _points(gt, "gt")
    if n is not None and n < 1:
        raise ValueError(f"n must be >= 1 or None, got {n}")
    if paired and len(p) != len(g):
        raise ValueError(f"paired sets must have the same size, got {len(p)} and {len(g)}")
    rng = np.random.default_rng(seed)
    if paired:
        if n is None or len(p) <= n:
            return p, g
        idx = np.sort(rng.choice(len(p), size=n, replace=False))
        return p[idx], g[idx]
    p = _draw(p, n, rng)
    g = _draw(g, n, rng)
    return p, g


def nearest_distances(a: np.ndarray, b: np.ndarray, norm: int = 2) -> np.ndarray:
    """For each point of ``a``, the distance to its nearest point of ``b`` -> (len(a),).

    ``norm`` is the Minkowski p used both to pick the neighbour and to measure it (2 =
    Euclidean, 1 = Manhattan as in pytorch3d ``chamfer_distance(norm=1)``).
    """
    from scipy.spatial import cKDTree

    a, b = _points(a, "a"), _points(b, "b")
    d, _ = cKDTree(b).query(a, k=1, p=norm)
    return np.asarray(d, dtype=np.float64)


def _two_sided_sq_means(pred: np.ndarray, gt: np.ndarray, n: int | None, seed: int, paired: bool) -> tuple[float, float]:
    p, g = subsample_pair(pred, gt, n, seed, paired)
    return float(np.mean(nearest_distances(p, g) ** 2)), float(np.mean(nearest_distances(g, p) ** 2))


def chamfer_l2sq_mean(pred: np.ndarray, gt: np.ndarray, n: int | None = None, seed: int = 0,
                      paired: bool = False) -> float:
    """Our primary Chamfer distance (m²):

        CD = 1/|P| Σ_{p∈P} min_{g∈G} ||p-g||₂²  +  1/|G| Σ_{g∈G} min_{p∈P} ||g-p||₂²

    Two-sided, squared, each direction averaged over its own points, directions summed
    (the pytorch3d ``chamfer_distance`` default; also the form of the Spring-Gaus CD, which
    states "measured based on squared distance", spring_gaus.txt l.629).
    """
    a, b = _two_sided_sq_means(pred, gt, n, seed, paired)
    return a + b


def chamfer_reconphys(pred: np.ndarray, gt: np.ndarray, n: int | None = None, seed: int = 0,
                      paired: bool = False) -> float:
    """Half-averaged squared Chamfer (m²): ½ (mean_P d²(p, G) + mean_G d²(g, P)) = ½ · CD.

    NOTE: reconphys.txt only names "Chamfer Distance (CD)" (Sec. 4.2, Tab. 1) without a
    formula; the ½-average of squared one-sided means is the convention this benchmark assumes
    for reproducing its tables, not something the paper text states.
    """
    a, b = _two_sided_sq_means(pred, gt, n, seed, paired)
    return 0.5 * (a + b)


def chamfer_springgaus_x1e6(
    pred: np.ndarray, gt: np.ndarray, n: int | None = None, seed: int = 0, scale: float = 1e6, paired: bool = False
) -> float:
    """Spring-Gaus/GIC-style Chamfer: (mean_P d² + mean_G d²) × ``scale`` (default 1e6).

    Both directions' mean squared NN distances summed (spring_gaus.txt l.628-630: "the Chamfer
    Distance is measured based on squared distance, with units expressed as 1×10³ mm²"). With
    inputs in metres, × 1e6 gives mm²; to read numbers in the paper's table unit (10³ mm²)
    pass ``scale=1e3`` (or divide this value by 1e3).
    """
    return scale * chamfer_l2sq_mean(pred, gt, n, seed, paired)


def chamfer_phystwin_l1(
    pred: np.ndarray, gt: np.ndarray, n: int | None = None, seed: int = 0, norm: int = 1, paired: bool = False
) -> float:
    """PhysTwin single-direction Chamfer (m): mean over GT points of the distance to the nearest
    predicted point, not squared:  CD = 1/|G| Σ_{g∈G} min_{p∈P} ||g - p||_norm.

    phystwin.txt l.72: "single-direction Chamfer Distance (partial ground truth with our
    full-state prediction)". The official ``evaluate_chamfer.py`` calls pytorch3d
    ``chamfer_distance(gt, pred, single_directional=True, norm=1)``, i.e. the L1 (Manhattan)
    norm, which is the default here; ``norm=2`` gives the Euclidean variant.
    """
    p, g = subsample_pair(pred, gt, n, seed, paired)
    return float(np.mean(nearest_distances(g, p, norm=norm)))


def emd(pred: np.ndarray, gt: np.ndarray, n: int | None = 256, seed: int = 0, squared: bool = False,
        paired: bool = False) -> float:
    """Earth mover's distance by exact optimal assignment on a seeded subsample (default n = 256, the
    eval default of ``metrics.conventions``).

    ``paired=True`` (corresponding sets of equal size): one index set subsamples both, so the EMD of a
    set with itself is exactly 0. Otherwise both sets are subsampled independently to at most ``n``
    points (module rule); if the sizes still differ, the larger set is subsampled again (same rng) to
    the smaller size m. Then a bijection π is found with ``scipy.optimize.linear_sum_assignment``
    (exact; equal uniform weights make the optimal transport plan a permutation), and

        squared=False:  EMD  = min_π 1/m Σ_i ||p_i - g_π(i)||₂      (metres)
        squared=True :  EMD² = min_π 1/m Σ_i ||p_i - g_π(i)||₂²     (m²; π optimal for this cost)
    """
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    if paired:
        p, g = subsample_pair(pred, gt, n, seed, paired=True)
    else:
        p, g = _points(pred, "pred"), _points(gt, "gt")
        rng = np.random.default_rng(seed)
        p, g = _draw(p, n, rng), _draw(g, n, rng)
        m = min(len(p), len(g))
        p, g = _draw(p, m, rng), _draw(g, m, rng)
    cost = cdist(p, g, "sqeuclidean" if squared else "euclidean")
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def tracking_error(pred_pts: np.ndarray, gt_pts: np.ndarray) -> np.ndarray:
    """Per-frame mean Euclidean distance between corresponding material points -> (T,) metres.

        e_t = 1/|V_t| Σ_{m∈V_t} ||pred[t, m] - gt[t, m]||₂

    V_t = points whose GT row is finite (NaN GT rows are skipped, as in PhysTwin's
    ``evaluate_track.py``); a frame with no valid point gives NaN (PhysTwin wrote 0 there).
    A non-finite prediction for a valid point makes that frame's error inf/NaN (a failure,
    not hidden).
    """
    p = np.asarray(pred_pts, dtype=np.float64)
    g = np.asarray(gt_pts, dtype=np.float64)
    if p.shape != g.shape or p.ndim != 3 or p.shape[2] != 3:
        raise ValueError(f"expected matching (T, M, 3) arrays, got {p.shape} and {g.shape}")
    valid = np.all(np.isfinite(g), axis=2)
    d = np.linalg.norm(p - np.where(valid[..., None], g, 0.0), axis=2)
    out = np.full(p.shape[0], math.nan)
    for t in range(p.shape[0]):
        if valid[t].any():
            out[t] = float(d[t, valid[t]].mean())
    return out
