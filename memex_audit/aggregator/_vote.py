"""A weighted vote over answer clusters, with deterministic, reported tie-breaking.

Every policy that votes (plain majority, summary-only, the evidence-weighted verifier) goes
through ``weighted_vote`` so ties are broken the same way and always reported:

1. the heavier cluster wins;
2. on equal weight, the cluster with more rollouts;
3. then ``first_seen``: the cluster whose first rollout comes earliest in the group's order
   (or ``seeded``: a hash of the task id and the labels, stable across runs and machines).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from memex_audit.aggregator._keys import AnswerKey, KeyConfig, cluster_keys
from memex_audit.aggregator._models import VoteShare

TieBreak = Literal["first_seen", "seeded"]

_EPS = 1e-9


@dataclass(frozen=True)
class VoteOutcome:
    """The result of a vote.

    Attributes:
        winner: Positions (into the voted sequence) of the winning cluster, or empty.
        label: The winning answer's label.
        votes: Every cluster, heaviest first.
        tie_break: How a tie was broken, or ``None`` when there was none.
        confidence: The winner's share of the total weight.
    """

    winner: list[int]
    label: str | None
    votes: list[VoteShare]
    tie_break: str | None
    confidence: float


def weighted_vote(
    keys: Sequence[AnswerKey],
    ids: Sequence[str],
    weights: Sequence[float] | None = None,
    *,
    config: KeyConfig | None = None,
    tie_break: TieBreak = "first_seen",
    task_id: str = "",
) -> VoteOutcome:
    """Vote among rollouts by answer, each rollout counting ``weights[i]`` (1 by default).

    Args:
        keys: Each rollout's answer key.
        ids: Each rollout's id (for the reported distribution).
        weights: Each rollout's weight (negative weights count as 0).
        config: How keys are compared.
        tie_break: ``first_seen`` or ``seeded`` (see the module docstring).
        task_id: Seeds the ``seeded`` tie-break.
    """
    w = [max(0.0, x) for x in weights] if weights is not None else [1.0] * len(keys)
    clusters = cluster_keys(keys, config)
    if not clusters:
        return VoteOutcome(winner=[], label=None, votes=[], tie_break=None, confidence=0.0)
    weight_of = [sum(w[i] for i in c) for c in clusters]

    def order(ci: int) -> tuple[float, int, float]:
        third: float = clusters[ci][0]
        if tie_break == "seeded":
            digest = hashlib.sha256(f"{task_id}\x00{keys[clusters[ci][0]].label}".encode()).digest()
            third = int.from_bytes(digest[:8], "big")
        return (-round(weight_of[ci], 9), -len(clusters[ci]), third)

    ranked = sorted(range(len(clusters)), key=order)
    best = ranked[0]
    tied = [
        ci
        for ci in ranked
        if abs(weight_of[ci] - weight_of[best]) <= _EPS and len(clusters[ci]) == len(clusters[best])
    ]
    heavier_tied = [ci for ci in ranked if abs(weight_of[ci] - weight_of[best]) <= _EPS]
    note: str | None = None
    if len(heavier_tied) > 1:
        first_ids = ", ".join(ids[clusters[ci][0]] for ci in heavier_tied)
        if len(tied) > 1:
            rule = (
                f"the answer first given earliest in rollout order ({ids[clusters[best][0]]})"
                if tie_break == "first_seen"
                else "a seeded hash of task id and answer"
            )
            note = (
                f"tie between {len(tied)} answers at weight {weight_of[best]:.3g} "
                f"(first rollouts {first_ids}); broken by {rule}"
            )
        else:
            note = (
                f"equal weight {weight_of[best]:.3g} for {len(heavier_tied)} answers; "
                f"broken by the larger number of rollouts ({len(clusters[best])})"
            )
    total = sum(weight_of)
    votes = [
        VoteShare(
            answer=keys[clusters[ci][0]].label,
            rollouts=[ids[i] for i in clusters[ci]],
            count=len(clusters[ci]),
            weight=round(weight_of[ci], 6),
        )
        for ci in ranked
    ]
    confidence = weight_of[best] / total if total > _EPS else 1.0 / len(clusters)
    return VoteOutcome(
        winner=list(clusters[best]),
        label=keys[clusters[best][0]].label,
        votes=votes,
        tie_break=note,
        confidence=min(1.0, max(0.0, confidence)),
    )
