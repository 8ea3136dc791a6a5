"""What a verdict rests on, and how it compares with the human label a rollout carries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from memex_audit.auditor import AuditReport
from memex_audit.taxonomy import UNCLASSIFIED
from memex_audit.trajectory import HumanLabel

Attribution = Literal["finding", "guess"]


def attribution_of(report: AuditReport) -> Attribution | None:
    """What the faulty step and agent rest on: the report's own ``attribution`` when it records one;
    for older reports, ``guess`` when the verdict is ``unclassified`` (its step is positional) and
    ``finding`` otherwise. ``None`` when the report names no faulty step or agent."""
    if report.faulty_step is None and report.faulty_agent is None:
        return None
    if report.attribution is not None:
        return report.attribution
    return "guess" if report.primary == UNCLASSIFIED else "finding"


@dataclass(frozen=True)
class LabelMark:
    """One point of comparison between a verdict and a human label.

    Attributes:
        what: ``agent``, ``step`` or ``category``.
        label: The human label's value.
        verdict: The verdict's value.
        agrees: Whether they are the same (agents and categories compared without case).
    """

    what: Literal["agent", "step", "category"]
    label: str
    verdict: str | None
    agrees: bool


def label_marks(report: AuditReport, label: HumanLabel) -> list[LabelMark]:
    """The verdict against ``label`` on each point the label states."""
    marks = []
    if label.faulty_agent:
        verdict = report.faulty_agent
        agrees = verdict is not None and verdict.casefold() == label.faulty_agent.casefold()
        marks.append(LabelMark("agent", label.faulty_agent, verdict, agrees))
    if label.faulty_step is not None:
        step = report.faulty_step
        marks.append(
            LabelMark(
                "step", str(label.faulty_step), None if step is None else str(step), step == label.faulty_step
            )
        )
    if label.category and (label.taxonomy is None or label.taxonomy == report.taxonomy):
        agrees = report.primary.casefold() == label.category.casefold()
        marks.append(LabelMark("category", label.category, report.primary, agrees))
    return marks


def disagrees(reports: Sequence[AuditReport], labels: Sequence[HumanLabel]) -> bool:
    """Whether any verdict disagrees with any label on any point."""
    return any(not m.agrees for r in reports for lb in labels for m in label_marks(r, lb))
