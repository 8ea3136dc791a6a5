"""memex-audit audit, eval-audit and show on a small folder of rollouts."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memex_audit.cli import app
from memex_audit.loaders import write_jsonl
from memex_audit.runs import available_cpus
from tests.auditor.test_runner import _collection
from tests.paths import SAMPLES

runner = CliRunner()


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "rollouts"
    folder.mkdir()
    trajs = _collection()
    write_jsonl([t for t in trajs if t.task_id == "officeqa-001"], folder / "a.jsonl")
    write_jsonl([t for t in trajs if t.task_id != "officeqa-001"], folder / "b.jsonl")
    return folder


def test_dry_run_estimates_and_writes_nothing(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    result = runner.invoke(
        app, ["audit", str(folder), "--out", str(tmp_path / "run"), "--dry-run"], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    assert "would audit 7 selected trajectories of 2 tasks" in result.output
    assert "$0.0000" in result.output
    assert not (tmp_path / "run").exists()


def test_audit_prints_the_breakdown_and_resumes(tmp_path: Path) -> None:
    folder, run = _folder(tmp_path), tmp_path / "run"
    result = runner.invoke(
        app, ["audit", str(folder), "--out", str(run), "--taxonomy", "memex"], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    assert "audited 7 trajectories" in result.output
    assert "primary category by harness" in result.output and "primary category by model" in result.output
    assert "source_selection" in result.output
    assert {"manifest.json", "results.jsonl", "summary.json", "audit.parquet", "agent_runs.jsonl"} <= {
        p.name for p in run.iterdir()
    }
    again = runner.invoke(app, ["audit", str(folder), "--out", str(run)], terminal_width=200)
    assert "audited 0 trajectories (7 already done" in again.output
    other = runner.invoke(
        app, ["audit", str(folder), "--out", str(run), "--taxonomy", "trail"], terminal_width=200
    )
    assert other.exit_code == 2 and "taxonomy 'memex'" in other.output


def test_show_and_eval_audit(tmp_path: Path) -> None:
    folder, run = _folder(tmp_path), tmp_path / "run"
    runner.invoke(app, ["audit", str(folder), "--out", str(run)], terminal_width=200)
    shown = runner.invoke(app, ["show", str(run), "--output-format", "json"])
    payload = json.loads(shown.stdout)
    assert len(payload["reports"]) == 7 and payload["summary"]["audited"] == 7
    assert payload["reports"][0]["producer"]["name"] == "offline-signals/1"
    text = runner.invoke(app, ["show", str(run)], terminal_width=200).output
    assert "a-wrong-bulletin" in text and "step 3: 'bulletin-1944-04'" in text
    evaluated = runner.invoke(app, ["eval-audit", str(run)], terminal_width=200)
    assert evaluated.exit_code == 0, evaluated.output
    assert "accuracy" in evaluated.output and "kappa" in evaluated.output
    agreement = json.loads((run / "agreement.json").read_text())
    assert agreement["matched"] == 6  # a-retyped carries no label
    labels = tmp_path / "labels.csv"
    labels.write_text("trajectory_id,category\na-retyped,execution\na-format,interpretation\n")
    from_file = runner.invoke(app, ["eval-audit", str(run), "--labels", str(labels), "--json"])
    data = json.loads(from_file.stdout)
    assert data["matched"] == 2 and data["categories"]["accuracy"] == 0.5


@pytest.mark.slow
def test_a_killed_audit_process_resumes_without_duplicates(tmp_path: Path) -> None:
    """The audit process dies after two results (a hook calls os._exit); a rerun finishes the rest."""
    folder, run = _folder(tmp_path), tmp_path / "run"
    script = (
        "import os, sys\n"
        "from memex_audit.auditor import AuditRunner\n"
        "from memex_audit.loaders import load\n"
        "from memex_audit.runs import RunStore\n"
        "from memex_audit.taxonomy import load_taxonomy\n"
        "done = []\n"
        "def die(key):\n"
        "    done.append(key)\n"
        "    if len(done) == int(sys.argv[3]):\n"
        "        os._exit(9)\n"
        "AuditRunner(load_taxonomy('memex'), concurrency=2, after_result=die).run_sync("
        "load(sys.argv[1]).trajectories, RunStore.open(sys.argv[2], kind='audit'))\n"
    )
    killed = subprocess.run([sys.executable, "-c", script, str(folder), str(run), "2"], capture_output=True)
    assert killed.returncode == 9, killed.stderr
    before = [json.loads(line)["key"] for line in (run / "results.jsonl").read_text().splitlines()]
    assert len(before) == 2
    finished = subprocess.run(
        [sys.executable, "-c", script, str(folder), str(run), "99"], capture_output=True
    )
    assert finished.returncode == 0, finished.stderr
    keys = Counter(json.loads(line)["key"] for line in (run / "results.jsonl").read_text().splitlines())
    assert len(keys) == 7 and set(keys.values()) == {1}


def test_a_model_without_an_api_key_is_a_clear_error_but_dry_run_estimates(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    result = runner.invoke(
        app,
        ["audit", str(folder), "--out", str(tmp_path / "run"), "--model", "claude-sonnet-4-6"],
        terminal_width=200,
    )
    assert result.exit_code == 2
    assert "ANTHROPIC_API_KEY" in result.output and "omit --model" in result.output
    estimate = runner.invoke(
        app,
        ["audit", str(folder), "--out", str(tmp_path / "run"), "--model", "claude-sonnet-4-6", "--dry-run"],
        terminal_width=200,
    )
    assert estimate.exit_code == 0, estimate.output
    assert "with claude-sonnet-4-6" in estimate.output and "estimated cost: $" in estimate.output


@pytest.mark.slow
@pytest.mark.skipif(available_cpus() < 2, reason="the default executor is a pool only on several cores")
def test_one_pool_reads_the_index_then_audits_with_the_local_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import process

    from memex_audit.loaders import _index as index_module

    monkeypatch.setattr(index_module, "PARALLEL_MIN_BYTES", 0)  # the samples are read on the pool too
    pools: list[object] = []
    start = process.ProcessPoolExecutor.__init__

    def counted(self: process.ProcessPoolExecutor, *args: object, **kwargs: object) -> None:
        pools.append(self)
        start(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(process.ProcessPoolExecutor, "__init__", counted)
    pooled, local = tmp_path / "pooled", tmp_path / "local"
    result = runner.invoke(app, ["audit", str(SAMPLES), "--out", str(pooled), "--json"])
    assert result.exit_code == 0, result.output
    assert len(pools) == 1  # one set of worker processes, started once
    assert (
        runner.invoke(app, ["audit", str(SAMPLES), "--out", str(local), "--executor", "local"]).exit_code == 0
    )

    def labels(run: Path) -> dict[str, tuple[str, str]]:
        lines = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
        return {x["key"]: (x["record"]["primary"], x["record"]["explanation"]) for x in lines}

    assert labels(pooled) == labels(local) and len(labels(pooled)) > 100
