"""Analysis over run folders: audit summaries and breakdowns, agreement with human or reference
labels, coding-run consistency with their grading evidence, best-of-N tables. Reads runs and the
stock agents' report models; writes exports only through the run folder it is given."""

from memex_audit.analysis._aggregate_summary import (
    aggregate_accuracy_frame,
    aggregate_scaling_frame,
    aggregate_tasks_frame,
    write_aggregate_exports,
)
from memex_audit.analysis._audit_agreement import (
    AuditAgreement,
    audit_agreement,
    category_agreement,
    cohen_kappa,
    labels_from_trajectories,
    read_id_list,
    read_label_file,
    split_of,
)
from memex_audit.analysis._audit_summary import (
    RunAuditSummary,
    audit_frame,
    breakdown_table,
    category_counts,
    summarize_audit,
)
from memex_audit.analysis._coding_reference import (
    CodingConsistency,
    coding_consistency,
    coding_reference_labels,
    read_failure_analyses,
)
from memex_audit.analysis._queries import (
    NOT_AUDITED,
    POSITIONS,
    FailureFilter,
    category_order,
    failure_frame,
    filter_failures,
    filter_options,
    group_table,
    natural_key,
    outcome_totals,
    policy_cases,
    rollout_votes,
    scaling_long,
    trajectory_table,
    usage_by,
)
from memex_audit.analysis._service_reference import label_agrees_with_reward, reward_agreement

__all__ = [
    "NOT_AUDITED",
    "POSITIONS",
    "AuditAgreement",
    "CodingConsistency",
    "FailureFilter",
    "RunAuditSummary",
    "aggregate_accuracy_frame",
    "aggregate_scaling_frame",
    "aggregate_tasks_frame",
    "audit_agreement",
    "audit_frame",
    "breakdown_table",
    "category_agreement",
    "category_counts",
    "category_order",
    "coding_consistency",
    "coding_reference_labels",
    "cohen_kappa",
    "failure_frame",
    "filter_failures",
    "filter_options",
    "group_table",
    "label_agrees_with_reward",
    "labels_from_trajectories",
    "natural_key",
    "outcome_totals",
    "policy_cases",
    "read_failure_analyses",
    "read_id_list",
    "read_label_file",
    "reward_agreement",
    "rollout_votes",
    "scaling_long",
    "split_of",
    "summarize_audit",
    "trajectory_table",
    "usage_by",
    "write_aggregate_exports",
]
