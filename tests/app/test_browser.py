"""The running app in a real headless chromium: every page draws, charts are drawn, markup stays text.

Skipped when chromium is not installed (Debian: ``apt-get install -y chromium``). Screenshots of
each page go to ``$MEMEX_AUDIT_SCREENSHOTS`` when set, else to the test's temporary folder.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.cdp import Chromium, find_chromium
from tests.app.conftest import HOSTILE, PLANTED_ID, PLANTED_TASK, AppRuns

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

PLOTS = (
    "[...document.querySelectorAll('.js-plotly-plot')].filter(p => p.querySelector('svg.main-svg')).length"
)
"""How many plotly charts have drawn their SVG."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return path


@pytest.fixture(scope="module")
def served(chromium: str, app_runs: AppRuns) -> Iterator[str]:
    """The app started by ``memex-audit app`` on a free loopback port."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "MEMEX_AUDIT_RUNS"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from memex_audit.cli import main; main()",
            "app",
            str(app_runs.root),
            "--port",
            str(port),
            "--no-browser",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # streamlit runs as a child: stop the whole group afterwards
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the app did not start") from None
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("MEMEX_AUDIT_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screens")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _title(browser: Chromium, title: str) -> None:
    browser.wait_for(f"[...document.querySelectorAll('h1')].some(h => h.innerText.includes({title!r}))")


def test_every_page_draws_and_charts_are_drawn(served: str, chromium: str, shots: Path) -> None:
    with Chromium(chromium) as browser:
        for path, title, plots in [
            ("", "Overview", 2),
            ("failures", "Failure breakdown", 1),
            ("best_of_n", "Best-of-N", 2),
            ("trajectories", "Trajectory viewer", 0),
        ]:
            browser.goto(f"{served}/{path}")
            _title(browser, title)
            if plots:
                browser.wait_for(f"{PLOTS} >= {plots}")
                assert browser.evaluate(PLOTS) >= plots
            assert not browser.evaluate("document.querySelectorAll('[data-testid=\"stException\"]').length")
            assert not browser.evaluate("document.body.innerText.includes('Page not found')"), path
            shot = browser.screenshot(shots / f"{path or 'overview'}.png")
            assert shot.stat().st_size > 10_000


def test_markup_in_a_tool_output_does_not_run(served: str, chromium: str, shots: Path) -> None:
    with Chromium(chromium) as browser:
        browser.goto(f"{served}/trajectories?task={PLANTED_TASK}&trajectory={PLANTED_ID}")
        _title(browser, "Trajectory viewer")
        browser.wait_for(f"document.body.innerText.includes({PLANTED_ID!r})")
        browser.wait_for("document.body.innerText.includes('<script>document.title')")
        browser.screenshot(shots / "trajectories_planted.png")
        assert browser.evaluate("document.title") == "memex_audit"
        assert browser.evaluate("typeof window.__pwned") == "undefined"
        assert browser.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        assert browser.evaluate("document.querySelectorAll('a[href^=\"javascript:\"]').length") == 0
        assert browser.evaluate(f"document.body.innerText.includes({HOSTILE[:40]!r})")
