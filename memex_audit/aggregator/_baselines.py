"""Baselines the verifier and the LLM aggregator are measured against.

* ``majority_vote``: the most common answer (ties broken deterministically and reported).
* ``first_rollout`` / ``random_rollout``: return one rollout; their mean accuracy is pass@1.
* ``oracle_choice``: a correct rollout whenever there is one: the ceiling of any selector. It is the
  only policy that reads outcomes.
* ``summary_only_vote``: what an aggregator sees when each rollout is reduced to a short summary
  (its answer and its closing message), as a tool-calling aggregator receives: no tool outputs, so
  nothing to verify; it can only vote, discounting summaries that admit trouble.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from memex_audit.aggregator._keys import AnswerKey, KeyConfig, key_of
from memex_audit.aggregator._models import Aggregation
from memex_audit.aggregator._vote import TieBreak, weighted_vote
from memex_audit.trajectory import TaskGroup, Trajectory

SUMMARY_CHARS = 400
"""Length of the closing message kept in a rollout summary."""

_TROUBLE = re.compile(
    r"\b(could not|couldn't|cannot find|can't find|unable to|not sure|unclear|uncertain|"
    r"assum(e|ed|ing)|estimat(e|ed)|approximat\w*|error|failed|no data|not available)\b",
    re.IGNORECASE,
)


class RolloutSummary(BaseModel):
    """A rollout as a summary-only aggregator receives it.

    Attributes:
        rollout_id: The rollout.
        answer: Its answer label.
        summary: Its closing message, shortened to ``SUMMARY_CHARS``.
        n_steps: How many steps it took.
        admits_trouble: Whether the summary says it could not find, assumed or estimated something.
    """

    model_config = ConfigDict(extra="forbid")

    rollout_id: str
    answer: str
    summary: str
    n_steps: int
    admits_trouble: bool


def keys_for(group: TaskGroup, config: KeyConfig | None = None) -> list[AnswerKey]:
    """The answer key of each rollout of ``group``, in order."""
    return [key_of(t, config) for t in group.trajectories]


def majority_vote(
    group: TaskGroup,
    config: KeyConfig | None = None,
    *,
    tie_break: TieBreak = "first_seen",
) -> Aggregation:
    """The most common answer among the rollouts; its rollouts are chosen in rollout order."""
    keys = keys_for(group, config)
    ids = [t.id for t in group.trajectories]
    vote = weighted_vote(keys, ids, config=config, tie_break=tie_break, task_id=group.task_id)
    chosen = [ids[i] for i in vote.winner]
    rationale = (
        f"{len(chosen)} of {len(ids)} rollouts gave this answer"
        + (f"; {vote.tie_break}" if vote.tie_break else "")
        if chosen
        else "no rollout gave an answer"
    )
    return Aggregation(
        task_id=group.task_id,
        policy="majority",
        answer=vote.label,
        chosen_rollouts=chosen,
        rationale=rationale,
        confidence=vote.confidence,
        votes=vote.votes,
        tie_break=vote.tie_break,
        n_rollouts=len(ids),
    )


def first_rollout(group: TaskGroup, config: KeyConfig | None = None) -> Aggregation:
    """The first rollout's answer, as a single run would give it."""
    return _single(group, 0, "first", config, "the first rollout, as a single run returns it")


def random_rollout(group: TaskGroup, config: KeyConfig | None = None, *, seed: int = 0) -> Aggregation:
    """One rollout drawn with a seeded generator (stable for a given task id and seed)."""
    if not group.trajectories:
        return _single(group, None, "random", config, "no rollouts")
    index = random.Random(f"{seed}:{group.task_id}").randrange(len(group.trajectories))
    return _single(group, index, "random", config, f"rollout {index} drawn with seed {seed}")


def oracle_choice(group: TaskGroup, config: KeyConfig | None = None) -> Aggregation:
    """A correct rollout when any is correct (reads outcomes: an upper bound, not a policy)."""
    for index, trajectory in enumerate(group.trajectories):
        if trajectory.success is True:
            return _single(group, index, "oracle", config, "a rollout graded correct")
    return _single(group, 0 if group.trajectories else None, "oracle", config, "no rollout is correct")


def summarize_rollout(trajectory: Trajectory, config: KeyConfig | None = None) -> RolloutSummary:
    """Reduce a rollout to its answer and closing message (no tool outputs)."""
    key = key_of(trajectory, config)
    closing = ""
    for step in reversed(trajectory.steps):
        if step.role == "assistant" and step.text and step.text.strip():
            closing = " ".join(step.text.split())
            break
    if key.kind == "actions":
        done = ", ".join(a.name for a in key.actions) or "no changes"
        closing = f"[actions: {done}] {closing}"
    summary = closing[:SUMMARY_CHARS] + ("…" if len(closing) > SUMMARY_CHARS else "")
    return RolloutSummary(
        rollout_id=trajectory.id,
        answer=key.label,
        summary=summary,
        n_steps=len(trajectory.steps),
        admits_trouble=bool(_TROUBLE.search(closing)),
    )


def summary_only_vote(
    group: TaskGroup,
    config: KeyConfig | None = None,
    *,
    tie_break: TieBreak = "first_seen",
) -> Aggregation:
    """Vote on the rollouts' summaries: one vote each, half a vote when the summary admits trouble."""
    keys = keys_for(group, config)
    summaries = [summarize_rollout(t, config) for t in group.trajectories]
    ids = [s.rollout_id for s in summaries]
    weights = [0.5 if s.admits_trouble else 1.0 for s in summaries]
    vote = weighted_vote(keys, ids, weights, config=config, tie_break=tie_break, task_id=group.task_id)
    chosen_positions = sorted(vote.winner, key=lambda i: (-weights[i], i))
    doubted = [ids[i] for i in vote.winner if summaries[i].admits_trouble]
    rationale = f"{len(vote.winner)} of {len(ids)} summaries give this answer"
    if doubted:
        rationale += f"; half weight for summaries that admit trouble ({', '.join(doubted)})"
    if vote.tie_break:
        rationale += f"; {vote.tie_break}"
    return Aggregation(
        task_id=group.task_id,
        policy="summary_only",
        answer=vote.label,
        chosen_rollouts=[ids[i] for i in chosen_positions],
        rationale=rationale if vote.winner else "no summary gives an answer",
        confidence=vote.confidence,
        votes=vote.votes,
        tie_break=vote.tie_break,
        n_rollouts=len(ids),
    )


def _single(
    group: TaskGroup,
    index: int | None,
    policy: str,
    config: KeyConfig | None,
    why: str,
) -> Aggregation:
    keys: Sequence[AnswerKey] = keys_for(group, config)
    if index is None or not group.trajectories:
        return Aggregation(task_id=group.task_id, policy=policy, answer=None, rationale=why)
    key = keys[index]
    return Aggregation(
        task_id=group.task_id,
        policy=policy,
        answer=None if key.is_none else key.label,
        chosen_rollouts=[group.trajectories[index].id],
        rationale=why,
        confidence=1.0 / len(group.trajectories),
        n_rollouts=len(group.trajectories),
    )
