"""Which rollouts an audit takes: outcomes (ungraded too), fields, ids, a limit or a seeded sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memex_audit.auditor import AuditSelection, plan_audit
from memex_audit.cli import app
from memex_audit.errors import UsageError
from memex_audit.loaders import load, write_jsonl
from memex_audit.trajectory import Outcome, outcome_of
from tests.auditor.test_runner import _collection

ROOT = Path(__file__).resolve().parents[2]


def test_the_default_takes_failed_rollouts_and_where_narrows_by_field() -> None:
    trajs = _collection()
    failed = [t for t in trajs if outcome_of(t) == "failed"]
    units, left_out = plan_audit(trajs)
    assert len(units) == len(failed) and left_out == len(trajs) - len(failed)
    one_task = AuditSelection.parse([f"task={trajs[0].task_id}", "outcome=any"])
    assert {u.trajectory.task_id for u in plan_audit(trajs, one_task)[0]} == {trajs[0].task_id}
    assert len(plan_audit(trajs, one_task)[0]) == sum(t.task_id == trajs[0].task_id for t in trajs)
    with pytest.raises(UsageError, match="FIELD one of"):
        AuditSelection.parse(["colour=red"])
    with pytest.raises(UsageError, match="outcome is failed, correct, ungraded"):
        AuditSelection.parse(["outcome=broken"])


def test_limit_and_a_seeded_sample_are_stable() -> None:
    trajs = _collection()
    first = plan_audit(trajs, AuditSelection(limit=2))[0]
    assert [u.key for u in first] == [u.key for u in plan_audit(trajs)[0][:2]]
    a = {u.key for u in plan_audit(trajs, AuditSelection(sample=3, seed=7))[0]}
    b = {u.key for u in plan_audit(trajs, AuditSelection(sample=3, seed=7))[0]}
    assert a == b and len(a) == 3


def test_an_ungraded_folder_is_audited_on_request_and_the_reports_say_so(tmp_path: Path) -> None:
    rollouts = load(ROOT / "sample_trajectories", glob="*.jsonl").trajectories[:60]
    ungraded = [t.model_copy(update={"outcome": Outcome(), "ground_truth": None}) for t in rollouts]
    data = tmp_path / "ungraded.jsonl"
    write_jsonl(ungraded, data)
    runner = CliRunner()
    nothing = runner.invoke(app, ["audit", str(data), "--out", str(tmp_path / "none"), "--dry-run"])
    assert "would audit 0 selected" in nothing.output
    run = tmp_path / "run"
    result = runner.invoke(
        app, ["audit", str(data), "--out", str(run), "--where", "outcome=ungraded", "--limit", "20", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["audited"] == 20
    lines = [json.loads(line)["record"] for line in (run / "results.jsonl").read_text().splitlines()]
    assert len(lines) == 20 and all(r["graded"] == "ungraded" for r in lines)
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(t.id for t in ungraded[:3]))
    picked = runner.invoke(
        app,
        [
            "audit",
            str(data),
            "--out",
            str(tmp_path / "ids"),
            "--where",
            "outcome=any",
            "--ids",
            str(ids),
            "--json",
        ],
    )
    assert json.loads(picked.stdout)["audited"] == 3
