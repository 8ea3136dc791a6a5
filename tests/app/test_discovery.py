"""Finding run folders from arguments and MEMEX_AUDIT_RUNS; the workspace built from them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from memex_audit.app import RUNS_ENV, discover_runs, load_workspace, paths_from_env, run_fingerprint
from memex_audit.app._audits import read_audit_results
from memex_audit.app._state import requested_paths
from memex_audit.auditor import AuditReport
from memex_audit.runs import RunFailure, RunStore
from tests.app.conftest import PLANTED_ID, AppRuns


def test_env_paths_split_on_the_path_separator() -> None:
    env = {RUNS_ENV: f"/a{os.pathsep}{os.pathsep}/b c{os.pathsep} "}
    assert paths_from_env(env) == ["/a", "/b c"]
    assert paths_from_env({}) == []


def test_run_folders_found_at_and_under_the_paths(tmp_path: Path) -> None:
    RunStore.open(tmp_path / "week1" / "audit", "audit", {"path": "nowhere"})
    RunStore.open(tmp_path / "week2" / "audit", "audit")
    RunStore.open(tmp_path / "week2" / "bon", "aggregate")
    (tmp_path / "empty").mkdir()
    found = discover_runs([tmp_path, tmp_path / "week2" / "bon", tmp_path / "empty", tmp_path / "missing"])
    assert [r.name for r in found.runs] == ["week1/audit", "week2/audit", "bon"]
    assert [r.kind for r in found.runs] == ["audit", "audit", "aggregate"]
    assert found.runs[0].inputs == ()  # the recorded input does not exist
    assert len(found.problems) == 2
    assert "no run folder here" in found.problems[0] and "no such folder" in found.problems[1]


def test_a_broken_manifest_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.json").write_text("{}")
    found = discover_runs([tmp_path])
    assert found.runs == [] and "invalid manifest" in found.problems[0]


def test_fingerprint_changes_when_a_run_gains_results(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path / "run", "audit")
    runs = discover_runs([tmp_path]).runs
    before = run_fingerprint(runs)
    store.append_error(RunFailure(key="k", kind="internal", message="m"))
    assert run_fingerprint(runs) != before


def test_command_line_paths_only_when_the_app_is_the_program(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RUNS_ENV, "/from/env")
    app = "/x/apps/streamlit_app.py"
    assert requested_paths([app, "/runs/a", "--flag"], app) == ["/runs/a", "/from/env"]
    assert requested_paths(["pytest", "tests/app"], app) == ["/from/env"]


def test_workspace_reads_results_and_the_rollouts_behind_them(app_runs: AppRuns) -> None:
    ws = load_workspace(discover_runs([app_runs.root]))
    assert ws.problems == []
    assert ws.table.height == 96
    planted = ws.trajectory(PLANTED_ID)
    assert planted is not None and planted.task_id == "officeqa-002"
    assert {t.id for t in ws.task("officeqa-002")} >= {PLANTED_ID}
    audited = ws.audit_rows.height
    failed_officeqa = ws.table.filter(
        (ws.table["outcome"] == "failed") & ws.table["task_id"].str.starts_with("officeqa")
    ).height
    # every failed OfficeQA rollout is a verdict or "not audited"; best-of-N rollouts are not counted
    failed_rows = ws.failures.filter(ws.failures["outcome"] == "failed")
    assert failed_rows.height == failed_officeqa
    assert failed_rows.filter(failed_rows["run"].is_not_null()).height == audited
    assert ws.taxonomy_ids["memex"][:2] == ["source_selection", "interpretation"]
    assert ws.runs_frame().height == 2
    no_inputs = load_workspace(discover_runs([app_runs.root]), load_trajectories=False)
    assert no_inputs.table.height == 0 and no_inputs.failures.height == audited


def test_run_errors_are_listed_with_their_cause(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path / "audit", "audit")
    store.append_error(
        RunFailure(key="t-1", kind="timeout", message="block ran 30s", file="a.jsonl", line=3, final=False)
    )
    ws = load_workspace(discover_runs([tmp_path]))
    rows = ws.errors_frame().to_dicts()
    assert len(rows) == 1
    assert rows[0] == {
        "run": "audit",
        "key": "t-1",
        "kind": "timeout",
        "message": "block ran 30s",
        "file": "a.jsonl",
        "line": 3,
        "final": False,
    }
    assert ws.failures.height == 0 and ws.problems == []


def test_a_check_run_is_named_as_not_shown_yet_and_read_with_show(tmp_path: Path) -> None:
    RunStore.open(tmp_path / "checks", "check", {"path": "x"}).close()
    ws = load_workspace(discover_runs([tmp_path]))
    assert ws.audits == {} and ws.aggregates == {}
    assert len(ws.problems) == 1 and "a check run" in ws.problems[0] and "memex-audit show" in ws.problems[0]


def test_the_parquet_export_and_the_results_give_the_same_table_and_reports(
    app_runs: AppRuns, tmp_path: Path
) -> None:
    fast = read_audit_results(RunStore.read(app_runs.audit))
    assert fast.from_export, "the CLI's audit.parquet is newer than results.jsonl"
    copy = tmp_path / "audit"
    shutil.copytree(app_runs.audit, copy)
    (copy / "audit.parquet").unlink()
    slow = read_audit_results(RunStore.read(copy))
    assert not slow.from_export
    assert fast.frame.equals(slow.frame)
    ids = fast.frame["trajectory_id"].to_list()
    for tid in [ids[0], ids[-1], PLANTED_ID]:
        assert [r.model_dump() for r in fast.reports_for(tid)] == [
            r.model_dump() for r in slow.reports_for(tid)
        ]
    assert fast.reports_for("no-such-id") == []


def test_a_stale_export_is_not_used(app_runs: AppRuns, tmp_path: Path) -> None:
    copy = tmp_path / "audit"
    shutil.copytree(app_runs.audit, copy)
    store = RunStore.read(copy)
    report = store.read_results(AuditReport)[0]
    store.append_result(
        "late", report.model_copy(update={"trajectory": report.trajectory.model_copy(update={"id": "late"})})
    )
    results = read_audit_results(store)
    assert not results.from_export and "late" in results.frame["trajectory_id"].to_list()
    assert len(results.reports_for("late")) == 1


def test_inputs_are_read_with_the_runs_glob_and_kept_once(app_runs: AppRuns, tmp_path: Path) -> None:
    """An audit of the *.jsonl files beside other files counts only what it read; a rollout that two
    runs read appears once."""
    rollouts = tmp_path / "rollouts"
    shutil.copytree(app_runs.rollouts, rollouts)
    (rollouts / "officeqa" / "extra.json").write_text(
        '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],'
        ' "id": "extra", "task_id": "officeqa-001", "correct": false}'
    )
    for kind, path, glob in (("audit", rollouts, "*.jsonl"), ("aggregate", rollouts / "officeqa", None)):
        config = {"path": str(path), "glob": glob, "format": None}
        RunStore.open(tmp_path / "runs" / kind, kind, config)  # type: ignore[arg-type]
    ws = load_workspace(discover_runs([tmp_path / "runs"]))
    ids = ws.table["trajectory_id"].to_list()
    assert len(ids) == len(set(ids)) == 97, "96 rollouts once each, and the extra one"
    failures = ws.failures
    assert "extra" not in failures["trajectory_id"].to_list(), "the audit's glob did not read it"
    assert failures.height == 96
