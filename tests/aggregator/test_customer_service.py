"""The verifier on customer-service (τ airline) rollouts: blind checks that separate right from wrong."""

from __future__ import annotations

import collections

import pytest

from memex_audit.aggregator import blind_group, check_rollouts, majority_vote, offline_verifier
from memex_audit.aggregator._evaluate import (
    OFFLINE_POLICIES,
    aggregate_task,
    pairwise_separation,
    scaling_curve,
)
from memex_audit.aggregator._models import Aggregation, RolloutCheck
from memex_audit.trajectory import Outcome, TaskGroup, Trajectory
from tests.factories import cancel_run, reservation
from tests.paths import shared_data


def _rollout(run: Trajectory, rid: str, correct: bool) -> Trajectory:
    return run.model_copy(update={"id": rid, "outcome": Outcome(correct=correct, reward=float(correct))})


def _transfer(rid: str, correct: bool) -> Trajectory:
    run = cancel_run(reservation(), answer="Yes, please.")
    steps = run.steps[:3]  # looked the reservation up, then declined instead of cancelling
    return _rollout(run.model_copy(update={"steps": steps}), rid, correct)


def test_the_verifier_picks_the_rollout_that_keeps_the_cancellation_policy() -> None:
    # the first rollout cancels a reservation the policy does not allow cancelling; the second declines
    group = TaskGroup(
        task_id="tau2/airline/1",
        trajectories=[_rollout(cancel_run(reservation()), "cancels", False), _transfer("declines", True)],
    )
    blind = blind_group(group)
    assert majority_vote(blind).chosen == "cancels"  # a 1-1 tie goes to the first rollout
    chosen = offline_verifier(blind)
    assert chosen.chosen == "declines"
    cancels = next(c for c in chosen.checks if c.rollout_id == "cancels")
    assert cancels.policy_steps and any("policy" in n for n in cancels.notes)


def test_the_verifier_does_not_read_grading() -> None:
    a, b = _rollout(cancel_run(reservation()), "a", False), _transfer("b", True)
    flipped = [
        t.model_copy(update={"outcome": Outcome(correct=not t.success), "ground_truth": [{"name": "x"}]})
        for t in (a, b)
    ]
    scores = [c.score for c in check_rollouts(TaskGroup(task_id="t", trajectories=[a, b]))]
    assert scores == [c.score for c in check_rollouts(TaskGroup(task_id="t", trajectories=flipped))]


def test_pairwise_separation_counts_right_tie_and_reverse_pairs() -> None:
    group = TaskGroup(
        task_id="t",
        trajectories=[
            _rollout(cancel_run(reservation()), rid, ok)
            for rid, ok in (("good1", True), ("good2", True), ("bad1", False), ("bad2", False))
        ],
    )
    scores = {"good1": 1.0, "good2": 0.5, "bad1": 0.5, "bad2": 0.8}
    aggregation = Aggregation(
        task_id="t",
        policy="verifier",
        answer="x",
        checks=[
            RolloutCheck(rollout_id=r, answer="x", score=s, support="grounded") for r, s in scores.items()
        ],
    )
    sep = pairwise_separation(group, aggregation)
    assert sep is not None and (sep.right, sep.tie, sep.reverse) == (2, 1, 1)
    assert pairwise_separation(group, majority_vote(group)) is None  # a plain vote scores no rollout
    result = aggregate_task(group, scaling=False)
    assert set(result.pairwise) == {"verifier"} and result.pairwise["verifier"].pairs == 4


@pytest.mark.slow
def test_on_tau2_airline_the_verifier_separates_pairs_and_beats_majority_at_four() -> None:
    from memex_audit.loaders import load

    groups = load(shared_data("tau2_bench", "airline_runs")).tasks()
    policies = {name: OFFLINE_POLICIES[name] for name in ("majority", "verifier")}
    at_four: collections.Counter[str] = collections.Counter()
    total = collections.Counter[str]()
    for group in groups:
        point = next(p for p in scaling_curve(group, policies=policies) if p.n == 4)
        at_four.update(point.accuracy)
        sep = pairwise_separation(group, offline_verifier(blind_group(group)))
        assert sep is not None
        total.update({"right": sep.right, "tie": sep.tie, "reverse": sep.reverse})
    assert (at_four["verifier"] - at_four["majority"]) / len(groups) >= 0.02
    assert total["right"] >= 5 * total["reverse"] and total["right"] >= total["tie"] / 2
