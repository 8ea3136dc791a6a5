"""AuditVerdict / AuditReport: labels must be in the taxonomy and quotes must be at the cited step."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from memex_audit.auditor import AuditReport, AuditVerdict, Producer
from memex_audit.auditor._report import audit_context
from memex_audit.taxonomy import load_taxonomy
from memex_audit.trajectory import Source, Trajectory, TrajectoryRef, evidence_problems
from tests.factories import memex_traj

MEMEX = load_taxonomy("memex")


def _target():
    t = memex_traj("t1", [("print(read_table('bulletin-1944-03', 'FD-1'))", "total 3,501")], answer="3531")
    return t.model_copy(update={"source": Source(file="runs/a.jsonl", format="native", line=7)})


def _verdict(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "primary": "execution",
        "evidence": [{"step": 2, "quote": "total 3,501"}],
        "faulty_step": 3,
        "explanation": "3,501 was retyped as 3531.",
        "confidence": 0.8,
    }
    return {**base, **changes}


def _checked(data: dict[str, object], target: Trajectory | None = None) -> AuditVerdict:
    """``data`` validated as the audit of ``target`` (default: ``_target()``) validates a submission."""
    return AuditVerdict.model_validate(data, context=audit_context(target or _target(), MEMEX))


def test_a_verdict_checked_against_its_trajectory_accepts_a_real_quote() -> None:
    verdict = _checked(_verdict())
    assert type(verdict) is AuditVerdict and verdict.primary == "execution"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"evidence": [{"step": 2, "quote": "total 3,531"}]}, "does not occur in step 2"),
        ({"evidence": [{"step": 40, "quote": "total"}]}, "step 40 does not exist"),
        ({"primary": "vibes"}, "'vibes' is not a category of 'memex'"),
        ({"secondary": ["execution"]}, "must not repeat the primary"),
        ({"evidence": []}, "needs at least one piece of evidence"),
        ({"faulty_step": 99}, "faulty_step 99 is out of range"),
    ],
)
def test_a_verdict_checked_against_its_trajectory_rejects_what_does_not_check(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        _checked(_verdict(**changes))


def test_one_verdict_class_checks_each_verdict_against_its_own_trajectory() -> None:
    other = memex_traj("t2", [("print(read_table('bulletin-1944-04', 'FD-1'))", "total 3,522.7")], answer="1")
    quote = {"evidence": [{"step": 2, "quote": "total 3,522.7"}]}
    assert _checked(_verdict(**quote), other).evidence[0].quote == "total 3,522.7"
    with pytest.raises(ValidationError, match="does not occur in step 2 of t1"):
        _checked(_verdict(**quote))
    # Without a context only the trajectory-free rules apply.
    assert AuditVerdict.model_validate(_verdict(primary="vibes")).primary == "vibes"


def test_unclassified_needs_no_evidence_but_an_explanation() -> None:
    assert _checked(_verdict(primary="unclassified", evidence=[])).primary == "unclassified"
    with pytest.raises(ValidationError):
        _checked(_verdict(primary="unclassified", evidence=[], explanation=""))


def test_whitespace_differences_in_quotes_are_tolerated() -> None:
    target = _target()
    assert (
        evidence_problems(
            AuditVerdict.model_validate(_verdict(evidence=[{"step": 2, "quote": "total   3,501"}])).evidence,
            target,
        )
        == []
    )


def test_report_references_the_trajectory_and_records_the_producer() -> None:
    target = _target()
    verdict = AuditVerdict.model_validate(_verdict())
    report = AuditReport.from_verdict(
        verdict, target, MEMEX, Producer(kind="offline", name="offline-signals/1")
    )
    assert report.trajectory == TrajectoryRef.of(target)
    ref = report.trajectory
    assert (ref.id, ref.task_id, ref.file, ref.format, ref.line) == (
        "t1",
        "officeqa-001",
        "runs/a.jsonl",
        "native",
        7,
    )
    assert (ref.outcome, ref.steps) == ("failed", len(target.steps))
    assert report.producer.cost_usd == 0.0
    dumped = report.model_dump_json()
    assert "submit(" not in dumped  # the trajectory's steps are referenced, never copied
    again = AuditReport.model_validate_json(dumped, context={"trajectory": target})
    assert again == report
    other = memex_traj("t1", [("print(1)", "nothing here")], answer="1")
    with pytest.raises(ValidationError, match="does not occur"):
        AuditReport.model_validate_json(dumped, context={"trajectory": other})


def test_a_list_of_findings_fills_the_labels_evidence_and_step() -> None:
    findings = {
        "findings": [
            {"category": "execution", "step": 2, "quote": "total 3,501", "note": "the value shown"},
            {"category": "interpretation", "step": 2, "quote": "3,501", "note": "read again"},
        ],
        "explanation": "3,501 was retyped as 3531.",
        "confidence": 0.8,
    }
    verdict = _checked(findings)
    assert (verdict.primary, verdict.secondary, verdict.faulty_step) == ("execution", ["interpretation"], 2)
    assert [e.quote for e in verdict.evidence] == ["total 3,501", "3,501"]
    wrong = {**findings, "findings": [{"category": "execution", "step": 2, "quote": "total 3,531"}]}
    with pytest.raises(ValidationError, match="does not occur in step 2"):
        _checked(wrong)
    unknown = {**findings, "findings": [{"category": "vibes", "step": 2, "quote": "3,501"}]}
    with pytest.raises(ValidationError, match="'vibes' is not a category"):
        _checked(unknown)
