"""Registry of named metric conventions (what the leaderboard footnotes say).

Pure Python: importing this module imports no numeric library. ``MetricSpec.resolve()``
imports the implementing function lazily.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Literal

__all__ = ["MetricSpec", "METRICS", "get"]

Category = Literal["image", "geometry", "physics", "cost"]


@dataclass(frozen=True)
class MetricSpec:
    name: str
    label: str
    unit: str
    higher_is_better: bool
    convention: str  # leaderboard footnote: exact formula, window, squared or not, sides, subsample
    category: Category
    function: str | None = None  # "module:attr" implementing it (None: measured by the runner)
    kwargs: tuple[tuple[str, Any], ...] = ()  # fixed keyword arguments of this convention

    def resolve(self) -> Callable[..., Any]:
        """The implementing function, with this convention's fixed kwargs bound."""
        if self.function is None:
            raise LookupError(f"metric {self.name!r} is measured by the runner, not computed here")
        mod, attr = self.function.split(":")
        fn = getattr(importlib.import_module(mod), attr)
        if not self.kwargs:
            return fn
        import functools

        return functools.partial(fn, **dict(self.kwargs))


_SUB = "Points subsampled with a seeded RNG when n is set (n, seed recorded with the score)."

_SPECS = [
    MetricSpec(
        "psnr", "PSNR", "dB", True,
        "10·log10(1/MSE), MSE over all pixels and RGB channels of the full frame (values in [0,1]); "
        "identical frames give +inf. Averaged over frames and views by the caller.",
        "image", "metrics.image:psnr"),
    MetricSpec(
        "psnr_channel_mean", "PSNR (ch-mean)", "dB", True,
        "Mean over R,G,B of per-channel 10·log10(1/MSE_c); >= whole-image PSNR. Some baselines "
        "report this variant.",
        "image", "metrics.image:psnr_channel_mean"),
    MetricSpec(
        "ssim", "SSIM", "", True,
        "3DGS / Wang et al. SSIM: 11×11 Gaussian window σ=1.5, zero-padded 'same' convolution "
        "(padding 5), population variance, C1=0.01², C2=0.03², mean of the full per-channel map.",
        "image", "metrics.image:ssim_gaussian11"),
    MetricSpec(
        "ssim_skimage7", "SSIM (skimage)", "", True,
        "scikit-image structural_similarity defaults: 7×7 uniform window, sample covariance "
        "(×49/48), C1=0.01², C2=0.03², 3-px border cropped, mean over channels.",
        "image", "metrics.image:ssim_skimage7"),
    MetricSpec(
        "lpips", "LPIPS", "", False,
        "LPIPS v0.1, AlexNet trunk (Zhang et al. 2018): frames in [0,1] scaled to [-1,1] before the "
        "network (some public code forgets this), per-layer unit-normalised features, lpips-package "
        "linear heads, spatial mean, sum of 5 layers. Needs torchvision's alexnet-owt-7be5be79.pth in "
        "the torch hub cache; reported as unavailable (never a number) without it.",
        "image", "metrics.lpips:lpips"),
    MetricSpec(
        "iou", "IoU", "", True,
        "Silhouette IoU |A∩B|/|A∪B| of alpha ≥ 0.5 masks (PhysTwin); both empty = 1.",
        "image", "metrics.image:silhouette_iou"),
    MetricSpec(
        "chamfer", "CD", "m²", False,
        "Two-sided squared Chamfer: mean_P min_G‖p−g‖² + mean_G min_P‖g−p‖² (sum of the two "
        "directional means), in metres² of objects normalised to object_size_m. " + _SUB,
        "geometry", "metrics.geometry:chamfer_l2sq_mean"),
    MetricSpec(
        "chamfer_reconphys", "CD (ReconPhys)", "m²", False,
        "½(mean_P min_G‖p−g‖² + mean_G min_P‖g−p‖²) — half our CD; assumed ReconPhys convention "
        "(the paper gives no formula). " + _SUB,
        "geometry", "metrics.geometry:chamfer_reconphys"),
    MetricSpec(
        "chamfer_springgaus_x1e6", "CD ×10⁶ (Spring-Gaus)", "mm²", False,
        "(mean_P min_G‖p−g‖² + mean_G min_P‖g−p‖²)×10⁶, i.e. our CD in mm²; Spring-Gaus tables "
        "use squared distance in units of 10³ mm² (divide by 10³ to compare). " + _SUB,
        "geometry", "metrics.geometry:chamfer_springgaus_x1e6"),
    MetricSpec(
        "chamfer_phystwin_l1", "CD (PhysTwin)", "m", False,
        "One-sided GT→prediction: mean_G min_P‖g−p‖₁, not squared, L1 (Manhattan) norm as in "
        "PhysTwin's evaluate_chamfer.py (pytorch3d norm=1). " + _SUB,
        "geometry", "metrics.geometry:chamfer_phystwin_l1"),
    MetricSpec(
        "emd", "EMD", "m", False,
        "Exact optimal assignment (scipy linear_sum_assignment) between seeded subsamples of "
        "n points per set (min size if they differ; n and seed in eval_config, default n=256, seed 0); "
        "mean matched Euclidean distance.",
        "geometry", "metrics.geometry:emd", (("squared", False),)),
    MetricSpec(
        "emd_sq", "EMD²", "m²", False,
        "As EMD but the assignment minimises and reports the mean squared Euclidean distance "
        "(same seeded subsample of n points per set).",
        "geometry", "metrics.geometry:emd", (("squared", True),)),
    MetricSpec(
        "tracking_error", "Track err.", "m", False,
        "Per frame: mean Euclidean distance between predicted and GT positions of the same "
        "material points (gt/points.npy; NaN GT rows skipped, PhysTwin); then averaged over frames.",
        "geometry", "metrics.geometry:tracking_error"),
    MetricSpec(
        "param_abs", "Param. abs. err.", "param. unit", False,
        "|p̂ − p| per physical parameter (mean over samples = MAE, ReconPhys Tab. 3); parameters "
        "a method does not estimate are n/a.",
        "physics", "metrics.physics_params:param_errors"),
    MetricSpec(
        "param_log10_abs", "Param. log10 err.", "decades", False,
        "|log10 p̂ − log10 p| for stiffness / Young's modulus (positive values only); mean over "
        "samples; n/a where not estimated.",
        "physics", "metrics.physics_params:param_errors"),
    MetricSpec(
        "material_accuracy", "MA", "fraction", True,
        "PhysInteract eq. 6: fraction of particles with |Ê−E|/E ≤ 0.2 (the paper prints ×100 %); per GT "
        "particle when the method writes an E field (pred/fields.npz, nearest predicted particle at frame 0).",
        "physics", "metrics.physics_params:material_accuracy"),
    MetricSpec(
        "runtime_s", "Time", "s", False,
        "Wall-clock seconds of the method's fit + predict for one sample on the recorded machine.",
        "cost"),
    MetricSpec(
        "peak_mem_mb", "Peak mem.", "MiB", False,
        "Peak resident memory (CPU) or peak allocated device memory during the run, in MiB.",
        "cost"),
]

METRICS: dict[str, MetricSpec] = {s.name: s for s in _SPECS}


def get(name: str) -> MetricSpec:
    """Look up a metric spec by name (KeyError lists the known names)."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(METRICS)}") from None
