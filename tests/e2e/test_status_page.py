"""The status page in a real browser: headless Chromium (Debian's `chromium`)
renders / of a demo exporter at a phone's width, saves a screenshot, and the
DOM is checked: a card per mapping, a chart in each, recent requests, and no
console message (the page has no script, so any message is an error such as
a failed resource).

The screenshot is written to $ACS_ARTIFACTS/status-page.png when that is set,
else to pytest's temporary folder (its path is printed).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import HOST, Processes, free_port, http_get, tool, wait_until

DEMO_MAPPINGS = {("demo-mkt-prod1", "XDM44"), ("demo-mkt-prod1", "XDM45"), ("demo-mkt-stage1", "XDM10")}


def chromium() -> str:
    return shutil.which("chromium-browser") or tool("chromium", "chromium")


class Page(HTMLParser):
    """Collects what the assertions need from the rendered DOM."""

    def __init__(self):
        super().__init__()
        self.cards = []
        self.charts = 0
        self.recent_rows = 0
        self.links = []
        self.scripts = 0
        self._in_recent = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "article" and "card" in a.get("class", ""):
            self.cards.append((a.get("data-tenant"), a.get("data-mapping")))
        if tag == "svg" and "chart" in a.get("class", ""):
            self.charts += 1
        if tag == "table" and a.get("id") == "recent":
            self._in_recent = True
        if tag == "tr" and self._in_recent and "data-request" in a:
            self.recent_rows += 1
        if tag == "a":
            self.links.append(a.get("href"))
        if tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_recent = False


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("status-page")
    port = free_port()
    group = Processes(tmp)
    try:
        exporter = group.exporter("exporter", "--demo", "--web.listen-address", f"{HOST}:{port}",
                                  "--storage.path", str(tmp / "demo.sqlite"), "--log.level", "warn")
        failed = re.compile(r'acs_ingestion_requests_total\{[^}]*status="failed"\} [1-9]')
        wait_until("a failed request in the demo's metrics",
                   lambda: bool(failed.search(http_get(f"http://{HOST}:{port}/metrics", 2)[1])),
                   timeout=30, interval=0.5, watch=[exporter])
        yield f"http://{HOST}:{port}/", tmp
    finally:
        group.stop_all()


def run_chromium(tmp: Path, *arguments: str) -> subprocess.CompletedProcess:
    profile = tmp / f"profile-{time.monotonic_ns()}"
    return subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
                           "--enable-logging=stderr", "--v=0", "--window-size=412,915", *arguments],
                          capture_output=True, text=True, timeout=120)


def test_status_page_renders_in_chromium(demo):
    url, tmp = demo
    artifacts = Path(os.environ.get("ACS_ARTIFACTS", tmp))
    artifacts.mkdir(parents=True, exist_ok=True)
    screenshot = artifacts / "status-page.png"
    shot = run_chromium(tmp, f"--screenshot={screenshot}", url)
    assert screenshot.exists() and screenshot.stat().st_size > 10_000, shot.stderr[-2000:]
    print(f"screenshot: {screenshot}")

    dom = run_chromium(tmp, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = Page()
    page.feed(dom.stdout)
    assert set(page.cards) == DEMO_MAPPINGS, page.cards
    assert page.charts == len(DEMO_MAPPINGS)
    assert page.recent_rows > 0
    assert page.links and page.links[0] == "/metrics", page.links[:3]
    assert page.scripts == 0

    console = [line for line in (shot.stderr + dom.stderr).splitlines() if re.search(r"CONSOLE\(\d+\)|Uncaught", line)]
    assert console == [], "console messages:\n" + "\n".join(console)
