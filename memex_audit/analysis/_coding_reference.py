"""Reference judgements for coding rollouts: consistency with the grading evidence, and labels from
people's failure analyses.

A coding rollout carries its own grade (the test report, the submitted patch, how the run ended), so
every label an audit gives it can be checked against that evidence: ``broke_existing_tests`` needs a
previously passing test that fails, ``modified_tests`` a patch that changes tests, and so on. A
person's written failure analysis (one Markdown file per run, with a ``**Failure Type:**`` line)
gives a reference primary label, refined by the report where the person's type is the generic
"incorrect fix" (the report tells an incomplete fix or a regression apart).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from memex_audit.auditor import AuditReport
from memex_audit.errors import UsageError
from memex_audit.reading import CodingEvidence, coding_evidence
from memex_audit.trajectory import HumanLabel, Trajectory

_FAILURE_TYPE = re.compile(r"\*\*Failure Type:\*\*\s*(.+)")
_TYPE_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ran_out_of_steps", re.compile(r"empty submission|no (?:changes|patch)|ran out|gave up|limit", re.I)),
    (
        "modified_tests",
        re.compile(r"\btests?\b[^.]*\b(?:modif|creat|edit|chang)|instruction violation", re.I),
    ),
    ("modified_config", re.compile(r"\bconfig", re.I)),
    ("environment_failure", re.compile(r"environment|dependenc|build fail", re.I)),
    ("wrong_location", re.compile(r"wrong (?:file|location|place)", re.I)),
    ("incomplete_fix", re.compile(r"incomplete|partial", re.I)),
    ("incorrect_fix", re.compile(r"incorrect|wrong fix|fix logic", re.I)),
)


def label_consistent(label: str, evidence: CodingEvidence) -> bool | None:
    """Whether the grading evidence carries ``label`` (``None``: the evidence cannot tell)."""
    report, patch, end = evidence.report, evidence.patch, evidence.end
    if label == "modified_tests":
        return patch.touches_tests
    if label == "modified_config":
        return patch.touches_config
    if label == "ran_out_of_steps":
        return patch.empty or end.hit_limit
    if label == "wrong_location":
        return None
    if report is None:
        return None
    if label == "incorrect_fix":
        return report.fail_to_pass.failed > 0
    if label == "incomplete_fix":
        return report.fix_partial
    if label == "broke_existing_tests":
        return report.broke_passing_tests
    if label == "environment_failure":
        return report.patch_applied is False
    return None


class CodingConsistency(BaseModel):
    """How an audit's labels on coding rollouts hold against the rollouts' own grading evidence.

    Attributes:
        audited: Audited coding rollouts (those carrying a test report or a patch).
        unclassified: Of those, how many got no label.
        labels: Labels given (primary and secondary) that the evidence can check.
        consistent: Of those, how many it carries.
        unverifiable: Labels the evidence cannot check (``wrong_location``, no report).
        by_label: ``{label: [given, consistent]}``.
        regressions: Rollouts whose report shows a previously passing test failing.
        regressions_flagged: Of those, how many carry ``broke_existing_tests`` (primary or secondary).
    """

    model_config = ConfigDict(extra="forbid")

    audited: int = 0
    unclassified: int = 0
    labels: int = 0
    consistent: int = 0
    unverifiable: int = 0
    by_label: dict[str, list[int]] = Field(default_factory=dict)
    regressions: int = 0
    regressions_flagged: int = 0

    @property
    def consistent_share(self) -> float | None:
        """Share of checkable labels the evidence carries."""
        return self.consistent / self.labels if self.labels else None

    @property
    def unclassified_share(self) -> float | None:
        """Share of audited coding rollouts left unclassified."""
        return self.unclassified / self.audited if self.audited else None

    @property
    def regressions_recall(self) -> float | None:
        """Share of rollouts with a regression that the audit flags as ``broke_existing_tests``."""
        return self.regressions_flagged / self.regressions if self.regressions else None


def coding_consistency(
    reports: Sequence[AuditReport], trajectories: Iterable[Trajectory]
) -> CodingConsistency:
    """Check every label of ``reports`` on coding rollouts against the rollouts' grading evidence."""
    by_id = {t.id: t for t in trajectories}
    out = CodingConsistency()
    for report in reports:
        trajectory = by_id.get(report.trajectory.id)
        evidence = coding_evidence(trajectory) if trajectory is not None else None
        if evidence is None:
            continue
        out.audited += 1
        labels = [] if report.primary == "unclassified" else [report.primary, *report.secondary]
        if not labels:
            out.unclassified += 1
        for label in labels:
            verdict = label_consistent(label, evidence)
            counts = out.by_label.setdefault(label, [0, 0])
            counts[0] += 1
            if verdict is None:
                out.unverifiable += 1
                continue
            out.labels += 1
            if verdict:
                out.consistent += 1
                counts[1] += 1
        if evidence.report is not None and evidence.report.broke_passing_tests:
            out.regressions += 1
            out.regressions_flagged += "broke_existing_tests" in labels
    return out


def read_failure_analyses(folder: str | Path) -> dict[str, str]:
    """People's failure types by instance: ``<instance>.md`` files with a ``**Failure Type:**`` line.

    Raises:
        UsageError: The folder does not exist.
    """
    root = Path(folder)
    if not root.is_dir():
        raise UsageError(f"{root}: not a folder of failure analyses")
    types: dict[str, str] = {}
    for path in sorted(root.glob("*.md")):
        match = _FAILURE_TYPE.search(path.read_text(encoding="utf-8", errors="replace"))
        if match:
            types[path.stem] = match.group(1).strip()
    return types


def category_of_failure_type(text: str, evidence: CodingEvidence | None) -> str | None:
    """The coding category a person's failure type names; a generic "incorrect fix" is refined by
    the report into ``incomplete_fix`` (some target tests pass) or ``broke_existing_tests`` (all
    target tests pass, others broke)."""
    category = next((c for c, pattern in _TYPE_WORDS if pattern.search(text)), None)
    if category == "incorrect_fix" and evidence is not None and evidence.report is not None:
        report = evidence.report
        if report.fix_partial:
            return "incomplete_fix"
        if report.fail_to_pass.failed == 0 and report.broke_passing_tests:
            return "broke_existing_tests"
    return category


def coding_reference_labels(
    trajectories: Iterable[Trajectory], analyses: Mapping[str, str]
) -> dict[str, HumanLabel]:
    """Reference labels by trajectory id, from people's failure types (keyed by task id)."""
    labels: dict[str, HumanLabel] = {}
    for t in trajectories:
        text = analyses.get(t.task_id)
        if text is None:
            continue
        category = category_of_failure_type(text, coding_evidence(t))
        if category is not None:
            labels[t.id] = HumanLabel(category=category, taxonomy="coding", reason=text, annotator="analysis")
    return labels


def type_counts(labels: Mapping[str, HumanLabel]) -> Counter[str]:
    """How many reference labels of each category."""
    return Counter(label.category or "?" for label in labels.values())
