"""The running app in a real headless chromium: every page draws, charts are drawn, markup stays text,
cited steps and search hits land on their step, a copied URL restores the view, nothing is fetched
from elsewhere, and reloading the runs does not grow the server's memory.

Skipped when chromium is not installed (Debian: ``apt-get install -y chromium``). Screenshots of
each page go to ``$MEMEX_AUDIT_SCREENSHOTS`` when set, else to the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from memex_audit.auditor import AuditReport
from memex_audit.runs import RunStore
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


PLANTED_CATEGORY = '<a href="http://127.0.0.1:9/planted">planted link</a>'
"""A category name holding a link, planted in a copy of the audit run."""


@pytest.fixture(scope="module")
def browser_runs(app_runs: AppRuns, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test runs, plus a copy of the audit run whose first verdict with evidence is planted
    with ``PLANTED_CATEGORY`` as its category."""
    root = tmp_path_factory.mktemp("browser") / "runs"
    shutil.copytree(app_runs.root, root)
    planted = root / "planted"
    shutil.copytree(app_runs.audit, planted)
    (planted / "audit.parquet").unlink(missing_ok=True)
    lines = (planted / "results.jsonl").read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines):
        record = json.loads(line)
        if record["record"]["evidence"]:
            record["record"]["primary"] = PLANTED_CATEGORY
            lines[n] = json.dumps(record)
            break
    (planted / "results.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _server_pid(app_pid: int) -> int:
    """The Streamlit server ``memex-audit app`` started (its child)."""
    children = Path(f"/proc/{app_pid}/task/{app_pid}/children").read_text().split()
    return int(children[0])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@pytest.fixture(scope="module")
def served(chromium: str, browser_runs: Path) -> Iterator[tuple[str, int]]:
    """The app started by ``memex-audit app`` on a free loopback port, and that process's pid."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "MEMEX_AUDIT_RUNS"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from memex_audit.cli import main; main()",
            "app",
            str(browser_runs),
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
        yield url, process.pid
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


def _idle(browser: Chromium) -> None:
    """Wait for the script run to finish (Streamlit shows a status widget while it runs)."""
    time.sleep(0.5)
    browser.wait_for("!document.querySelector('[data-testid=\"stStatusWidget\"]')", settle_s=1.0)


def _in_view(anchor: str) -> str:
    """JavaScript: whether the step container ``anchor`` is drawn near the top of the viewport."""
    return (
        f"(() => {{ const e = document.querySelector('.st-key-{anchor}'); if (!e) return false; "
        "const top = e.getBoundingClientRect().top; return top >= 0 && top < 250; })()"
    )


def _click_button(browser: Chromium, starts_with: str) -> None:
    found = browser.evaluate(
        f"(() => {{ const b = [...document.querySelectorAll('button')]"
        f".find(b => b.innerText.split('\\n').some(t => t.trim().startsWith({starts_with!r}))); if (!b) return false; b.click(); return true; }})()"
    )
    assert found, f"no button starting with {starts_with!r}"


def _selected(browser: Chromium, label: str) -> str:
    """The text a selectbox labelled ``label`` shows."""
    return str(
        browser.evaluate(
            "[...document.querySelectorAll('[data-testid=\"stSelectbox\"]')]"
            f".filter(s => s.innerText.startsWith({label!r}))"
            ".map(s => [...s.querySelectorAll('input')].map(i => i.value).join('|')).join('|')"
        )
    )


def test_every_page_draws_nothing_is_fetched_elsewhere_and_no_deploy_button(
    served: tuple[str, int], chromium: str, shots: Path
) -> None:
    url, _ = served
    with Chromium(chromium) as browser:
        browser.watch_network()
        for path, title, plots in [
            ("", "Overview", 2),
            ("failures", "Failure breakdown", 1),
            ("best_of_n", "Best-of-N", 2),
            ("trajectories", "Trajectory viewer", 0),
            ("search?q=total", "Search", 0),
        ]:
            browser.goto(f"{url}/{path}")
            _title(browser, title)
            if plots:
                browser.wait_for(f"{PLOTS} >= {plots}")
                assert browser.evaluate(PLOTS) >= plots
            _idle(browser)
            assert not browser.evaluate("document.querySelectorAll('[data-testid=\"stException\"]').length")
            assert not browser.evaluate("document.body.innerText.includes('Page not found')"), path
            assert not browser.evaluate(
                "!!document.querySelector('[data-testid=\"stAppDeployButton\"]') || "
                "[...document.querySelectorAll('button')].some(b => b.innerText.trim() === 'Deploy')"
            ), "no Deploy button"
            name = path.split("?")[0] or "overview"
            shot = browser.screenshot(shots / f"{name}.png")
            assert shot.stat().st_size > 10_000
        elsewhere = [
            r for r in browser.requests if not r.startswith((url, "data:", "blob:", "about:", "chrome"))
        ]
        assert browser.requests and not elsewhere, elsewhere


def test_markup_in_a_tool_output_does_not_run(served: tuple[str, int], chromium: str, shots: Path) -> None:
    url, _ = served
    with Chromium(chromium) as browser:
        browser.goto(f"{url}/trajectories?task={PLANTED_TASK}&rollout={PLANTED_ID}")
        _title(browser, "Trajectory viewer")
        browser.wait_for(f"document.body.innerText.includes({PLANTED_ID!r})")
        browser.wait_for("document.body.innerText.includes('<script>document.title')")
        browser.screenshot(shots / "trajectories_planted.png")
        assert browser.evaluate("document.title") == "memex_audit"
        assert browser.evaluate("typeof window.__pwned") == "undefined"
        assert browser.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        assert browser.evaluate("document.querySelectorAll('a[href^=\"javascript:\"]').length") == 0
        assert browser.evaluate(f"document.body.innerText.includes({HOSTILE[:40]!r})")


def test_clicking_a_cited_step_lands_on_it(
    served: tuple[str, int], chromium: str, app_runs: AppRuns, shots: Path
) -> None:
    url, _ = served
    reports = RunStore.read(app_runs.audit).read_results(AuditReport)
    report = max((r for r in reports if r.evidence), key=lambda r: max(e.step for e in r.evidence))
    step = max(e.step for e in report.evidence)
    with Chromium(chromium, height=1000) as browser:
        browser.goto(f"{url}/trajectories?task={report.task_id}&rollout={report.trajectory.id}")
        _title(browser, "Trajectory viewer")
        _idle(browser)
        browser.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollTo(0, 0)")
        _click_button(browser, f"step {step}:")
        browser.wait_for(f"location.search.includes('step={step}')")
        browser.wait_for(_in_view(f"viewer-left-step-{step}"))
        browser.screenshot(shots / "trajectories_cited_step.png")


def test_a_search_hit_opens_at_its_step(served: tuple[str, int], chromium: str, shots: Path) -> None:
    url, _ = served
    with Chromium(chromium, height=1000) as browser:
        browser.goto(f"{url}/search?q=window.__pwned%3D1")
        _title(browser, "Search")
        browser.wait_for(f"document.body.innerText.includes({PLANTED_ID!r})")
        browser.screenshot(shots / "search.png")
        _click_button(browser, f"{PLANTED_ID} · step 3")
        _title(browser, "Trajectory viewer")
        browser.wait_for("location.search.includes('step=3')")
        browser.wait_for(_in_view("viewer-left-step-3"))
        assert PLANTED_ID in _selected(browser, "Rollout")


def test_a_copied_url_restores_filters_and_the_selected_rollout(
    served: tuple[str, int], chromium: str, app_runs: AppRuns
) -> None:
    url, _ = served
    rollouts = sorted(p.name for p in (app_runs.rollouts / "officeqa").glob("*.jsonl"))
    task = rollouts[0].removesuffix(".jsonl")
    lines = (app_runs.rollouts / "officeqa" / rollouts[0]).read_text().splitlines()
    correct = next(json.loads(x)["id"] for x in lines if json.loads(x)["outcome"]["correct"])
    with Chromium(chromium, height=1000) as browser:
        browser.goto(f"{url}/trajectories?task={task}&rollout={correct}&step=2")
        _title(browser, "Trajectory viewer")
        _idle(browser)
        viewer = browser.evaluate("location.href")
        browser.goto(f"{url}/failures?harness=memex&group=model&scale=percent")
        _title(browser, "Failure breakdown")
        _idle(browser)
        failures = browser.evaluate("location.href")
        rows = browser.evaluate("document.querySelector('[data-testid=\"stMetricValue\"]').innerText")
    assert "rollout=" in viewer and "step=2" in viewer and "harness=memex" in failures
    with Chromium(chromium, height=1000) as fresh:
        fresh.goto(viewer)
        _title(fresh, "Trajectory viewer")
        _idle(fresh)
        assert correct in _selected(fresh, "Rollout")
        assert task in _selected(fresh, "Task")
        assert fresh.evaluate("document.querySelector('[data-testid=\"stNumberInput\"] input').value") == "2"
        fresh.goto(failures)
        _title(fresh, "Failure breakdown")
        _idle(fresh)
        assert "model" in _selected(fresh, "Group by")
        assert fresh.evaluate("document.body.innerText.includes('memex')")
        again = fresh.evaluate("document.querySelector('[data-testid=\"stMetricValue\"]').innerText")
        assert again == rows


def test_a_planted_link_in_a_category_renders_as_text(
    served: tuple[str, int], chromium: str, shots: Path
) -> None:
    url, _ = served
    with Chromium(chromium) as browser:
        browser.goto(f"{url}/failures")
        _title(browser, "Failure breakdown")
        browser.wait_for(f"{PLOTS} >= 1")
        _idle(browser)
        browser.screenshot(shots / "failures_planted.png")
        svg_text = browser.evaluate(
            "[...document.querySelectorAll('.js-plotly-plot svg')].map(s => s.textContent).join(' ')"
        )
        assert PLANTED_CATEGORY in svg_text, "the category is drawn as the characters it is made of"
        assert browser.evaluate("document.querySelectorAll('.js-plotly-plot svg a').length") == 0
        assert browser.evaluate("document.querySelectorAll('a[href*=\"planted\"]').length") == 0


def test_ten_reloads_grow_memory_by_less_than_20_mb(served: tuple[str, int], chromium: str) -> None:
    url, app_pid = served
    server = _server_pid(app_pid)
    with Chromium(chromium) as browser:
        browser.goto(url)
        _title(browser, "Overview")
        _idle(browser)
        for _ in range(2):  # warm up: caches, imports and the allocator reach their working size
            _click_button(browser, "Reload runs")
            _idle(browser)
        before = _rss_mb(server)
        for _ in range(10):
            _click_button(browser, "Reload runs")
            _idle(browser)
            _title(browser, "Overview")
        after = _rss_mb(server)
    assert after - before < 20, f"RSS {before:.0f} MB -> {after:.0f} MB over ten reloads"
