"""Aggregating N rollouts of a task: answer keys, baselines, the offline verifier, evaluation.

The aggregator checks and selects; it never re-solves the task. Policies receive the rollouts
blinded (``blind_group``: no outcomes, labels or ground truth); only grading reads outcomes.
"""

from memex_audit.aggregator._agent_policy import OfflineVerifierPolicy, aggregate_with_agent
from memex_audit.aggregator._baselines import (
    first_rollout,
    majority_vote,
    oracle_choice,
    random_rollout,
    summary_only_vote,
)
from memex_audit.aggregator._blind import blind_group
from memex_audit.aggregator._evaluate import (
    OFFLINE_POLICIES,
    accuracy_by_policy,
    aggregate_task,
    oracle_accuracy,
    pairwise_by_policy,
    pass_at_1,
    scaling_curve,
)
from memex_audit.aggregator._keys import KeyConfig
from memex_audit.aggregator._models import (
    AggregateTaskResult,
    Aggregation,
    AggregatorDecision,
    EvidenceItem,
    PairwiseSeparation,
    RolloutAnswer,
    RolloutCheck,
    ScalingPoint,
    VoteShare,
)
from memex_audit.aggregator._run import AggregateRunOutcome, aggregate_groups
from memex_audit.aggregator._verifier import check_rollouts, offline_verifier

__all__ = [
    "OFFLINE_POLICIES",
    "AggregateRunOutcome",
    "AggregateTaskResult",
    "Aggregation",
    "AggregatorDecision",
    "EvidenceItem",
    "KeyConfig",
    "OfflineVerifierPolicy",
    "PairwiseSeparation",
    "RolloutAnswer",
    "RolloutCheck",
    "ScalingPoint",
    "VoteShare",
    "accuracy_by_policy",
    "aggregate_groups",
    "aggregate_task",
    "aggregate_with_agent",
    "blind_group",
    "check_rollouts",
    "first_rollout",
    "majority_vote",
    "offline_verifier",
    "oracle_accuracy",
    "oracle_choice",
    "pairwise_by_policy",
    "pass_at_1",
    "random_rollout",
    "scaling_curve",
    "summary_only_vote",
]
