"""What an audit produces: a verdict per failed trajectory, with evidence that is checked.

``AuditVerdict`` is what the auditing agent passes to ``submit()``. Validated with the context
``{"trajectory": t, "taxonomy": x}`` (the audit run's ``validation_context``), it rejects a category
the taxonomy does not have and a quote that is not at the cited step (the agent sees the error and
can correct it); one class checks every verdict against the trajectory of its own audit.
``AuditReport`` is the persisted record: the verdict, a reference to the trajectory (id, source file,
position, never a copy), and which policy or model produced it at what cost.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from memex_audit.taxonomy import UNCLASSIFIED, Taxonomy
from memex_audit.trajectory import Evidence, Trajectory, TrajectoryRef, Usage, evidence_problems, outcome_of


class Finding(BaseModel):
    """One error found in a trajectory: its category, where it is, and a quote that shows it.

    Attributes:
        category: Category id in the audit's taxonomy.
        step: Index of the step where the error enters the run.
        quote: Text copied exactly from that step.
        note: What the quote shows.
    """

    model_config = ConfigDict(extra="forbid")

    category: str
    step: int = Field(ge=0)
    quote: str = Field(min_length=1, max_length=2000)
    note: str | None = None


def _from_findings(data: Any) -> Any:
    """Fill ``primary``, ``secondary``, ``evidence`` and ``faulty_step`` from a list of findings (the
    primary finding first) when a verdict gives findings and leaves those out."""
    if not isinstance(data, dict) or not data.get("findings"):
        return data
    findings = [f if isinstance(f, dict) else f.model_dump() for f in data["findings"] if f is not None]
    if not findings or not all(isinstance(f, dict) for f in findings):
        return data
    out = dict(data)
    first = findings[0]
    if "primary" not in out and isinstance(first.get("category"), str):
        out["primary"] = first["category"]
    if "secondary" not in out:
        seen: list[str] = []
        for f in findings[1:]:
            category = f.get("category")
            if isinstance(category, str) and category != out.get("primary") and category not in seen:
                seen.append(category)
        out["secondary"] = seen
    if not out.get("evidence"):
        out["evidence"] = [
            {"step": f.get("step"), "quote": f.get("quote"), "note": f.get("note")} for f in findings
        ]
    if out.get("faulty_step") is None and isinstance(first.get("step"), int):
        out["faulty_step"] = first["step"]
    return out


class _VerdictFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    primary: str = Field(description="Category id of the main failure, or 'unclassified'.")
    secondary: list[str] = Field(default_factory=list, description="Other category ids that also apply.")
    evidence: list[Evidence] = Field(default_factory=list)
    faulty_step: int | None = Field(default=None, ge=0, description="Step where the failure happened.")
    faulty_agent: str | None = Field(default=None, description="Agent responsible (multi-agent runs).")
    attribution: Literal["finding", "guess"] | None = Field(
        default=None,
        description="What the faulty step and agent rest on: evidence ('finding') or a positional 'guess'.",
    )
    explanation: str = Field(
        min_length=1, description="Why; for 'unclassified', why nothing could be placed."
    )
    confidence: float = Field(ge=0.0, le=1.0)
    signals: list[str] = Field(default_factory=list, description="Offline signals that fired, if any.")
    findings: list[Finding] = Field(
        default_factory=list,
        description="Every error found (category, step, exact quote, note), the primary finding first.",
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_from_findings(cls, data: Any) -> Any:
        return _from_findings(data)

    def _check(self, trajectory: Trajectory | None, taxonomy: Taxonomy | None) -> None:
        problems: list[str] = []
        if self.primary != UNCLASSIFIED and not self.evidence:
            problems.append(f"primary category {self.primary!r} needs at least one piece of evidence")
        if self.primary in self.secondary:
            problems.append("secondary labels must not repeat the primary one")
        if taxonomy is not None:
            for label in dict.fromkeys([self.primary, *self.secondary, *(f.category for f in self.findings)]):
                if not taxonomy.is_category(label):
                    problems.append(
                        f"{label!r} is not a category of {taxonomy.name!r}: use one of {taxonomy.category_ids}"
                    )
        if trajectory is not None:
            problems += evidence_problems(self.evidence, trajectory)
            quoted = {(e.step, e.quote) for e in self.evidence}
            problems += evidence_problems(
                [
                    Evidence(step=f.step, quote=f.quote)
                    for f in self.findings
                    if (f.step, f.quote) not in quoted
                ],
                trajectory,
            )
            if self.faulty_step is not None and self.faulty_step >= len(trajectory.steps):
                problems.append(
                    f"faulty_step {self.faulty_step} is out of range (0..{len(trajectory.steps) - 1})"
                )
        if problems:
            raise ValueError("; ".join(problems))


class AuditVerdict(_VerdictFields):
    """The judgement on one failed trajectory, as the auditing agent submits it.

    Attributes:
        primary: Category id of the main failure; ``unclassified`` when no evidence places it.
        secondary: Other category ids that also apply.
        evidence: Quotes (step + verbatim text) supporting the labels; required unless unclassified.
        faulty_step: The step where the failure happened (attribution).
        faulty_agent: The agent responsible (attribution in multi-agent runs).
        explanation: The reasoning, in a few sentences.
        confidence: 0 to 1.
        signals: The offline signals that fired (offline policy only).
    """

    @model_validator(mode="after")
    def _check_against_target(self, info: ValidationInfo) -> AuditVerdict:
        trajectory, taxonomy = audit_target(info)
        self._check(trajectory, taxonomy)
        return self


def audit_context(trajectory: Trajectory, taxonomy: Taxonomy) -> dict[str, Any]:
    """The validation context that checks a verdict's labels against ``taxonomy`` and its quotes
    against ``trajectory``: ``AuditVerdict.model_validate(data, context=audit_context(t, x))``."""
    return {"trajectory": trajectory, "taxonomy": taxonomy}


def audit_target(info: ValidationInfo) -> tuple[Trajectory | None, Taxonomy | None]:
    """The trajectory and taxonomy a validation context names (``None`` for what it leaves out)."""
    context: dict[str, Any] = info.context if isinstance(info.context, dict) else {}
    return context.get("trajectory"), context.get("taxonomy")


class Producer(BaseModel):
    """The policy or model that produced a verdict, and what it cost.

    Attributes:
        kind: ``offline`` (deterministic signals) or ``llm``.
        name: ``offline-signals/<version>`` or the model name.
        usage: Tokens and cost of the agent run (zero for the offline policy).
        cost_usd: Cost in US dollars (0 offline; ``None`` when the model's price is unknown).
        turns: Agent turns the run took.
        stop_reason: How the agent run ended.
        run_id: Id of the agent run in the run folder's ``agent_runs.jsonl``.
        prompt_version: Version of the auditor prompt a model ran with (``None`` offline).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["offline", "llm"]
    name: str
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = 0.0
    turns: int = 0
    stop_reason: str | None = None
    run_id: str | None = None
    prompt_version: str | None = None


class AuditReport(_VerdictFields):
    """The persisted audit of one failed trajectory.

    Besides the verdict fields (see ``AuditVerdict``): what was audited (``trajectory`` reference,
    its harness and model), under which ``taxonomy``, and by whom (``producer``). When validated with
    ``context={"trajectory": t}`` the evidence is checked against ``t``.
    """

    kind: Literal["audit_report"] = "audit_report"
    trajectory: TrajectoryRef
    graded: Literal["failed", "correct", "ungraded"] | None = Field(
        default=None,
        description="The audited rollout's grade: an ungraded one was audited without a reference.",
    )
    harness: str | None = None
    model: str | None = None
    taxonomy: str
    producer: Producer
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @model_validator(mode="after")
    def _check_with_context(self, info: ValidationInfo) -> AuditReport:
        self._check(*audit_target(info))
        return self

    @property
    def task_id(self) -> str:
        """The audited trajectory's task."""
        return self.trajectory.task_id

    @classmethod
    def from_verdict(
        cls, verdict: AuditVerdict, trajectory: Trajectory, taxonomy: Taxonomy, producer: Producer
    ) -> AuditReport:
        """The persisted report for a verdict on ``trajectory`` (evidence re-checked against it)."""
        fields: dict[str, Any] = verdict.model_dump(include=set(_VerdictFields.model_fields))
        return cls.model_validate(
            {
                **fields,
                "trajectory": TrajectoryRef.of(trajectory).model_dump(),
                "graded": outcome_of(trajectory),
                "harness": trajectory.harness,
                "model": trajectory.model,
                "taxonomy": taxonomy.name,
                "producer": producer.model_dump(),
            },
            context=audit_context(trajectory, taxonomy),
        )
