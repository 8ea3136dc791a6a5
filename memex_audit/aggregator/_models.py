"""The typed results of aggregating the N rollouts of one task.

``AggregatorDecision`` is what an aggregating agent passes to ``submit()``; ``Aggregation`` is the
persisted result built from it, with the cited evidence checked against the trajectories, the vote
distribution, the policy and the cost. ``AggregateTaskResult`` is one line of an aggregate run.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from memex_audit.trajectory import Usage

PolicyName = Literal["majority", "first", "random", "oracle", "summary_only", "verifier", "llm"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvidenceItem(_Model):
    """A step of a rollout cited for or against an answer.

    Attributes:
        rollout_id: The rollout (trajectory id).
        step: Index of the step in that rollout.
        quote: Text quoted from the step.
        supports: True when the step supports the chosen answer, False when it undermines a rival.
        verified: Whether ``quote`` occurs in the step (filled in by the aggregator, not the agent).
        note: What the step shows.
    """

    rollout_id: str
    step: int
    quote: str
    supports: bool = True
    verified: bool = False
    note: str | None = None


class AggregatorDecision(_Model):
    """What an aggregating agent submits: the answer to trust and why.

    Attributes:
        answer: The chosen answer, as one of the rollouts wrote it (or the label of a set of actions).
        chosen_rollouts: Ids of the rollouts that gave that answer and are trusted, best first.
        rationale: Why, citing steps as ``rollout_id#step``.
        evidence: The steps relied on.
        confidence: How sure the aggregator is, from 0 to 1.
    """

    answer: str | None
    chosen_rollouts: list[str] = Field(default_factory=list)
    rationale: str
    evidence: list[EvidenceItem] = Field(default_factory=list)
    confidence: float = Field(default=0.5, ge=0.0, le=1.0)


class VoteShare(_Model):
    """One distinct answer among the rollouts, with who gave it.

    Attributes:
        answer: The answer's label.
        rollouts: Ids of the rollouts that gave it, in rollout order.
        count: How many rollouts gave it.
        weight: The weight the policy gave it (the count for a plain vote).
    """

    answer: str
    rollouts: list[str]
    count: int
    weight: float


class RolloutCheck(_Model):
    """What the offline verifier found about one rollout.

    Attributes:
        rollout_id: The rollout.
        answer: Its answer label.
        score: Its evidence weight in the vote (0 when it gave no answer).
        support: ``present`` (the value occurs in a tool output), ``derived`` (computable from two
            values it saw), ``grounded`` (every argument of its state changes was seen before),
            ``unsupported``, or ``none`` (no answer to check).
        support_steps: Steps whose outputs hold the value (or the arguments).
        support_quotes: A quote from each support step.
        error_steps: Steps with errors, tracebacks or failed checks.
        limit_hit: The run stopped on a limit (turns, errors, budget) instead of finishing.
        suspect_source_steps: Steps that read a duplicated, inconsistent or corrupted source.
        unconfirmed_steps: State changes made without the user's explicit confirmation.
        policy_steps: State changes the domain policy forbids under conditions the rollout saw
            (or whose amounts do not add up).
        unrecovered_steps: State changes that failed and were never made good.
        notes: One line per finding, citing steps.
    """

    rollout_id: str
    answer: str
    score: float
    support: Literal["present", "derived", "grounded", "unsupported", "none"]
    support_steps: list[int] = Field(default_factory=list)
    support_quotes: list[str] = Field(default_factory=list)
    error_steps: list[int] = Field(default_factory=list)
    limit_hit: bool = False
    suspect_source_steps: list[int] = Field(default_factory=list)
    unconfirmed_steps: list[int] = Field(default_factory=list)
    policy_steps: list[int] = Field(default_factory=list)
    unrecovered_steps: list[int] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class Aggregation(_Model):
    """The answer a policy chose among the N rollouts of one task.

    Attributes:
        kind: Always ``aggregation`` (for tagged unions).
        task_id: The task.
        policy: ``majority``, ``first``, ``random``, ``summary_only``, ``verifier``, ``llm`` or
            ``oracle`` (the ceiling, which reads the outcomes).
        model: The model that ran the policy (``offline`` for deterministic policies).
        offline: True when no LLM was involved.
        answer: The chosen answer's label (``None`` when no rollout answered).
        chosen_rollouts: The rollouts trusted, best first; the first is the one returned.
        rationale: Why, citing ``rollout_id#step``.
        evidence: The steps relied on, each checked against the trajectory.
        confidence: From 0 to 1.
        votes: Every distinct answer with its rollouts and weight, heaviest first.
        tie_break: How a tie was broken, when there was one.
        checks: Per-rollout findings (verifier policies).
        n_rollouts: How many rollouts were aggregated.
        usage: Tokens and cost of the policy's own run.
        error: Why the policy failed to decide, when it did.
    """

    kind: Literal["aggregation"] = "aggregation"
    task_id: str
    policy: PolicyName
    model: str = "offline"
    offline: bool = True
    answer: str | None
    chosen_rollouts: list[str] = Field(default_factory=list)
    rationale: str = ""
    evidence: list[EvidenceItem] = Field(default_factory=list)
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    votes: list[VoteShare] = Field(default_factory=list)
    tie_break: str | None = None
    checks: list[RolloutCheck] = Field(default_factory=list)
    n_rollouts: int = 0
    usage: Usage = Field(default_factory=Usage)
    error: str | None = None

    @property
    def chosen(self) -> str | None:
        """The rollout returned to the user (the first chosen one)."""
        return self.chosen_rollouts[0] if self.chosen_rollouts else None


class RolloutAnswer(_Model):
    """One rollout as an aggregate run records it.

    Attributes:
        rollout_id: The trajectory id.
        model: The model that produced it.
        harness: Its harness.
        answer: Its answer label.
        key_kind: ``answer``, ``actions`` or ``none``.
        correct: Its graded outcome (read for evaluation only, never shown to a policy).
    """

    rollout_id: str
    model: str | None = None
    harness: str | None = None
    answer: str
    key_kind: Literal["answer", "actions", "none"]
    correct: bool | None = None


class ScalingPoint(_Model):
    """Mean accuracy of each policy over random subsets of N rollouts of one task.

    Attributes:
        n: Subset size.
        subsets: How many subsets were drawn (all of them when there are few).
        accuracy: Policy name → mean correctness over the subsets.
    """

    n: int
    subsets: int
    accuracy: dict[str, float]


class PairwiseSeparation(_Model):
    """How a policy's per-rollout scores order the correct and wrong rollouts of a task.

    For every pair of a correct and a wrong rollout of the same task, the scores rank it ``right``
    (the correct one scores higher), ``tie`` or ``reverse``. A verifier whose scores tie every pair
    can only ever pick what a plain vote picks.

    Attributes:
        right: Pairs the correct rollout wins.
        tie: Pairs with equal scores.
        reverse: Pairs the wrong rollout wins.
    """

    right: int = 0
    tie: int = 0
    reverse: int = 0

    @property
    def pairs(self) -> int:
        """All pairs counted."""
        return self.right + self.tie + self.reverse

    def __add__(self, other: PairwiseSeparation) -> PairwiseSeparation:
        return PairwiseSeparation(
            right=self.right + other.right, tie=self.tie + other.tie, reverse=self.reverse + other.reverse
        )


class AggregateTaskResult(_Model):
    """One task of an aggregate run: the rollouts, each policy's choice, and its grading.

    Attributes:
        kind: Always ``aggregate_task``.
        task_id: The task.
        question: The task's question.
        n_rollouts: How many rollouts were aggregated.
        rollouts: The rollouts, in order.
        aggregations: Policy name → its aggregation.
        correct: Policy name → whether the returned rollout is correct (``None`` when ungraded);
            ``pass@1`` is the mean correctness of the rollouts.
        scaling: Accuracy over subsets of 1, 2, 4, … rollouts.
        pairwise: Policy name → how its per-rollout scores rank the task's (correct, wrong)
            rollout pairs (policies that score rollouts, such as the verifier).
    """

    kind: Literal["aggregate_task"] = "aggregate_task"
    task_id: str
    question: str | None = None
    n_rollouts: int
    rollouts: list[RolloutAnswer]
    aggregations: dict[str, Aggregation]
    correct: dict[str, float | None] = Field(default_factory=dict)
    scaling: list[ScalingPoint] = Field(default_factory=list)
    pairwise: dict[str, PairwiseSeparation] = Field(default_factory=dict)
