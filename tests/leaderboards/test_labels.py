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



def test_inputs_name_the_matting_on_blender_gt(runs, tmp_path):
    """A method reading RGB + masks of Blender GT sees matted frames (core.frames.MATTING); the board says so in its
    inputs, spells the rule on its method page and once in the dataset note, and only for Blender-rendered GT."""
    import json

    from core.frames import MATTING
    from leaderboards.aggregate import inputs_text, matted
    from leaderboards.site import build_site

    spec = {"inputs_text": "multi-view RGB, masks", "inputs": {"rgb": True, "masks": True}}
    assert inputs_text(spec, ["splat"]) == "multi-view RGB, masks" and not matted(spec, ["splat"])
    assert matted(spec, ["splat", "blender"]) and "matted" in inputs_text(spec, ["blender"])
    assert not matted({**spec, "inputs": {"rgb": True, "masks": False}}, ["blender"])
    site = build_site(runs, tmp_path / "splat-site").parent
    assert "matted" not in (site / "method-alpha.html").read_text() and "matted" not in (site / "index.html").read_text()
    ds = tmp_path / "no-dataset"  # every fixture run names this dataset dir
    ds.mkdir()
    (ds / "dataset.json").write_text(json.dumps({"profile": "v1", "config": {"render": {"renderer": "blender"}}}))
    site = build_site(runs, tmp_path / "blender-site").parent
    method, index = (site / "method-alpha.html").read_text(), (site / "index.html").read_text()
    assert "observed frames</th>" in method and "rgb + (1 - alpha) * (background - plate)" in method
    assert index.count("Blender GT frames matted onto the flat background colour") >= 3  # alpha, beta, x
    assert index.count("(background - plate)") == 1 and MATTING.split(":")[0] in index  # the rule, once
