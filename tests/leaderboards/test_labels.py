"""Board labels: the budget class (a YAML's or the validated default the run recorded) and the GT-derived mark."""
from __future__ import annotations

from leaderboards.aggregate import GT_DERIVED_MARK, method_label


def test_budget_and_gt_derived_marks():
    method = {"label": "PhysTwin", "kind": "method", "inputs": {"tracks": True}}
    assert method_label(method, {"name": "phystwin"}, "bench") == f"PhysTwin [bench] {GT_DERIVED_MARK}"
    assert method_label(method, {"budget": "paper"}, "bench") == f"PhysTwin [paper] {GT_DERIVED_MARK}"  # the YAML wins
    assert method_label(method, {}, None) == f"PhysTwin {GT_DERIVED_MARK}"  # old runs record no budget
    video_only = {"label": "Vid2Sim", "kind": "method", "inputs": {"canonical": False, "tracks": False}}
    assert method_label(video_only, None, "bench") == "Vid2Sim [bench]"
    assert method_label({"label": "Static", "kind": "baseline", "inputs": {"tracks": True}}, None, "bench") \
        == f"Static {GT_DERIVED_MARK}"  # baselines have no budget class
