"""What an ask run records: one typed answer per trajectory, with verified evidence, and its totals."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from statistics import median
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from memex_audit.ask._answer import AnswerType
from memex_audit.trajectory import Evidence, OutcomeName, Trajectory, TrajectoryRef, Usage, evidence_problems

Outcome = OutcomeName


AskedTrajectory = TrajectoryRef
"""Which trajectory an answer is about (``memex_audit.trajectory.TrajectoryRef``)."""


class AskProducer(BaseModel):
    """The model that answered, and what it cost.

    Attributes:
        name: The model name.
        usage: Tokens and cost of the agent run.
        cost_usd: Cost in US dollars (``None`` when the model's price is unknown).
        turns: Agent turns the run took.
        stop_reason: How the agent run ended.
        run_id: Id of the agent run in the run folder's ``agent_runs.jsonl``.
        prompt_version: Version of the ask prompt the model ran with.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = 0.0
    turns: int = 0
    stop_reason: str | None = None
    run_id: str | None = None
    prompt_version: str | None = None


class AskResult(BaseModel):
    """The answer to a question about one trajectory, as an ask run persists it.

    The answer is re-validated against ``answer_type`` on read; when validated with
    ``context={"trajectory": t}`` the evidence is checked against ``t``.

    Attributes:
        question: The question, as asked.
        answer_type: ``bool``, ``label:a,b,c``, ``number`` or ``text``.
        answer: The answer; ``None`` when the trajectory does not show it.
        evidence: The quotes it rests on, each checked against its step when it was submitted.
        explanation: The model's reasons (for ``None``, what it checked).
        trajectory: Which trajectory was asked about.
        producer: The model, its usage and cost.
        created_at: When the answer was recorded (UTC).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["ask_result"] = "ask_result"
    question: str
    answer_type: str
    answer: bool | float | str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    explanation: str = Field(min_length=1)
    trajectory: AskedTrajectory
    producer: AskProducer
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @model_validator(mode="after")
    def _typed_and_checked(self, info: ValidationInfo) -> AskResult:
        # bool | float | str alone would read a label "1" or a number 1 ambiguously: the type decides.
        self.answer = AnswerType.parse(self.answer_type).validate_answer(self.answer)
        context = info.context if isinstance(info.context, dict) else {}
        trajectory = context.get("trajectory")
        if isinstance(trajectory, Trajectory):
            problems = evidence_problems(self.evidence, trajectory)
            if problems:
                raise ValueError("; ".join(problems))
        return self

    @property
    def answer_text(self) -> str:
        """The answer as people read it (``true``/``false``, the label, the number, the text, or ``-``)."""
        return answer_label(self.answer)


def answer_label(answer: bool | float | str | None) -> str:
    """An answer as one word: ``true``/``false``, the label, the number (``g`` format), the text, or ``-``."""
    if answer is None:
        return "-"
    if isinstance(answer, bool):
        return "true" if answer else "false"
    if isinstance(answer, float):
        return f"{answer:g}"
    return answer


class NumberStats(BaseModel):
    """The spread of number answers."""

    model_config = ConfigDict(extra="forbid")

    n: int
    mean: float
    median: float
    min: float
    max: float


class AskSummary(BaseModel):
    """The totals of an ask run.

    Attributes:
        question: The question.
        answer_type: Its answer type.
        model: The model that answered.
        trajectories: Trajectories with an answer recorded.
        answered: Of those, answers that are not ``None``.
        unanswered: Answers ``None`` (the trajectory does not show it).
        errors: Trajectories that could not be answered (recorded in ``errors.jsonl``).
        load_errors: Files or records that could not be loaded.
        counts: For ``bool`` and ``label`` answers, how often each answer was given (``-`` for ``None``).
        numbers: For ``number`` answers, their spread.
        cost_usd: What the answers cost (known prices only).
    """

    model_config = ConfigDict(extra="forbid")

    question: str
    answer_type: str
    model: str | None = None
    trajectories: int = 0
    answered: int = 0
    unanswered: int = 0
    errors: int = 0
    load_errors: int = 0
    counts: dict[str, int] = Field(default_factory=dict)
    numbers: NumberStats | None = None
    cost_usd: float = 0.0


def summarize_answers(
    results: Sequence[AskResult],
    *,
    question: str,
    answer_type: str,
    model: str | None = None,
    errors: int = 0,
    load_errors: int = 0,
) -> AskSummary:
    """Counts of the answers (per value for ``bool`` and ``label``; the spread for ``number``)."""
    kind = AnswerType.parse(answer_type).kind
    answered = [r for r in results if r.answer is not None]
    counts: dict[str, int] = {}
    if kind in ("bool", "label"):
        counts = dict(Counter(r.answer_text for r in results).most_common())
    numbers = None
    values = [float(r.answer) for r in answered if isinstance(r.answer, int | float)]
    if kind == "number" and values:
        numbers = NumberStats(
            n=len(values),
            mean=sum(values) / len(values),
            median=median(values),
            min=min(values),
            max=max(values),
        )
    return AskSummary(
        question=question,
        answer_type=answer_type,
        model=model,
        trajectories=len(results),
        answered=len(answered),
        unanswered=len(results) - len(answered),
        errors=errors,
        load_errors=load_errors,
        counts=counts,
        numbers=numbers,
        cost_usd=round(sum(r.producer.cost_usd or 0.0 for r in results), 6),
    )


def answers_frame(results: Sequence[AskResult]) -> pl.DataFrame:
    """One row per answer: the trajectory, the answer (as text, and as a number when it is one),
    how much evidence it cites, the explanation and the cost."""
    rows: list[dict[str, Any]] = [
        {
            "trajectory_id": r.trajectory.id,
            "task_id": r.trajectory.task_id,
            "model": r.trajectory.model,
            "harness": r.trajectory.harness,
            "outcome": r.trajectory.outcome,
            "file": r.trajectory.file,
            "answer": None if r.answer is None else r.answer_text,
            "answer_number": float(r.answer)
            if isinstance(r.answer, int | float) and not isinstance(r.answer, bool)
            else None,
            "evidence": len(r.evidence),
            "first_step": r.evidence[0].step if r.evidence else None,
            "explanation": r.explanation,
            "cost_usd": r.producer.cost_usd,
            "turns": r.producer.turns,
        }
        for r in results
    ]
    schema = {
        "trajectory_id": pl.String,
        "task_id": pl.String,
        "model": pl.String,
        "harness": pl.String,
        "outcome": pl.String,
        "file": pl.String,
        "answer": pl.String,
        "answer_number": pl.Float64,
        "evidence": pl.Int64,
        "first_step": pl.Int64,
        "explanation": pl.String,
        "cost_usd": pl.Float64,
        "turns": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema)
