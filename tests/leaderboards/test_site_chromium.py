"""The site in a real headless Chromium: load the index, open a table page, screenshot, rows present."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from leaderboards.site import build_site

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (CI installs the Debian package "
                                "via scripts/setup.sh; locally: apt-get install -y chromium)")


def _chromium(tmp_path, url: str, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}", *extra, url]
    return subprocess.run(args, capture_output=True, text=True, timeout=90, env={**os.environ, "HOME": str(tmp_path)})


def test_site_in_headless_chromium(runs, tmp_path):
    site = tmp_path / "site"
    index = build_site(runs, site)
    dom = _chromium(tmp_path, index.as_uri(), "--dump-dom").stdout
    assert "physrecon-bench leaderboard" in dom and 'href="track-freefall.html"' in dom
    page = site / "track-freefall.html"
    dom = _chromium(tmp_path, page.as_uri(), "--dump-dom").stdout
    main = dom.split('data-table="freefall-main"', 1)[1].split("</table>", 1)[0]
    assert main.count("<tr") == 4  # header + 3 methods (the failed sample is counted in Alpha's row)
    for label in ("Alpha", "Beta", "&lt;script&gt;alert('x')&lt;/script&gt; &amp; co"):
        assert label in main
    assert "<script>alert" not in dom
    shot = tmp_path / "track.png"
    _chromium(tmp_path, page.as_uri(), f"--screenshot={shot}", "--window-size=1280,900")
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
