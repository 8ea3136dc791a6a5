"""Checks of your own: loading check files, verified findings, the run folder, resume, ``show``."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memex_audit.checks import CheckReport, Finding, check_trajectory, load_checks, read_check_reports
from memex_audit.cli import app
from memex_audit.errors import UsageError
from memex_audit.runs import RunStore
from memex_audit.trajectory import Step, TaskGroup, ToolCall, Trajectory

runner = CliRunner()
FIXTURES = Path(__file__).parents[1] / "loaders" / "fixtures"

MY_CHECKS = '''
from memex_audit.checks import Finding, check
from memex_audit.reading import calls_with_results, is_error_output


@check(description="Every failing tool result.")
def failing_tool(trajectory):
    for step, call, result in calls_with_results(trajectory):
        if result is not None and is_error_output(result):
            yield Finding(label="failing_tool", step=step.index, quote=call.name, note="failed")


def check_siblings(trajectory, group):
    """How many rollouts share the task."""
    if len(group.trajectories) > 1:
        return Finding(label="has_siblings", note=str(len(group.trajectories)))
    return None


@check(name="bad_quote")
def misquoted(trajectory):
    return [Finding(label="misquoted", step=0, quote="words that are nowhere")]


@check
def crashes(trajectory):
    raise ValueError("boom")


def helper(x, y, z):  # neither marked nor named check_*: not a check
    return None
'''


def _trajectory(tid: str, *, fail: bool) -> Trajectory:
    return Trajectory(
        id=tid,
        task_id="t1",
        question="Total?",
        steps=[
            Step(index=0, role="user", text="Total?"),
            Step(
                index=1, role="assistant", tool_calls=[ToolCall(id="c1", name="lookup", arguments={"q": "x"})]
            ),
            Step(
                index=2,
                role="tool",
                tool_call_id="c1",
                output="Error: no such table" if fail else "42",
                error="no such table" if fail else None,
            ),
            Step(index=3, role="assistant", text="42"),
        ],
        final_answer="42",
    )


def _data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    lines = [_trajectory("a", fail=True), _trajectory("b", fail=False)]
    (folder / "runs.jsonl").write_text("".join(t.model_dump_json() + "\n" for t in lines))
    return folder


def _checks_file(tmp_path: Path, source: str = MY_CHECKS) -> Path:
    path = tmp_path / "my_checks.py"
    path.write_text(textwrap.dedent(source))
    return path


def test_checks_are_found_by_mark_or_name_and_run_with_their_group(tmp_path: Path) -> None:
    checks = load_checks([_checks_file(tmp_path)])
    assert [c.name for c in checks] == ["failing_tool", "check_siblings", "bad_quote", "crashes"]
    assert [c.wants_group for c in checks] == [False, True, False, False]
    assert checks[1].description == "How many rollouts share the task."
    a, b = _trajectory("a", fail=True), _trajectory("b", fail=False)
    report = check_trajectory(a, TaskGroup(task_id="t1", trajectories=[a, b]), checks, "d1")
    by_label = {f.label: f for f in report.findings}
    assert by_label["failing_tool"].verified is True and by_label["failing_tool"].check == "failing_tool"
    assert by_label["has_siblings"].verified is None and by_label["has_siblings"].note == "2"
    assert by_label["misquoted"].verified is False
    assert by_label["misquoted"].problem == "the quote does not occur in step 0"
    [failure] = report.failures
    assert failure.check == "crashes" and failure.error == "ValueError: boom"
    assert failure.where is not None and failure.where.startswith("my_checks.py:")


def test_finding_verification_names_a_missing_step() -> None:
    t = _trajectory("a", fail=True)
    assert Finding(label="x", step=9, quote="42").verify(t).problem == "step 9 does not exist (4 steps)"
    assert Finding(label="x", quote="no such table").verify(t).verified is True  # any step


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = 1\n", "defines no check"),
        ("import nowhere_to_be_found\n", "could not be imported: ModuleNotFoundError"),
        ("def check_two(a, b, c):\n    return None\n", "takes 3 arguments"),
    ],
)
def test_a_bad_check_file_is_a_usage_error(tmp_path: Path, source: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_checks([_checks_file(tmp_path, source)])


def test_the_check_command_writes_a_run_that_resumes_and_that_show_reads(tmp_path: Path) -> None:
    data, checks, out = _data(tmp_path), _checks_file(tmp_path), tmp_path / "run"
    result = runner.invoke(app, ["check", str(data), "--check", str(checks), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload["checked"], payload["skipped"]) == (2, 0)
    labels = {c["label"]: c for c in payload["summary"]["labels"]}
    assert labels["failing_tool"]["trajectories"] == 1
    assert labels["misquoted"]["unverified"] == 2 and labels["misquoted"]["findings"] == 0
    assert payload["summary"]["failures"] == {"crashes": 2}
    assert (out / "summary.json").exists() and (out / "findings.parquet").exists()
    store = RunStore.read(out)
    assert store.kind == "check" and len(read_check_reports(store)) == 2

    again = runner.invoke(app, ["check", str(data), "--check", str(checks), "--out", str(out), "--json"])
    assert json.loads(again.stdout)["skipped"] == 2  # resumed: nothing to do

    shown = runner.invoke(app, ["show", str(out)])
    assert shown.exit_code == 0, shown.output
    assert "failing_tool (failing_tool) at step 1: 'lookup'" in shown.output
    assert "evidence does not hold: the quote does not occur in step 0" in shown.output
    as_json = json.loads(
        runner.invoke(app, ["show", str(out), "--output-format", "json", "--category", "failing_tool"]).output
    )
    assert [r["trajectory"]["id"] for r in as_json["reports"]] == ["a"]


def test_edited_checks_run_again_beside_the_old_results(tmp_path: Path) -> None:
    data, checks, out = _data(tmp_path), _checks_file(tmp_path), tmp_path / "run"
    runner.invoke(app, ["check", str(data), "--check", str(checks), "--out", str(out)])
    checks.write_text(checks.read_text().replace('note="failed"', 'note="failed!"'))
    result = runner.invoke(app, ["check", str(data), "--check", str(checks), "--out", str(out), "--json"])
    assert json.loads(result.stdout)["checked"] == 2
    reports = read_check_reports(RunStore.read(out))
    assert len(reports) == 2 and {
        f.note for r in reports for f in r.findings if f.label == "failing_tool"
    } == {"failed!"}
    assert len(RunStore.read(out).read_results(CheckReport)) == 4  # both versions kept


def test_workers_in_forked_processes_give_the_same_reports(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    many = [_trajectory(f"t{i}", fail=i % 3 == 0) for i in range(24)]
    (folder / "runs.jsonl").write_text("".join(t.model_dump_json() + "\n" for t in many))
    checks = _checks_file(tmp_path)
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"run{workers}"
        result = runner.invoke(app, ["check", str(folder), "-k", str(checks), "-o", str(out), "-j", workers])
        assert result.exit_code == 0, result.output
        outs.append(
            sorted(
                (r.trajectory.id, [f.label for f in r.findings])
                for r in read_check_reports(RunStore.read(out))
            )
        )
    assert outs[0] == outs[1] and len(outs[0]) == 24


def test_the_shipped_examples_run_over_the_loader_fixtures(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "claude_code_2.0.37", data / "claude")
    shutil.copytree(FIXTURES / "codex_0.46.0", data / "codex")
    result = runner.invoke(app, ["check", str(data), "--out", str(tmp_path / "run"), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["checks"] == [
        "answer_not_in_tool_output",
        "repeated_failing_call",
        "state_change_without_confirmation",
        "success_claim_without_passing_tests",
    ]
    assert payload["checked"] == 2 and payload["summary"]["failures"] == {}
    assert payload["summary"]["with_findings"] == 0  # both sessions rerun the tests after the fix
