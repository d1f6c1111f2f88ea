"""Metrics: pure functions on arrays plus a registry of named conventions.

Submodules: ``image`` (PSNR, SSIM, IoU), ``geometry`` (Chamfer variants, EMD, tracking error),
``physics_params`` (parameter errors, material accuracy), ``conventions`` (``METRICS``).
Importing this package imports only the registry (no numpy/torch); submodules import numpy and
scipy, never torch.
"""

from metrics.conventions import METRICS, MetricSpec

__all__ = ["METRICS", "MetricSpec"]
