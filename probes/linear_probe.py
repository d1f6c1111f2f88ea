"""Benchmark: does a GT parameter have a simple signature in the observed motion across objects?

A ridge regression, fitted on the training split and scored on the test split (unseen objects), from
two feature sets of the observed frames of each sample:

* ``silhouette``: per observed frame of the monocular view, the alpha area, bounding-box height and
  width (each relative to frame 0) and the centroid's vertical shift (in frame-0 box heights);
* ``GT 3D``: per observed frame, the x/y/z extents of the GT particles (relative to frame 0) and the
  lowest particle height — what a perfect 3D tracker would see;
* ``GT deform``: the log of the largest and of the mean non-rigid residual of the GT particles over the
  observed frames (RMS distance after the best rigid alignment to frame 0, relative to the object's
  radius) — the deformation itself, with motion and rotation removed.

If neither beats predicting the training mean, a feed-forward predictor trained on this many videos
has no easy cue to learn from; a per-scene method can still recover the parameter by simulating the
object's own shape.

    python probes/linear_probe.py DATA [--param log10_youngs_modulus] [--lambdas 0.1 1 10 100]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from core.dataset import SampleDir, select_samples
from physics.rigid_fit import nonrigid_residuals


def silhouette_features(sample: SampleDir, view: str) -> np.ndarray:
    """Per observed frame: alpha area, box height / width (relative to frame 0) and centroid row shift."""
    rows = []
    for t in range(sample.n_observed):
        alpha = sample.frame(view, t)[1]
        ys, xs = np.nonzero(alpha > 0.5)
        if ys.size == 0:
            rows.append([0.0, 1.0, 1.0, np.nan])
            continue
        rows.append([alpha.sum(), ys.max() - ys.min() + 1, xs.max() - xs.min() + 1, ys.mean()])
    f = np.asarray(rows, np.float64)
    f[:, 3] = np.nan_to_num(f[:, 3], nan=f[0, 3])
    return np.concatenate([f[:, 0] / f[0, 0], f[:, 1] / f[0, 1], f[:, 2] / f[0, 2], (f[:, 3] - f[0, 3]) / f[0, 1]])


def gt_extent_features(sample: SampleDir) -> np.ndarray:
    """Per observed frame: GT particle extents (relative to frame 0) and the lowest particle height."""
    p = sample.particles()[:sample.n_observed].astype(np.float64)
    ext = p.max(1) - p.min(1)
    return np.concatenate([(ext / ext[0]).ravel(), p[:, :, 2].min(1)])


def gt_deformation_features(sample: SampleDir) -> np.ndarray:
    """log of the largest and of the mean non-rigid residual over the observed frames (GT particles)."""
    r = nonrigid_residuals(sample.particles()[:sample.n_observed].astype(np.float64))[1:]
    return np.log(np.array([r.max(), r.mean()]) + 1e-9)


def ridge_predict(x: np.ndarray, y: np.ndarray, train: np.ndarray, lam: float) -> np.ndarray:
    """Ridge on standardised features (unpenalised intercept), fitted on the ``train`` rows."""
    mu, sd = x[train].mean(0), x[train].std(0) + 1e-9
    z = np.c_[(x - mu) / sd, np.ones(len(x))]
    a = z[train].T @ z[train] + lam * np.eye(z.shape[1])
    a[-1, -1] -= lam
    return z @ np.linalg.solve(a, z[train].T @ y[train])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--param", default="log10_youngs_modulus", help="a key of sample.json physics.params")
    ap.add_argument("--lambdas", type=float, nargs="+", default=[0.1, 1.0, 10.0, 100.0])
    a = ap.parse_args()

    feats: dict[str, list] = {"silhouette": [], "GT 3D": [], "GT deform": []}
    y, split = [], []
    for r in select_samples(a.data, "train") + select_samples(a.data, "test"):
        sample = SampleDir(a.data / r["sample_id"])
        params = sample.meta["physics"]["params"]
        if a.param not in params:
            continue
        feats["silhouette"].append(silhouette_features(sample, sample.meta["render"]["monocular_view"]))
        feats["GT 3D"].append(gt_extent_features(sample))
        feats["GT deform"].append(gt_deformation_features(sample))
        y.append(float(params[a.param]))
        split.append(r["split"])
    y_arr, s = np.asarray(y), np.asarray(split)
    train, test = s == "train", s == "test"
    if train.sum() < 2 or test.sum() < 1:
        raise SystemExit(f"{a.data}: needs train and test samples with physics.params.{a.param}")
    base = np.abs(y_arr[test] - y_arr[train].mean()).mean()
    print(f"{a.data}: {a.param}, {train.sum()} train / {test.sum()} test samples")
    print(f"  training mean: test MAE {base:.3f}")
    for name, rows_f in feats.items():
        x = np.asarray(rows_f)
        for lam in a.lambdas:
            p = ridge_predict(x, y_arr, train, lam)
            print(f"  ridge on {name:10s} lambda {lam:6g}: train MAE {np.abs(p[train] - y_arr[train]).mean():.3f}, "
                  f"test MAE {np.abs(p[test] - y_arr[test]).mean():.3f}")


if __name__ == "__main__":
    main()
