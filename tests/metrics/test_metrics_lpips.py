"""LPIPS: in-repo AlexNet definition against a functional reference, [-1,1] scaling, unavailable path."""
from __future__ import annotations

import hashlib
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from metrics import lpips as L  # noqa: E402
from metrics.lpips_weights import CHANNELS, SOURCE_SHA256, linear_heads  # noqa: E402

_CONVS = {0: (3, 64, 11), 3: (64, 192, 5), 6: (192, 384, 3), 8: (384, 256, 3), 10: (256, 256, 3)}


def _random_backbone(seed: int = 0) -> dict[str, "torch.Tensor"]:
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for i, (cin, cout, k) in _CONVS.items():
        sd[f"features.{i}.weight"] = torch.randn(cout, cin, k, k, generator=g) * (2.0 / (cin * k * k)) ** 0.5
        sd[f"features.{i}.bias"] = torch.randn(cout, generator=g) * 0.05
    sd["classifier.1.weight"] = torch.zeros(4, 9216)  # torchvision keys outside features are ignored
    return sd


@pytest.fixture()
def backbone(tmp_path, monkeypatch):
    sd = _random_backbone()
    path = tmp_path / "hub" / "checkpoints" / L.BACKBONE_FILE
    path.parent.mkdir(parents=True)
    torch.save(sd, path)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return sd


def _reference(sd, a, b):
    """LPIPS written out with functional ops (inputs already in [-1, 1])."""
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)

    def taps(x):
        x = (x - shift) / scale
        w = lambda i: (sd[f"features.{i}.weight"], sd[f"features.{i}.bias"])  # noqa: E731
        r1 = F.relu(F.conv2d(x, *w(0), stride=4, padding=2))
        r2 = F.relu(F.conv2d(F.max_pool2d(r1, 3, 2), *w(3), padding=2))
        r3 = F.relu(F.conv2d(F.max_pool2d(r2, 3, 2), *w(6), padding=1))
        r4 = F.relu(F.conv2d(r3, *w(8), padding=1))
        r5 = F.relu(F.conv2d(r4, *w(10), padding=1))
        return [r1, r2, r3, r4, r5]

    total = 0.0
    for fa, fb, head in zip(taps(a), taps(b), linear_heads()):
        na = fa / (fa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        nb = fb / (fb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        total = total + ((na - nb) ** 2 * torch.from_numpy(head)).sum(1).mean(dim=(1, 2))
    return total.double().numpy()


def _images(n=3, h=64, w=72, seed=1):
    rng = np.random.default_rng(seed)
    base = rng.random((n, h, w, 3)).astype(np.float32)
    return base, np.clip(base + 0.1 * rng.standard_normal(base.shape), 0, 1).astype(np.float32)


def test_identical_images_give_zero(backbone):
    x, _ = _images()
    assert np.all(L.lpips_batch(x, x) == 0.0)
    assert L.lpips(x[0], x[0]) == 0.0


def test_matches_functional_reference_with_minus1_1_scaling(backbone):
    x, y = _images()
    ours = L.lpips_batch(x, y)
    ref = _reference(backbone, torch.from_numpy(2 * x - 1).permute(0, 3, 1, 2), torch.from_numpy(2 * y - 1).permute(0, 3, 1, 2))
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-7)
    assert np.all(ours > 0)
    # feeding [0,1] straight into the network (the public-code mistake) gives different numbers
    wrong = _reference(backbone, torch.from_numpy(x).permute(0, 3, 1, 2), torch.from_numpy(y).permute(0, 3, 1, 2))
    assert np.all(np.abs(wrong - ours) > 1e-3 * np.abs(ours))
    # the network module itself, applied to 2x-1, is what lpips() reports for x
    net = L.build_network(backbone)
    with torch.no_grad():
        direct = net(torch.from_numpy(2 * x - 1).permute(0, 3, 1, 2), torch.from_numpy(2 * y - 1).permute(0, 3, 1, 2))
    np.testing.assert_allclose(ours, direct.double().numpy(), rtol=1e-6)


def test_normalize_tensor_and_spatial_average_hand_values():
    x = torch.tensor([3.0, 4.0]).view(1, 2, 1, 1)
    np.testing.assert_allclose(L.normalize_tensor(x).flatten().numpy(), [0.6, 0.8], rtol=1e-6)
    assert float(L.normalize_tensor(torch.zeros(1, 2, 1, 1)).abs().sum()) == 0.0  # eps: no NaN
    y = torch.arange(6.0).view(1, 1, 2, 3)
    assert L.spatial_average(y).shape == (1, 1, 1, 1) and float(L.spatial_average(y)) == pytest.approx(2.5)


def test_unavailable_path_gives_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    info = L.availability()
    assert info["status"] == "unavailable"
    msg = info["reason"]
    assert "\n" not in msg and L.BACKBONE_FILE in msg and L.BACKBONE_URL in msg and "TORCH_HOME" in msg
    assert str(tmp_path / "empty" / "hub" / "checkpoints") in msg
    x, y = _images(1)
    with pytest.raises(L.LpipsUnavailable, match="LPIPS unavailable"):
        L.lpips_batch(x, y)


def test_availability_records_backbone_hash(backbone, tmp_path):
    info = L.availability()
    path = Path(info["backbone"])
    assert info["status"] == "ok" and info["backbone_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info["official_backbone"] is False  # random test weights are not torchvision's file


def test_hub_dir_rule(monkeypatch, tmp_path):
    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert L.backbone_path() == tmp_path / "torch" / "hub" / "checkpoints" / L.BACKBONE_FILE
    assert Path(torch.hub.get_dir()) / "checkpoints" / L.BACKBONE_FILE == L.backbone_path()


def test_linear_heads_equal_the_lpips_package_file():
    heads = linear_heads()
    assert [h.shape for h in heads] == [(1, c, 1, 1) for c in CHANNELS]
    try:
        dist = importlib.metadata.distribution("lpips")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("lpips package not installed: the converted copy is checked by its sha256 only")
    path = Path(dist.locate_file("lpips/weights/v0.1/alex.pth"))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SOURCE_SHA256
    sd = torch.load(path, map_location="cpu", weights_only=True)  # never `import lpips` (imports torchvision)
    for i, h in enumerate(heads):
        np.testing.assert_array_equal(sd[f"lin{i}.model.1.weight"].numpy(), h)


def test_import_lpips_module_is_torch_free():
    code = "import sys, metrics.lpips, metrics.evaluate; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
