"""What a check run records: findings with verified evidence, one report per trajectory."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from memex_audit.trajectory import Trajectory, TrajectoryRef


class Finding(BaseModel):
    """Something a check found in a trajectory, with the evidence for it.

    A check returns findings with ``label``, ``step``, ``quote`` and ``note``; the runner fills in
    ``check`` and ``verified``, and ``problem`` when the evidence does not hold.

    Attributes:
        label: What was found (``success_claim_without_passing_tests``…), a short identifier.
        step: Index of the step that shows it, when one does.
        quote: Text that occurs verbatim in that step (``Step.contains``: whitespace runs compare as
            one), the evidence.
        note: What the quote shows, in words.
        check: The check that made the finding.
        verified: Whether the quote occurs in the step; ``None`` when there is no quote to verify.
        problem: Why the evidence does not hold, when it does not.
    """

    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=200)
    step: int | None = Field(default=None, ge=0)
    quote: str | None = Field(default=None, max_length=2000)
    note: str | None = None
    check: str | None = None
    verified: bool | None = None
    problem: str | None = None

    def verify(self, trajectory: Trajectory) -> Finding:
        """A copy with ``verified`` (and ``problem``) set against ``trajectory``, as the auditor checks evidence."""
        if self.quote is None:
            if self.step is not None and self.step >= len(trajectory.steps):
                return self.model_copy(update={"verified": False, "problem": self._missing_step(trajectory)})
            return self.model_copy(update={"verified": None, "problem": None})
        if self.step is None:
            found = any(step.contains(self.quote) for step in trajectory.steps)
            problem = None if found else "the quote occurs in no step"
            return self.model_copy(update={"verified": found, "problem": problem})
        if self.step >= len(trajectory.steps):
            return self.model_copy(update={"verified": False, "problem": self._missing_step(trajectory)})
        if not trajectory.steps[self.step].contains(self.quote):
            return self.model_copy(
                update={"verified": False, "problem": f"the quote does not occur in step {self.step}"}
            )
        return self.model_copy(update={"verified": True, "problem": None})

    def _missing_step(self, trajectory: Trajectory) -> str:
        return f"step {self.step} does not exist ({len(trajectory.steps)} steps)"


class CheckFailure(BaseModel):
    """A check that raised on one trajectory (the other checks still ran).

    Attributes:
        check: The check's name.
        error: The exception, as ``Type: message``.
        where: The last line of the traceback inside the check file (``file:line in function``).
    """

    model_config = ConfigDict(extra="forbid")

    check: str
    error: str
    where: str | None = None


CheckedTrajectory = TrajectoryRef
"""Which trajectory a finding is about (``memex_audit.trajectory.TrajectoryRef``)."""


class CheckReport(BaseModel):
    """The checks' findings on one trajectory.

    Attributes:
        trajectory: The trajectory checked.
        checks_digest: Digest of the check files that ran (a run keeps results per digest).
        checks: The checks that ran, by name.
        findings: What they found, with the evidence verified.
        failures: Checks that raised on this trajectory.
        elapsed_ms: Time the checks took on it.
    """

    model_config = ConfigDict(extra="forbid")

    trajectory: CheckedTrajectory
    checks_digest: str
    checks: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    failures: list[CheckFailure] = Field(default_factory=list)
    elapsed_ms: float = 0.0


class LabelCount(BaseModel):
    """How often a label was found.

    Attributes:
        label: The label.
        check: The check that gives it.
        trajectories: Trajectories with at least one verified finding of it.
        findings: Verified findings of it.
        unverified: Findings of it whose evidence does not hold (not counted above).
    """

    model_config = ConfigDict(extra="forbid")

    label: str
    check: str | None = None
    trajectories: int = 0
    findings: int = 0
    unverified: int = 0


class CheckSummary(BaseModel):
    """The totals of a check run.

    Attributes:
        checks_digest: Digest of the check files the totals are for.
        checks: The checks, by name.
        trajectories: Trajectories checked.
        with_findings: Trajectories with at least one verified finding.
        labels: Counts per label, most frequent first.
        failures: Check failures (exceptions), by check name.
        load_errors: Files or records that could not be loaded.
    """

    model_config = ConfigDict(extra="forbid")

    checks_digest: str
    checks: list[str] = Field(default_factory=list)
    trajectories: int = 0
    with_findings: int = 0
    labels: list[LabelCount] = Field(default_factory=list)
    failures: dict[str, int] = Field(default_factory=dict)
    load_errors: int = 0
