"""Static site: pages, exports of every table, escaping of untrusted strings, SVG plots."""
from __future__ import annotations

import json

import pytest

from leaderboards.plots import line_plot, scatter_plot
from leaderboards.site import build_site
from leaderboards.tables import tex_escape


def test_site_pages_and_exports(runs, tmp_path):
    site = tmp_path / "site"
    index = build_site(runs, site)
    names = {p.name for p in site.iterdir()}
    assert {"index.html", "track-freefall.html", "track-transfer.html", "methods.html", "method-alpha.html",
            "method-beta.html", "sample-s0.html", "sample-s1.html", "sample-s2.html", "leaderboard.csv",
            "leaderboard.json", "samples.csv"} <= names
    tables = {p.name for p in (site / "tables").iterdir()}
    for slug in ("freefall-main", "freefall-views", "freefall-by-category", "freefall-by-physics-model",
                 "freefall-physics", "freefall-cost", "transfer-main", "method-alpha"):
        assert {f"{slug}.{ext}" for ext in ("csv", "json", "md", "tex")} <= tables, slug
    html = index.read_text()
    assert "11×11 Gaussian" in html and "Runtime vs accuracy" in html and "<svg" in html
    assert "LPIPS unavailable: test" in html  # unavailable metric explained, not a number
    track = (site / "track-freefall.html").read_text()
    assert "timeout: exceeded the 10 s limit" in track  # failures listed
    assert 'href="tables/freefall-main.tex"' in track
    method = (site / "method-alpha.html").read_text()
    assert "Alpha paper" in method and "&#34;iters&#34;: 3" in method and "ab" * 32 in method
    sample = (site / "sample-s0.html").read_text()
    assert sample.count("<svg") >= 2 and "first future frame: 2" in sample
    assert "no animation: GT frames not found" in sample
    rows = json.loads((site / "tables" / "freefall-main.json").read_text())["rows"]
    assert [r["method"] for r in rows] == ["alpha", "beta", "<script>alert(1)</script>"]
    assert rows[0]["psnr/future"] == 21.0 and rows[0]["psnr/future:lo"] == 20.0 and rows[0]["psnr/future:hi"] == 22.0
    more = json.loads((site / "tables" / "freefall-more.json").read_text())["rows"]
    assert more[0]["lpips/future"] is None and more[0]["psnr/observed"] == "inf"
    assert (site / "tables" / "freefall-paired-psnr.csv").exists() and "Paired differences" in track


def test_untrusted_strings_render_as_text(runs, tmp_path):
    site = tmp_path / "site"
    build_site(runs, site)
    for page in site.glob("*.html"):
        text = page.read_text()
        assert "<script>alert" not in text, page.name
        assert text.count("<script>") <= 1, page.name  # only the table-sorting script
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in (site / "index.html").read_text()
    md = (site / "tables" / "freefall-main.md").read_text()
    assert "&lt;script&gt;" in md and "<script>" not in md
    tex = (site / "tables" / "freefall-main.tex").read_text()
    assert r"\textless{}script\textgreater{}" in tex and r"\& co" in tex


def test_tex_escape_and_plots_escape():
    assert tex_escape("a_b & 50% $x$ #1 {y} ~ ^") == r"a\_b \& 50\% \$x\$ \#1 \{y\} \textasciitilde{} \textasciicircum{}"
    svg = line_plot({"<b>m</b>": [1.0, float("inf"), 2.0]}, "t<i>", "y", split=1)
    assert "<b>" not in svg and "&lt;b&gt;m&lt;/b&gt;" in svg and svg.count("<polyline") == 2  # inf leaves a gap
    sc = scatter_plot([("a<", 1.0, 2.0), ("b", float("nan"), 1.0)], "T", "x", "y")
    assert "a&lt;" in sc and "not shown (missing value): b" in sc


def test_dataset_notes_name_the_spring_mass_discretization(tmp_path):
    from leaderboards.site import dataset_notes

    for name, how in (("hashed", "object_hash"), ("seeded", "fps")):
        d = tmp_path / name
        d.mkdir()
        sm = {"anchor_sampling": how, "anchor_fill": "volume", "anchor_fill_res": 12}
        rd = {"renderer": "blender", "blender_engine": "cycles", "samples": 8, "denoise": True, "look": "photoreal",
              "width": 128, "height": 128} if name == "hashed" else {"renderer": "splat", "width": 64, "height": 64}
        (d / "dataset.json").write_text(json.dumps({"profile": name, "config": {"physics": {"model": "spring_mass",
                                                                                          "spring_mass": sm},
                                                                              "render": rd}}))
    lines = dataset_notes([str(tmp_path / "hashed"), str(tmp_path / "seeded"), str(tmp_path / "missing")])
    assert len(lines) == 2
    assert "object_hash" in lines[0] and "§4.1" in lines[0] and "volume fill, res 12" in lines[0]
    assert "sample seed" in lines[1] and "identifiable only up to" in lines[1]
    # which renderer made the GT frames of each dataset
    assert "rendered by Blender cycles (8 spp, OIDN, look photoreal) at 128x128" in lines[0]
    assert "rendered by the splat renderer" in lines[1] and "at 64x64" in lines[1]


def test_protocols_never_share_a_table_and_untraceable_runs_are_refused(run_kit, tmp_path):
    from core.errors import UserError
    from leaderboards.site import build_site

    k = run_kit
    smp = [k.sample("s1", "o1", "c", summary=k.summary(20.0, 18.0, 17.0, 0.01)),
           k.sample("s2", "o2", "c", summary=k.summary(21.0, 19.0, 18.0, 0.02))]
    a = k.write_run(tmp_path / "pa", k.spec("alpha", "Alpha"), smp, protocol_id="11" * 32)
    b = k.write_run(tmp_path / "pb", k.spec("beta", "Beta"), smp, protocol_id="22" * 32)
    build_site([a, b], tmp_path / "site")
    pages = sorted(p.name for p in (tmp_path / "site").glob("track-*.html"))
    assert len(pages) == 2 and all("protocol" in p for p in pages)  # one table per protocol, never mixed
    for p in pages:
        text = (tmp_path / "site" / p).read_text()
        assert ('href="method-alpha.html">Alpha' in text) != ('href="method-beta.html">Beta' in text)
    old = k.write_run(tmp_path / "old", k.spec("gamma", "Gamma"), smp, protocol_id=None)
    with pytest.raises(UserError, match="protocol id"):
        build_site([old], tmp_path / "site2")
    build_site([old], tmp_path / "site3", allow_unverified=True)
    assert "UNVERIFIED" in (tmp_path / "site3" / "index.html").read_text()
