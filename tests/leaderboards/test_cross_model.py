"""Cross-model matrix (leaderboards/matrix.py): method × GT simulator cells on the board.

Fast: hand-written runs over two GT models (a method missing on one model, a failure, an n/a sample),
and no matrix page when every sample comes from one GT model. Slow: `tiny`, `tiny_reduced` and
`tiny_mpm` generated, static + oracle run, scored and boarded; every cell of the page equals the mean
of the runs' metrics.json values.
"""
from __future__ import annotations

import json
import math
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from leaderboards.site import build_site


class _MatrixRows(HTMLParser):
    """{table slug: {method label: {gt model: [cell texts]}}} of a cross-model page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, dict[str, list[str]]]] = {}
        self._table = self._label = self._model = None
        self._in_body = False
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("class") == "matrix":
            self._table = self.tables.setdefault(a["data-table"], {})
        elif tag == "tbody" and self._table is not None:
            self._in_body = True
        elif tag == "td" and self._in_body:
            self._model, self._text = a.get("data-model"), []

    def handle_data(self, data):
        self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._in_body:
            text = "".join(self._text).strip()
            if self._model is None:
                self._label = text
                self._table[text] = {}
            else:
                self._table[self._label].setdefault(self._model, []).append(text)
        elif tag == "tbody":
            self._in_body, self._table = False, None


def parse_matrix(html: str) -> dict[str, dict[str, dict[str, list[str]]]]:
    p = _MatrixRows()
    p.feed(html)
    return p.tables


def test_matrix_cells_counts_and_missing(run_kit, tmp_path):
    k = run_kit

    def on(model: str, sid: str, status: str = "ok", fut: float = 0.0, chamfer: float = 0.0) -> dict:
        s = k.sample(sid, f"obj-{sid}", "cube", status="failed" if status != "ok" else "ok",
                     summary=k.summary(30.0, fut, 18.0, chamfer), params=k.na_params)
        return {**s, "physics_model": model, "status": status}

    a = k.write_run(tmp_path / "a", k.spec("alpha", "Alpha"), [
        on("spring_mass", "s0", fut=20.0, chamfer=0.002), on("spring_mass", "s1", fut=24.0, chamfer=0.004),
        on("mpm", "m0", "failed"), on("mpm", "m1", "not_applicable"), on("reduced", "r0", "failed")])
    b = k.write_run(tmp_path / "b", k.spec("beta", "Beta", "baseline"), [on("spring_mass", "s0", fut=15.0, chamfer=0.01)])
    site = tmp_path / "site"
    build_site([a, b], site)
    cells = parse_matrix((site / "cross-model.html").read_text())["cross-model-freefall"]
    # columns in the canonical GT order; failures counted (no ok sample: missing "—"); with a not-applicable
    # sample and none ok the metrics are "n/a" (aggregate's rule); a method not run on a model: "—" throughout
    assert cells["Alpha"] == {"spring_mass": ["22.00 [20.00, 24.00]", "0.003000 [0.002000, 0.004000]", "2/0/0"],
                              "reduced": ["—", "—", "0/1/0"], "mpm": ["n/a", "n/a", "0/1/1"]}
    assert cells["Beta"] == {"spring_mass": ["15.00 [15.00, 15.00]", "0.010000 [0.010000, 0.010000]", "1/0/0"],
                             "reduced": ["—", "—", "—"], "mpm": ["—", "—", "—"]}
    rows = json.loads((site / "tables" / "cross-model-freefall.json").read_text())["rows"]
    assert [(r["physics_model"], r["method"]) for r in rows] == [("spring_mass", "alpha"), ("spring_mass", "beta"),
                                                                 ("reduced", "alpha"), ("mpm", "alpha")]
    assert rows[0]["psnr/future"] == 22.0 and rows[0]["psnr/future:n"] == 2 and rows[2]["psnr/future"] is None
    md = (site / "tables" / "cross-model-freefall.md").read_text()
    assert "| Alpha | 22.00 [20.00, 24.00] | 0.003000 [0.002000, 0.004000] | 2/0/0 | — | — | 0/1/0 | n/a | n/a | 0/1/1 |" in md
    assert 'href="cross-model.html"' in (site / "index.html").read_text()


def test_no_matrix_page_for_a_single_gt_model(runs, tmp_path):
    site = tmp_path / "site"
    build_site(runs, site)
    assert not (site / "cross-model.html").exists()
    assert "cross-model" not in (site / "index.html").read_text()
    assert not list((site / "tables").glob("cross-model-*"))


@pytest.mark.slow
def test_board_over_three_gt_simulators(tmp_path):
    from bench.cli import run as bench
    from core.jsonio import read_json

    runs: dict[tuple[str, str], Path] = {}
    for profile, n in (("tiny", 2), ("tiny_reduced", 1), ("tiny_mpm", 1)):
        data = tmp_path / profile
        assert bench(["gen", "--profile", profile, "--n", str(n), "--out", str(data)]) == 0
        for method in ("static", "oracle"):
            runs[(profile, method)] = tmp_path / "runs" / f"{profile}-{method}"
            assert bench(["run", "--method", method, "--data", str(data), "--split", "all", "--inline",
                          "--out", str(runs[(profile, method)])]) == 0
    assert bench(["eval", *map(str, runs.values())]) == 0
    site = tmp_path / "site"
    assert bench(["board", *map(str, runs.values()), "--out", str(site)]) == 0

    cells = parse_matrix((site / "cross-model.html").read_text())["cross-model-freefall"]
    labels = {"static": "Static (last observed state) †", "oracle": "Oracle (GT physics) †"}  # † GT-derived inputs
    numbers = {(r["method"], r["physics_model"]): r
               for r in json.loads((site / "tables" / "cross-model-freefall.json").read_text())["rows"]}
    seen_models = set()
    for (profile, method), run_dir in runs.items():
        metrics = [read_json(p) for p in sorted(run_dir.glob("*/metrics.json"))]
        (model,) = {m["physics_model"] for m in metrics}
        seen_models.add(model)
        psnr = [float(m["summary"]["future"]["all"]["psnr"]) for m in metrics]
        chamfer = [m["summary"]["future"]["geometry"]["chamfer"] for m in metrics]
        cell = cells[labels[method]][model]
        assert cell[2] == f"{len(metrics)}/0/0"
        from leaderboards.stats import bootstrap_ci

        m, lo, hi = bootstrap_ci(chamfer)
        assert cell[1] == f"{m:.6f} [{lo:.6f}, {hi:.6f}]"
        num = numbers[(method, model)]
        assert num["chamfer/future"] == pytest.approx(np.mean(chamfer), rel=1e-12, abs=1e-15)
        if method == "oracle":  # bit-identical frames on every GT model (spring-mass re-simulated, others replayed)
            assert cell[0] == "∞" and num["psnr/future"] == "inf" and all(math.isinf(v) for v in psnr)
        else:
            m, lo, hi = bootstrap_ci(psnr)
            assert cell[0] == f"{m:.2f} [{lo:.2f}, {hi:.2f}]"
            assert num["psnr/future"] == pytest.approx(np.mean(psnr), rel=1e-12)
    assert seen_models == {"spring_mass", "reduced", "mpm"}
    assert list(cells[labels["static"]]) == ["spring_mass", "reduced", "mpm"]
