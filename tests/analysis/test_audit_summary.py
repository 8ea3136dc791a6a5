"""Audit summaries: breakdowns by harness and model, and agreement with human labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from memex_audit.analysis._audit_agreement import (
    attribution_agreement,
    audit_agreement,
    category_agreement,
    cohen_kappa,
    read_label_file,
    split_of,
)
from memex_audit.analysis._audit_summary import audit_frame, breakdown_table, summarize_audit
from memex_audit.auditor import AuditReport, Producer
from memex_audit.errors import UsageError
from memex_audit.trajectory import HumanLabel, TrajectoryRef


def _report(
    i: int, primary: str, harness: str, model: str = "m", step: int | None = None, agent: str | None = None
) -> AuditReport:
    return AuditReport(
        trajectory=TrajectoryRef(id=f"t{i}", task_id=f"task{i % 2}"),
        harness=harness,
        model=model,
        taxonomy="memex",
        primary=primary,
        evidence=[] if primary == "unclassified" else [{"step": 0, "quote": "x"}],  # type: ignore[list-item]
        faulty_step=step,
        faulty_agent=agent,
        explanation="e",
        confidence=0.5,
        producer=Producer(kind="offline", name="offline-signals/1"),
    )


def test_breakdown_by_harness_counts_and_percent() -> None:
    reports = [
        _report(0, "source_selection", "memex"),
        _report(1, "source_selection", "tool_calling"),
        _report(2, "execution", "tool_calling"),
        _report(3, "interpretation", "tool_calling"),
        _report(4, "source_selection", "tool_calling", model="other"),
    ]
    table = breakdown_table(
        audit_frame(reports),
        "harness",
        ["source_selection", "interpretation", "search_strategy", "execution"],
    )
    rows = {r["category"]: r for r in table.iter_rows(named=True)}
    assert list(rows) == ["source_selection", "interpretation", "execution", "total"]
    assert rows["source_selection"]["memex n"] == 1
    assert rows["source_selection"]["memex %"] == 100.0
    assert rows["source_selection"]["tool_calling n"] == 2
    assert rows["source_selection"]["tool_calling %"] == 50.0
    assert rows["source_selection"]["total %"] == 60.0
    assert rows["total"]["total n"] == 5
    summary = summarize_audit(reports, errors=1)
    assert summary.by_model == {
        "m": {"source_selection": 2, "execution": 1, "interpretation": 1},
        "other": {"source_selection": 1},
    }
    assert summary.audited == 5 and summary.errors == 1
    assert sum(t.audited for t in summary.tasks) == 5
    # Tasks in id order, each with its own counts.
    assert [(t.task_id, t.audited, t.categories) for t in summary.tasks] == [
        ("task0", 3, {"source_selection": 2, "execution": 1}),
        ("task1", 2, {"source_selection": 1, "interpretation": 1}),
    ]
    assert summarize_audit(reports, errors=1, frame=audit_frame(reports)) == summary


def test_category_agreement_metrics() -> None:
    gold = {"a": "x", "b": "x", "c": "y", "d": "y"}
    pred = {"a": "x", "b": "y", "c": "y", "d": "y"}
    agreement = category_agreement(gold, pred)
    assert agreement.accuracy == 0.75
    scores = {s.category: s for s in agreement.per_class}
    assert scores["x"].precision == 1.0 and scores["x"].recall == 0.5
    assert scores["y"].precision == pytest.approx(2 / 3, abs=1e-4) and scores["y"].recall == 1.0
    # po = 0.75, pe = (2*1 + 2*3) / 16 = 0.5, kappa = 0.5
    assert agreement.cohen_kappa == 0.5
    assert agreement.confusion == {"x": {"x": 1, "y": 1}, "y": {"y": 2}}
    assert cohen_kappa(["x", "x"], ["x", "x"]) == 1.0


def test_attribution_exact_and_within_one() -> None:
    gold = {
        "t0": HumanLabel(faulty_agent="WebSurfer", faulty_step=4),
        "t1": HumanLabel(faulty_agent="Orchestrator", faulty_step=10),
        "t2": HumanLabel(faulty_agent="Coder", faulty_step=2),
    }
    predicted = {
        "t0": _report(0, "unclassified", "ag2", step=4, agent="websurfer"),
        "t1": _report(1, "unclassified", "ag2", step=11, agent="WebSurfer"),
        "t2": _report(2, "unclassified", "ag2", step=7, agent=None),
    }
    result = attribution_agreement(gold, predicted)
    assert result.agent_accuracy == pytest.approx(1 / 3, abs=1e-4)
    assert result.step_accuracy == pytest.approx(1 / 3, abs=1e-4)
    assert result.step_within_1 == pytest.approx(2 / 3, abs=1e-4)


def test_label_files_csv_and_json(tmp_path: Path) -> None:
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text("trajectory_id,category,faulty_step\nt0,execution,3\nt1,interpretation,\n")
    labels = read_label_file(csv_file)
    assert labels["t0"].category == "execution" and labels["t0"].faulty_step == 3
    assert labels["t1"].faulty_step is None
    json_file = tmp_path / "labels.json"
    json_file.write_text(
        '{"t0": "execution", "t1": {"category": "interpretation", "mistake_agent": "A", "mistake_step": "2"}}'
    )
    labels = read_label_file(json_file)
    assert labels["t1"].faulty_agent == "A" and labels["t1"].faulty_step == 2
    (tmp_path / "bad.csv").write_text("name,category\nt0,x\n")
    with pytest.raises(UsageError, match="trajectory_id"):
        read_label_file(tmp_path / "bad.csv")


def test_agreement_on_a_split_is_stable_and_disjoint() -> None:
    ids = [f"t{i}" for i in range(40)]
    assert [split_of(i) for i in ids] == [split_of(i) for i in ids]
    reports = [_report(i, "execution", "memex") for i in range(40)]
    labels = {i: HumanLabel(category="execution") for i in ids}
    dev = audit_agreement(reports, labels, labels_from="x", split="dev")
    test = audit_agreement(reports, labels, labels_from="x", split="test")
    assert dev.matched + test.matched == 40
    assert 0 < dev.matched < 40
    assert dev.categories is not None and dev.categories.accuracy == 1.0


def test_importing_the_package_imports_none_of_its_modules() -> None:
    # The audit command imports the summary while its last audits run: not the best-of-N tables.
    import subprocess
    import sys

    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, memex_audit.analysis as a\n"
            "before = sorted(m for m in sys.modules if m.startswith('memex_audit.analysis.') or m == 'polars')\n"
            "a.summarize_audit\n"
            "after = 'memex_audit.aggregator' in sys.modules, 'memex_audit.analysis._audit_summary' in sys.modules\n"
            "print(before, after)",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.stdout.strip() == "[] (False, True)", probe.stderr
