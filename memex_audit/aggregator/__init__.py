"""Aggregating N rollouts of a task: answer keys, baselines, the offline verifier, evaluation.

The aggregator checks and selects; it never re-solves the task. Policies receive the rollouts
blinded (``blind_group``: no outcomes, labels or ground truth); only grading reads outcomes.
"""

from memex_audit.aggregator._agent_policy import (
    OfflineVerifierPolicy,
    aggregate_with_agent,
    aggregator_instructions,
    decision_to_aggregation,
)
from memex_audit.aggregator._baselines import (
    RolloutSummary,
    first_rollout,
    keys_for,
    majority_vote,
    oracle_choice,
    random_rollout,
    summarize_rollout,
    summary_only_vote,
)
from memex_audit.aggregator._blind import blind_group, blind_trajectory
from memex_audit.aggregator._evaluate import (
    OFFLINE_POLICIES,
    accuracy_by_policy,
    aggregate_task,
    grade,
    oracle_accuracy,
    pass_at_1,
    scaling_curve,
    subset_sizes,
)
from memex_audit.aggregator._keys import (
    ActionCall,
    AnswerKey,
    KeyConfig,
    action_key,
    answer_key,
    cluster_keys,
    key_of,
    keys_match,
)
from memex_audit.aggregator._models import (
    AggregateTaskResult,
    Aggregation,
    AggregatorDecision,
    EvidenceItem,
    RolloutAnswer,
    RolloutCheck,
    ScalingPoint,
    VoteShare,
)
from memex_audit.aggregator._run import AggregateRunOutcome, aggregate_groups
from memex_audit.aggregator._sources import SourceFinding, find_suspect_sources, read_sources
from memex_audit.aggregator._verifier import check_rollouts, evidence_vote, offline_verifier, verify_evidence
from memex_audit.aggregator._vote import weighted_vote
from memex_audit.reading._answers import (
    AnswerConfig,
    AnswerValue,
    numbers_in_text,
    parse_answer,
    parse_number,
    values_match,
)

__all__ = [
    "OFFLINE_POLICIES",
    "ActionCall",
    "AggregateRunOutcome",
    "AggregateTaskResult",
    "Aggregation",
    "AggregatorDecision",
    "AnswerConfig",
    "AnswerKey",
    "AnswerValue",
    "EvidenceItem",
    "KeyConfig",
    "OfflineVerifierPolicy",
    "RolloutAnswer",
    "RolloutCheck",
    "RolloutSummary",
    "ScalingPoint",
    "SourceFinding",
    "VoteShare",
    "accuracy_by_policy",
    "action_key",
    "aggregate_groups",
    "aggregate_task",
    "aggregate_with_agent",
    "aggregator_instructions",
    "answer_key",
    "blind_group",
    "blind_trajectory",
    "check_rollouts",
    "cluster_keys",
    "decision_to_aggregation",
    "evidence_vote",
    "find_suspect_sources",
    "first_rollout",
    "grade",
    "key_of",
    "keys_for",
    "keys_match",
    "majority_vote",
    "numbers_in_text",
    "offline_verifier",
    "oracle_accuracy",
    "oracle_choice",
    "parse_answer",
    "parse_number",
    "pass_at_1",
    "random_rollout",
    "read_sources",
    "scaling_curve",
    "subset_sizes",
    "summarize_rollout",
    "summary_only_vote",
    "values_match",
    "verify_evidence",
    "weighted_vote",
]
