"""The same seed gives the same GT bytes whatever thread share a worker gets: reduced LBS GT (torch reductions
split by thread count, so the GT runs at core.processes.GT_TORCH_THREADS)."""
from __future__ import annotations


def test_tiny_reduced_gt_is_byte_identical_across_thread_shares(tmp_path, monkeypatch):
    import torch

    from datagen.generate import generate
    from datagen.profile import load_profile

    before = torch.get_num_threads()
    prof = load_profile("tiny_reduced")
    # v1's reduced sizes: big enough that torch splits the skinning and solver reductions over threads
    red = prof.physics.reduced.model_copy(update={"n_volume_samples": 800, "n_cubature": 100, "n_handles": 6,
                                                  "skinning_steps": 120})
    prof = prof.model_copy(update={"n_samples": 1, "physics": prof.physics.model_copy(update={"reduced": red})})
    files = []
    try:
        for threads in (1, 2):
            recs = generate(tmp_path / f"t{threads}", prof, threads=threads)
            assert recs[0]["status"] == "ok", recs[0].get("reason")
            files.append({k: v for k, v in recs[0]["files"].items() if k.startswith("gt/")})
    finally:
        torch.set_num_threads(before)
    assert "gt/reduced.npz" in files[0] and files[0] == files[1]
