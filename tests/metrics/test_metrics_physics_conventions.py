"""Physical-parameter metrics and the conventions registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metrics.conventions import METRICS, get
from metrics.physics_params import material_accuracy, param_errors


def test_param_errors_keys_and_log10():
    pred = {"stiffness": 1e3, "mass": 2.0, "damping": 0.5, "E": 5e5}
    gt = {"stiffness": 1e4, "mass": 1.5, "friction": 0.3, "E": 5e5}
    out = param_errors(pred, gt)
    assert set(out) == {"stiffness", "mass", "E"}  # damping / friction: n/a -> absent
    assert out["stiffness"]["abs"] == pytest.approx(9e3)
    assert out["stiffness"]["log10_abs"] == pytest.approx(1.0)
    assert out["mass"] == {"abs": pytest.approx(0.5)}  # not a log parameter
    assert out["E"] == {"abs": 0.0, "log10_abs": 0.0}
    assert param_errors({}, gt) == {}


def test_param_errors_log_undefined_and_custom_list():
    out = param_errors({"k": -1.0, "youngs_modulus": 0.0}, {"k": 10.0, "youngs_modulus": 1e6})
    assert out["k"] == {"abs": 11.0} and out["youngs_modulus"] == {"abs": 1e6}
    out = param_errors({"mass": 10.0}, {"mass": 1.0}, log_params=("mass",))
    assert out["mass"]["log10_abs"] == pytest.approx(1.0)
    assert math.isnan(param_errors({"k": float("nan")}, {"k": 1.0})["k"]["abs"])


def test_material_accuracy_hand_case():
    gt = np.full(5, 10.0)
    pred = np.array([11.0, 12.0, 13.0, 5.0, np.nan])  # rel 0.1, 0.2 (boundary), 0.3, 0.5, nan
    assert material_accuracy(pred, gt) == pytest.approx(0.4)  # eq. 6 uses <=
    assert material_accuracy(pred, gt, inclusive=False) == pytest.approx(0.2)
    assert material_accuracy(pred, gt, delta=0.5) == pytest.approx(0.8)
    with pytest.raises(ValueError):
        material_accuracy(pred, np.zeros(5))
    with pytest.raises(ValueError):
        material_accuracy(pred[:3], gt)


REQUIRED = [
    "psnr", "psnr_channel_mean", "ssim", "ssim_skimage7", "iou", "chamfer", "chamfer_reconphys",
    "chamfer_springgaus_x1e6", "chamfer_phystwin_l1", "emd", "emd_sq", "tracking_error",
    "param_abs", "param_log10_abs", "material_accuracy",
]


def test_registry_complete_and_resolvable():
    for name in REQUIRED:
        spec = METRICS[name]
        assert spec.name == name and spec.label and len(spec.convention) > 30
        assert spec.category in ("image", "geometry", "physics", "cost")
        assert callable(spec.resolve())
    for spec in METRICS.values():
        if spec.function is None:
            assert spec.category == "cost"
            with pytest.raises(LookupError):
                spec.resolve()
    assert not METRICS["chamfer"].higher_is_better and METRICS["ssim"].higher_is_better
    with pytest.raises(KeyError):
        get("nope")


def test_registry_binds_convention_kwargs():
    rng = np.random.default_rng(0)
    x = rng.random((10, 3))
    t = np.array([0.0, 0.0, 0.5])
    assert get("emd").resolve()(x, x + t) == pytest.approx(0.5)
    assert get("emd_sq").resolve()(x, x + t) == pytest.approx(0.25)
    img = rng.random((16, 16, 3))
    assert get("ssim").resolve()(img, img) == pytest.approx(1.0)
