"""Best-of-N evaluation: grade each policy's choice, and accuracy as the number of rollouts grows.

A policy's choice is graded by the outcome of the rollout it returns (the first of its chosen
rollouts): for a question the rollouts that share an answer are graded alike, and for an
environment task the returned rollout's actions are what would be committed. pass@1 is the mean
correctness of the rollouts; the oracle is right when any rollout is.

Policies only ever see the blinded group (``blind_group``); grading reads the original.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Mapping, Sequence

from memex_audit.aggregator._baselines import (
    first_rollout,
    majority_vote,
    oracle_choice,
    random_rollout,
    summary_only_vote,
)
from memex_audit.aggregator._blind import blind_group
from memex_audit.aggregator._keys import KeyConfig, key_of
from memex_audit.aggregator._models import (
    AggregateTaskResult,
    Aggregation,
    PairwiseSeparation,
    RolloutAnswer,
    ScalingPoint,
)
from memex_audit.aggregator._verifier import offline_verifier
from memex_audit.trajectory import TaskGroup

Policy = Callable[[TaskGroup, KeyConfig], Aggregation]

OFFLINE_POLICIES: dict[str, Policy] = {
    "majority": lambda g, c: majority_vote(g, c),
    "summary_only": lambda g, c: summary_only_vote(g, c),
    "verifier": lambda g, c: offline_verifier(g, c),
    "first": lambda g, c: first_rollout(g, c),
    "random": lambda g, c: random_rollout(g, c),
}
"""The deterministic policies, by name; each receives a blinded group."""

DEFAULT_MAX_SUBSETS = 24


def grade(group: TaskGroup, aggregation: Aggregation) -> float | None:
    """1.0 when the returned rollout is correct, 0.0 when not (or nothing was chosen), ``None`` if ungraded."""
    if not any(t.success is not None for t in group.trajectories):
        return None
    if aggregation.chosen is None:
        return 0.0
    try:
        return 1.0 if group.by_id(aggregation.chosen).success is True else 0.0
    except KeyError:
        return 0.0


def pass_at_1(group: TaskGroup) -> float | None:
    """The mean correctness of the graded rollouts (``None`` when none is graded)."""
    graded = [t.success for t in group.trajectories if t.success is not None]
    return sum(1.0 for ok in graded if ok) / len(graded) if graded else None


def oracle_accuracy(group: TaskGroup) -> float | None:
    """1.0 when any rollout is correct (``None`` when none is graded)."""
    graded = [t.success for t in group.trajectories if t.success is not None]
    return (1.0 if any(graded) else 0.0) if graded else None


def subset_sizes(n: int) -> list[int]:
    """1, 2, 4, 8, … below ``n``, then ``n`` itself."""
    sizes = [1 << k for k in range(max(1, n).bit_length()) if (1 << k) < n]
    return [*sizes, n] if n > 0 else []


def scaling_curve(
    group: TaskGroup,
    config: KeyConfig | None = None,
    *,
    policies: Mapping[str, Policy] | None = None,
    max_subsets: int = DEFAULT_MAX_SUBSETS,
    seed: int = 0,
) -> list[ScalingPoint]:
    """Mean accuracy of each policy over subsets of 1, 2, 4, … rollouts of one task.

    Every subset is used when there are at most ``max_subsets`` of a size; otherwise
    ``max_subsets`` distinct subsets are drawn with a generator seeded by ``seed`` and the task id.
    Subsets keep the group's rollout order.
    """
    cfg = config or KeyConfig()
    chosen_policies = dict(policies if policies is not None else _curve_policies())
    n = len(group.trajectories)
    points: list[ScalingPoint] = []
    rng = random.Random(f"{seed}:{group.task_id}")
    blinded = blind_group(group).trajectories
    for size in subset_sizes(n):
        subsets = _subsets(n, size, max_subsets, rng)
        sums: dict[str, float] = {}
        counted: dict[str, int] = {}
        for subset in subsets:
            sub = TaskGroup(
                task_id=group.task_id,
                question=group.question,
                ground_truth=group.ground_truth,
                trajectories=[group.trajectories[i] for i in subset],
            )
            row: dict[str, float | None] = {"pass@1": pass_at_1(sub), "oracle": oracle_accuracy(sub)}
            if size == 1:
                row.update(dict.fromkeys(chosen_policies, pass_at_1(sub)))
            else:
                blind = sub.model_copy(
                    update={"ground_truth": None, "trajectories": [blinded[i] for i in subset]}
                )
                for name, policy in chosen_policies.items():
                    row[name] = grade(sub, policy(blind, cfg))
            for name, value in row.items():
                if value is not None:
                    sums[name] = sums.get(name, 0.0) + value
                    counted[name] = counted.get(name, 0) + 1
        points.append(
            ScalingPoint(
                n=size,
                subsets=len(subsets),
                accuracy={name: round(sums[name] / counted[name], 6) for name in sums},
            )
        )
    return points


def aggregate_task(
    group: TaskGroup,
    config: KeyConfig | None = None,
    *,
    extra: Mapping[str, Aggregation] | None = None,
    policies: Mapping[str, Policy] | None = None,
    scaling: bool = True,
    max_subsets: int = DEFAULT_MAX_SUBSETS,
    seed: int = 0,
) -> AggregateTaskResult:
    """Run every offline policy on one task, grade them, and (optionally) its scaling curve.

    Args:
        group: The task's rollouts, with outcomes (used for grading only).
        config: How answers are keyed.
        extra: Aggregations made elsewhere (the verifier through the agent loop, an LLM), by
            policy name; they replace the offline policy of the same name.
        policies: The offline policies to run (default ``OFFLINE_POLICIES``).
        scaling: Also compute accuracy over subsets of 1, 2, 4, … rollouts.
        max_subsets: Subsets drawn per size.
        seed: Seeds subset sampling and the random rollout.
    """
    cfg = config or KeyConfig()
    blind = blind_group(group)
    aggregations: dict[str, Aggregation] = {}
    for name, policy in (policies if policies is not None else OFFLINE_POLICIES).items():
        if extra is None or name not in extra:
            aggregations[name] = policy(blind, cfg)
    aggregations.update(extra or {})
    aggregations["oracle"] = oracle_choice(group, cfg)
    correct: dict[str, float | None] = {"pass@1": pass_at_1(group)}
    for name, aggregation in aggregations.items():
        correct[name] = grade(group, aggregation)
    correct["oracle"] = oracle_accuracy(group)
    rollouts = []
    for trajectory in group.trajectories:
        key = key_of(trajectory, cfg)
        rollouts.append(
            RolloutAnswer(
                rollout_id=trajectory.id,
                model=trajectory.model,
                harness=trajectory.harness,
                answer=key.label,
                key_kind=key.kind,
                correct=trajectory.success,
            )
        )
    pairwise = {
        name: separation
        for name, aggregation in aggregations.items()
        if (separation := pairwise_separation(group, aggregation)) is not None
    }
    return AggregateTaskResult(
        task_id=group.task_id,
        question=group.question,
        n_rollouts=len(group.trajectories),
        rollouts=rollouts,
        aggregations=aggregations,
        correct=correct,
        scaling=scaling_curve(group, cfg, max_subsets=max_subsets, seed=seed) if scaling else [],
        pairwise=pairwise,
    )


def pairwise_separation(group: TaskGroup, aggregation: Aggregation) -> PairwiseSeparation | None:
    """How ``aggregation``'s per-rollout scores rank each (correct, wrong) pair of ``group``'s rollouts.

    ``None`` when the policy scored no rollout (plain votes, the oracle). A rollout the policy did
    not score counts as scoring 0. Grading reads the group's outcomes; the scores were made blind.
    """
    if not aggregation.checks:
        return None
    scores = {c.rollout_id: c.score for c in aggregation.checks}
    correct = [scores.get(t.id, 0.0) for t in group.trajectories if t.success is True]
    wrong = [scores.get(t.id, 0.0) for t in group.trajectories if t.success is False]
    out = PairwiseSeparation()
    for good in correct:
        for bad in wrong:
            if abs(good - bad) <= 1e-9:
                out.tie += 1
            elif good > bad:
                out.right += 1
            else:
                out.reverse += 1
    return out


def pairwise_by_policy(results: Sequence[AggregateTaskResult]) -> dict[str, PairwiseSeparation]:
    """Each scoring policy's pairwise separation summed over tasks."""
    totals: dict[str, PairwiseSeparation] = {}
    for result in results:
        for name, separation in result.pairwise.items():
            totals[name] = totals.get(name, PairwiseSeparation()) + separation
    return totals


def _curve_policies() -> dict[str, Policy]:
    return {name: OFFLINE_POLICIES[name] for name in ("majority", "summary_only", "verifier")}


def _subsets(n: int, size: int, max_subsets: int, rng: random.Random) -> list[tuple[int, ...]]:
    if math.comb(n, size) <= max_subsets:
        return list(itertools.combinations(range(n), size))
    drawn: set[tuple[int, ...]] = set()
    while len(drawn) < max_subsets:
        drawn.add(tuple(sorted(rng.sample(range(n), size))))
    return sorted(drawn)


def accuracy_by_policy(results: Sequence[AggregateTaskResult]) -> dict[str, float]:
    """Mean graded correctness of each policy over tasks (tasks it was not graded on are left out)."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for result in results:
        for name, value in result.correct.items():
            if value is not None:
                sums[name] = sums.get(name, 0.0) + value
                counts[name] = counts.get(name, 0) + 1
    return {name: sums[name] / counts[name] for name in sums}
