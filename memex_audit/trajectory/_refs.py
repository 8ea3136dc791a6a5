"""What every judgement about a trajectory cites: a reference to the trajectory (never a copy) and
evidence quoted from its steps, checked to be there.

Audits, answers to questions and checks all persist these, so they are read the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from memex_audit.trajectory._models import Trajectory

OutcomeName = Literal["failed", "correct", "ungraded"]


class _Graded(Protocol):
    @property
    def success(self) -> bool | None: ...


def outcome_of(trajectory: _Graded) -> OutcomeName:
    """``failed``, ``correct`` or ``ungraded`` (no grade at all), of a trajectory or of anything
    that carries its grade (an index entry)."""
    success = trajectory.success
    return "ungraded" if success is None else "correct" if success else "failed"


class TrajectoryRef(BaseModel):
    """Which trajectory a judgement is about: enough to find it again, never a copy.

    Attributes:
        id: The trajectory id.
        task_id: Its task.
        model: The model that drove it.
        harness: The harness that ran it.
        outcome: ``correct``, ``failed`` or ``ungraded``.
        steps: How many steps it has.
        file: The file it was read from.
        format: The format that read it.
        line: 1-based line in a line-oriented file.
        position: 0-based position of the record in a file that holds several.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    task_id: str
    model: str | None = None
    harness: str | None = None
    outcome: OutcomeName | None = None
    steps: int | None = None
    file: str | None = None
    format: str | None = None
    line: int | None = None
    position: int | None = None

    @classmethod
    def of(cls, trajectory: Trajectory) -> TrajectoryRef:
        """The reference to a loaded trajectory."""
        src = trajectory.source
        return cls(
            id=trajectory.id,
            task_id=trajectory.task_id,
            model=trajectory.model,
            harness=trajectory.harness,
            outcome=outcome_of(trajectory),
            steps=len(trajectory.steps),
            file=src.file if src else None,
            format=src.format if src else None,
            line=src.line if src else None,
            position=src.position if src else None,
        )


class Evidence(BaseModel):
    """A verbatim quote from one step of a trajectory that supports a judgement.

    Attributes:
        step: Index of the step in ``Trajectory.steps``.
        quote: Text that occurs verbatim in that step (``Step.contains``: whitespace runs compare as one).
        note: What the quote shows.
    """

    model_config = ConfigDict(extra="forbid")

    step: int = Field(ge=0)
    quote: str = Field(min_length=1, max_length=2000)
    note: str | None = None


def evidence_problems(evidence: Sequence[Evidence], trajectory: Trajectory) -> list[str]:
    """Why each piece of evidence fails to check against ``trajectory`` (empty when all hold)."""
    problems = []
    for item in evidence:
        if item.step >= len(trajectory.steps):
            problems.append(
                f"evidence step {item.step} does not exist (trajectory {trajectory.id} has "
                f"{len(trajectory.steps)} steps, 0..{len(trajectory.steps) - 1})"
            )
        elif not trajectory.steps[item.step].contains(item.quote):
            problems.append(
                f"evidence quote {item.quote[:80]!r} does not occur in step {item.step} of "
                f"{trajectory.id}; quote text exactly as it appears in that step"
            )
    return problems
