"""Commands that write run folders answer scripts and CI: JSON out, exit codes, progress in logs,
one writer per folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memex_audit.cli import _app, app
from tests.cli.test_audit import _folder

runner = CliRunner()

HOLDER = """
import sys, time
from memex_audit.runs import RunStore
RunStore.open(sys.argv[1], "audit", {"path": "x"})
print("held", flush=True)
time.sleep(30)
"""


def test_audit_json_outcome_and_a_progress_line_when_not_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_app, "PROGRESS_LINE_SECONDS", 0.0)
    result = runner.invoke(app, ["audit", str(_folder(tmp_path)), "--out", str(tmp_path / "run"), "--json"])
    assert result.exit_code == 0, result.output
    assert "auditing: 1/7 done, $0.0000" in result.stderr
    outcome = json.loads(result.stdout)
    assert (outcome["audited"], outcome["errors"], outcome["stopped"]) == (7, 0, "complete")
    assert sum(outcome["primary"].values()) == 7


def test_nothing_matched_is_an_error_not_an_empty_success(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    result = runner.invoke(app, ["audit", str(folder), "--out", str(tmp_path / "run"), "--glob", "*.nothing"])
    assert result.exit_code == 2
    assert "no trajectories found" in result.output
    result = runner.invoke(
        app, ["aggregate", str(folder), "--out", str(tmp_path / "agg"), "--glob", "*.nothing"]
    )
    assert result.exit_code == 2 and "no rollouts found" in result.output


def test_every_unit_failing_exits_non_zero_and_the_causes_are_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    run = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "audit",
            str(_folder(tmp_path)),
            "--out",
            str(run),
            "--model",
            "anthropic:claude-sonnet-4-6",
            "--cache",
            str(cache),
            "--concurrency",
            "1",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "units failed" in result.output and "none succeeded" in result.output
    errors = [json.loads(line) for line in (run / "errors.jsonl").read_text().splitlines()]
    assert len({e["key"] for e in errors}) == 7 and all(e["message"] for e in errors)


def test_a_second_writer_is_refused_by_name(tmp_path: Path) -> None:
    run = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(run)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = runner.invoke(app, ["audit", str(_folder(tmp_path)), "--out", str(run)])
        assert result.exit_code == 2
        assert "being written by another process" in result.output and str(holder.pid) in result.output
    finally:
        holder.kill()
        holder.wait()


def test_a_cost_cap_over_an_unpriced_model_is_refused_before_anything_runs(tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["audit", str(_folder(tmp_path)), "--out", str(run), "--max-cost", "0.01"]
    local = ["--model", "openai:my-local-model", "--base-url", "http://127.0.0.1:9/v1"]
    result = runner.invoke(app, [*args, *local])
    assert result.exit_code == 2
    assert "price at this endpoint is unknown" in result.output and "--allow-unpriced" in result.output
    assert not run.exists()
    bad = runner.invoke(app, [*args, *local, "--price", "cheap"])
    assert bad.exit_code == 2 and "IN/OUT" in bad.output
