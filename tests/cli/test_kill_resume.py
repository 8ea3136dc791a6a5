"""kill -9 of ``memex-audit audit`` at random moments, then a rerun: every failed trajectory has
exactly one result, and the Parquet export says the same as ``results.jsonl``."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_trajectories"
CLI = "from memex_audit.cli import main; main()"
SEED = 20261126


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _audit(out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", CLI, "audit", str(SAMPLES), "--out", str(out), "--json"],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _finish(proc: subprocess.Popen[bytes]) -> dict[str, object]:
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    outcome: dict[str, object] = json.loads(stdout)
    return outcome


def _keys(run: Path) -> Counter[str]:
    keys: Counter[str] = Counter()
    for line in (run / "results.jsonl").read_bytes().splitlines():
        if line.strip():
            keys[json.loads(line)["key"]] += 1
    return keys


def _reap(proc: subprocess.Popen[bytes]) -> None:
    """Whatever the killed CLI left in its process group (kernels) is not this test's business after."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _wait_for_results(run: Path, count: int, proc: subprocess.Popen[bytes]) -> None:
    """Poll until ``results.jsonl`` holds ``count`` lines or the audit ends (a bounded wait)."""
    path = run / "results.jsonl"
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError):
            if path.read_bytes().count(b"\n") >= count:
                return
        time.sleep(0.002)


@pytest.mark.slow
def test_kill_9_at_random_moments_then_rerun_records_each_failed_trajectory_once(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    expected = _finish(_audit(reference))
    wanted = _keys(reference)
    assert set(wanted.values()) == {1} and len(wanted) == expected["audited"]

    run = tmp_path / "run"
    rng = random.Random(SEED)
    # The kills are placed by progress, not by the clock, so a faster or slower machine still
    # kills mid-run: once during start-up (before any result), then at increasing result counts.
    targets = [0, *sorted(rng.sample(range(1, len(wanted)), 4))]
    killed = 0
    mid_run = 0  # kills that left some results written and some not
    for attempt, target in enumerate(targets):
        proc = _audit(run)
        if target == 0:
            time.sleep(rng.uniform(0.05, 0.4))
        else:
            _wait_for_results(run, target, proc)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            killed += 1
        else:
            proc.communicate()
        _reap(proc)
        if (run / "results.jsonl").exists():
            partial = _keys(run)
            assert max(partial.values(), default=1) == 1, f"attempt {attempt} (seed {SEED}): {partial}"
            assert set(partial) <= set(wanted)
            mid_run += 0 < len(partial) < len(wanted)
    assert killed >= 3, f"the audit finished before most kills (seed {SEED}, targets {targets})"
    assert mid_run >= 1, f"no kill landed while results were being written (seed {SEED})"

    outcome = _finish(_audit(run))
    assert outcome["stopped"] == "complete"
    keys = _keys(run)
    assert keys == wanted, (sorted(set(wanted) - set(keys)), sorted(k for k, n in keys.items() if n > 1))

    exported = pl.read_parquet(run / "audit.parquet")
    assert exported.height == len(wanted)
    assert Counter(exported["key"].to_list()) == wanted
    reference_export = pl.read_parquet(reference / "audit.parquet").sort("key")
    assert exported.sort("key").select("key", "primary").equals(reference_export.select("key", "primary"))
