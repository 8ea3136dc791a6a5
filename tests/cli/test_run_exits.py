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


@pytest.mark.slow
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
    errors = [json.loads(line)["failure"] for line in (run / "errors.jsonl").read_text().splitlines()]
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


def test_a_finished_run_is_not_written_again(tmp_path: Path) -> None:
    folder, run = _folder(tmp_path), tmp_path / "run"
    assert runner.invoke(app, ["audit", str(folder), "--out", str(run)]).exit_code == 0
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    again = runner.invoke(app, ["audit", str(folder), "--out", str(run)])
    assert again.exit_code == 0 and "nothing left to do" in again.output
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == before


def test_a_full_disk_is_one_clear_line_and_evaluation_still_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from memex_audit.runs import _store

    folder, run = _folder(tmp_path), tmp_path / "run"
    assert runner.invoke(app, ["audit", str(folder), "--out", str(run)]).exit_code == 0

    def full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_store, "_atomic_write", full)
    result = runner.invoke(app, ["audit", str(folder), "--out", str(tmp_path / "other")])
    assert result.exit_code == 2
    assert "No space left on device" in result.output and "rerun the same command to resume" in result.output
    assert "Traceback" not in result.output
    evaluated = runner.invoke(app, ["eval-audit", str(run)])
    assert evaluated.exit_code == 0 and "not saved" in evaluated.output


def test_unit_keys_do_not_depend_on_how_the_input_path_is_spelled(tmp_path: Path) -> None:
    import shutil

    folder, run = _folder(tmp_path), tmp_path / "run"
    shutil.copy(folder / "a.jsonl", folder / "copy_of_a.jsonl")  # the same ids in two files
    assert runner.invoke(app, ["audit", str(folder), "--out", str(run), "--json"]).exit_code == 0
    spelled = f"{folder}/../{folder.name}/."
    again = runner.invoke(app, ["audit", spelled, "--out", str(run), "--json"])
    assert again.exit_code == 0
    assert "nothing left to do" in again.output or json.loads(again.stdout)["audited"] == 0
    keys = [json.loads(line)["key"] for line in (run / "results.jsonl").read_text().splitlines()]
    assert len(keys) == len(set(keys))


def test_control_sequences_and_markup_in_data_are_shown_not_obeyed(tmp_path: Path) -> None:
    from memex_audit.loaders import load, write_jsonl

    folder = _folder(tmp_path)
    hostile = [
        t.model_copy(update={"harness": "\x1b]0;pwned\x07[link=http://x]h[/link]", "model": "m\x1b[2J"})
        for t in load(folder).trajectories
    ]
    data = tmp_path / "hostile.jsonl"
    write_jsonl(hostile, data)
    result = runner.invoke(app, ["audit", str(data), "--out", str(tmp_path / "run")], color=True)
    assert result.exit_code == 0, result.output
    assert "\x1b]0;" not in result.output and "\x1b[2J" not in result.output
    assert "\\x1b]0;pwned" in result.output and "[link=http://x]" in result.output
    shown = runner.invoke(app, ["show", str(tmp_path / "run")])
    assert "\x1b" not in shown.output and "\\x1b[2J" in shown.output
