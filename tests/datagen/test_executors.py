"""The same seed gives identical samples whichever executor ran them (local, process pool, Ray)."""
import pytest

from datagen.profile import load_profile, profile_from_dict
from datagen.generate import generate

pytestmark = pytest.mark.slow


def _profile():
    d = load_profile("tiny").model_dump(mode="json")
    d["n_samples"] = 3
    d["render"]["preview"] = False
    return profile_from_dict(d)


def _gt_hashes(recs):
    return {r["sample_id"]: {k: v for k, v in r["files"].items() if k.startswith(("gt/", "rgb/", "sample.json"))}
            for r in recs}


def test_process_pool_and_ray_match_local(tmp_path):
    ray = pytest.importorskip("ray")
    prof = _profile()
    local = _gt_hashes(generate(tmp_path / "local", prof))
    pool = _gt_hashes(generate(tmp_path / "pool", prof, workers=2))
    assert pool == local
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        on_ray = _gt_hashes(generate(tmp_path / "ray", prof, workers=2, executor="ray"))
    finally:
        ray.shutdown()
    assert on_ray == local
    assert (tmp_path / "ray" / "manifest.jsonl").read_bytes() == (tmp_path / "local" / "manifest.jsonl").read_bytes()
