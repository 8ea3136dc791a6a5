"""The web app at scale: 100k audit rows.

Builds an audit run folder of N synthetic audit reports (5 models, 3 harnesses, 2,000 tasks, the
memex taxonomy's categories), then times:

* reading the run into the app's workspace (``load_workspace``), from the ``audit.parquet`` export
  (reports read on demand) and from ``results.jsonl`` alone (100k reports validated);
* the failure breakdown query (filter + ``category_counts`` + ``breakdown_table``) by harness, by
  model, and by task (the 40 largest groups), cold and with a filter;
* the app's first run in Streamlit's AppTest (the workspace load), then the Failure breakdown and
  Overview pages rendered, rerun after changing a filter, and rerun as is (cached load).

With ``--real RUN_DIR...`` it measures the app as a user meets it instead, over real run folders
(e.g. a SWE-bench coding audit, Who&When, a tau2 best-of-4): ``memex-audit app`` started, the time to
the server answering and to the first page drawn in headless chromium (cold start), then each page
drawn, a trajectory opened at its faulty step, a search, and the server's memory over ten reloads.

Run: ``.venv/bin/python benchmarks/app.py [--rows 100000]`` or
``.venv/bin/python benchmarks/app.py --real /tmp/app_runs``
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from memex_audit.analysis._audit_summary import audit_frame, category_counts
from memex_audit.analysis._queries import FailureFilter, category_order, filter_failures, group_table
from memex_audit.app import discover_runs, load_workspace
from memex_audit.auditor import AuditReport, Producer
from memex_audit.runs import ResultLine, RunStore
from memex_audit.trajectory import Evidence, TrajectoryRef

ROOT = Path(__file__).resolve().parent.parent
CATEGORIES = ["source_selection", "interpretation", "search_strategy", "execution", "unclassified"]
MODELS = ["qwen-3.6-27b", "model-b", "model-c", "model-d", "model-e"]
HARNESSES = ["memex", "tool_calling", "tau2"]


def build_run(folder: Path, rows: int, seed: int = 0) -> Path:
    """An audit run folder holding ``rows`` reports (lines written in bulk, in the store's format)
    and, as ``memex-audit audit`` leaves it, the ``audit.parquet`` export."""
    rng = random.Random(seed)
    store = RunStore.open(folder / "audit", "audit", {"taxonomy": "memex", "model": "offline-signals/1"})
    producer = Producer(kind="offline", name="offline-signals/1")
    reports = []
    with (store.root / "results.jsonl").open("wb") as fh:
        for i in range(rows):
            task = f"task-{i % 2000:04d}"
            primary = rng.choice(CATEGORIES)
            report = AuditReport(
                primary=primary,
                evidence=[] if primary == "unclassified" else [Evidence(step=3, quote="total 3,501")],
                faulty_step=3,
                explanation="The rollout read the preliminary table.",
                confidence=0.7,
                trajectory=TrajectoryRef(id=f"{task}-r{i}", task_id=task, file=f"rollouts/{task}.jsonl"),
                harness=rng.choice(HARNESSES),
                model=rng.choice(MODELS),
                taxonomy="memex",
                producer=producer,
            )
            reports.append(report)
            key = report.trajectory.id
            line = ResultLine(key=key, record=report.model_dump(mode="json"))
            fh.write(line.model_dump_json().encode() + b"\n")
    store.write_parquet("audit", audit_frame(reports))
    return store.root


def timed(fn: Callable[[], object], repeat: int = 5) -> tuple[float, float]:
    """Median and max wall time of ``fn`` in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def breakdown(frame: pl.DataFrame, flt: FailureFilter, by: str, order: list[str], top: int = 40) -> None:
    """What the Failure breakdown page computes for one view (see ``memex_audit.app._state``)."""
    rows = filter_failures(frame, flt).with_columns(pl.col(by).fill_null("?"))
    groups = rows.group_by(by).len().sort(["len", by], descending=[True, False])
    kept = groups.head(top).get_column(by)
    category_counts(rows.filter(pl.col(by).is_in(kept.implode())), by)
    group_table(rows, by, order)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def real(paths: list[str]) -> None:
    """Cold start, page times and reload memory of ``memex-audit app`` over real run folders."""
    import signal
    import socket
    import subprocess
    import sys
    import urllib.request

    sys.path.insert(0, str(ROOT))
    from tests.app.cdp import Chromium, find_chromium

    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install -y chromium)")
    size = sum(f.stat().st_size for p in paths for f in Path(p).rglob("*") if f.is_file())
    ws = load_workspace(discover_runs(paths))
    inputs = {f for spec in ws.specs for f in ([spec[0]] if spec[0].is_file() else spec[0].rglob("*"))}
    input_mb = sum(f.stat().st_size for f in inputs if f.is_file()) / 1e6
    print(f"runs: {len(ws.runs)} ({size / 1e6:.1f} MB of results), rollouts read: {input_mb:.1f} MB")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from memex_audit.cli import main; main()",
            "app",
            *paths,
            "--port",
            str(port),
            "--no-browser",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.05)
        print(f"cold start: server answering after {time.perf_counter() - start:.2f}s")
        idle = "!!document.querySelector('h1') && !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        with Chromium(chromium, width=1440, height=1000) as browser:
            browser.goto(url)
            browser.wait_for("!!document.querySelector('h1')", settle_s=0)
            print(f"cold start: first page title drawn after {time.perf_counter() - start:.2f}s")
            browser.wait_for(
                "document.querySelectorAll('[data-testid=\"stMetricValue\"]').length >= 5", settle_s=0
            )
            print(f"cold start: Overview with rollout counts after {time.perf_counter() - start:.2f}s")
            faulty = ws.audit_rows.sort("faulty_step", descending=True, nulls_last=True).row(0, named=True)
            for name, path in [
                ("Overview", ""),
                ("Failure breakdown", "failures"),
                ("Failure breakdown by step position", "failures?group=step+position"),
                (
                    f"Trajectory viewer ({faulty['trajectory_id']}, faulty step {faulty['faulty_step']})",
                    f"trajectories?task={faulty['task_id']}&rollout={faulty['trajectory_id']}",
                ),
                ("Search 'Traceback'", "search?q=Traceback"),
                ("Best-of-N", "best_of_n"),
            ]:
                for attempt in ("first", "again"):
                    begin = time.perf_counter()
                    browser.goto(f"{url}/{path}")
                    time.sleep(0.3)
                    browser.wait_for(idle, timeout_s=120, settle_s=0)
                    print(f"page {name} ({attempt}): {time.perf_counter() - begin:.2f}s")
            server = int(Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()[0])
            browser.goto(url)
            browser.wait_for(idle, settle_s=0.5)
            click = "[...document.querySelectorAll('button')].find(b => b.innerText.includes('Reload runs')).click()"
            rss = [_rss_mb(server)]
            for _ in range(10):
                browser.evaluate(click)
                time.sleep(0.3)
                browser.wait_for(idle, timeout_s=120, settle_s=0.3)
                rss.append(_rss_mb(server))
            print(
                f"server memory over ten reloads: {rss[0]:.0f} MB -> {rss[-1]:.0f} MB (max {max(rss):.0f} MB)"
            )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--real", nargs="+", metavar="RUN_DIR", help="measure the app over these runs")
    args = parser.parse_args()
    if args.real:
        real(args.real)
        return
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run = build_run(Path(tmp), args.rows)
        print(
            f"built {args.rows:,} audit reports in {time.perf_counter() - start:.1f}s "
            f"({(run / 'results.jsonl').stat().st_size / 1e6:.0f} MB)"
        )

        start = time.perf_counter()
        ws = load_workspace(discover_runs([run]), load_trajectories=False)
        print(
            f"load_workspace with audit.parquet: {time.perf_counter() - start:.2f}s ({ws.failures.height:,} rows)"
        )
        start = time.perf_counter()
        reports = ws.reports_for("task-0007-r7")
        print(
            f"reports of one trajectory from results.jsonl: {(time.perf_counter() - start) * 1000:.0f} ms ({len(reports)})"
        )
        export = run / "audit.parquet"
        export.rename(run / "audit.parquet.off")
        start = time.perf_counter()
        load_workspace(discover_runs([run]), load_trajectories=False)
        print(f"load_workspace from results.jsonl alone: {time.perf_counter() - start:.2f}s")
        (run / "audit.parquet.off").rename(export)

        order = category_order(ws.failures, ws.taxonomy_ids)
        views = {
            "by harness, no filter": (FailureFilter(), "harness"),
            "by model, no filter": (FailureFilter(), "model"),
            "by task (top 40)": (FailureFilter(), "task_id"),
            "by harness, model+category filter": (
                FailureFilter(model=("model-b", "model-c"), category=("execution", "interpretation")),
                "harness",
            ),
        }
        for name, (flt, by) in views.items():
            median, worst = timed(lambda flt=flt, by=by: breakdown(ws.failures, flt, by, order))
            print(f"breakdown query {name}: median {median:.0f} ms, max {worst:.0f} ms")

        from streamlit.testing.v1 import AppTest

        os.environ["MEMEX_AUDIT_RUNS"] = str(run)
        at = AppTest.from_file(str(ROOT / "apps" / "streamlit_app.py"), default_timeout=600)
        start = time.perf_counter()
        at.run()
        print(f"AppTest first run (Overview, workspace load included): {time.perf_counter() - start:.2f}s")
        for page, change in [
            ("views/failures.py", ("model", ["model-b"])),
            ("views/overview.py", None),
        ]:
            start = time.perf_counter()
            at.switch_page(page).run()
            assert not at.exception, [e.value for e in at.exception]
            line = f"AppTest {page}: render {(time.perf_counter() - start) * 1000:.0f} ms"
            if change is not None:
                start = time.perf_counter()
                at.multiselect(key=change[0]).set_value(change[1]).run()
                assert not at.exception, [e.value for e in at.exception]
                line += f", rerun after a filter change {(time.perf_counter() - start) * 1000:.0f} ms"
            start = time.perf_counter()
            at.run()
            line += f", plain rerun {(time.perf_counter() - start) * 1000:.0f} ms"
            print(line)


if __name__ == "__main__":
    main()
