"""Analysis over run folders: audit summaries and breakdowns, agreement with human or reference
labels, coding-run consistency with their grading evidence, best-of-N tables. Reads runs and the
stock agents' report models; writes exports only through the run folder it is given.

Importing the package imports none of its modules: each name imports its own module (with polars
and the agents' models) on first use, so a command that needs the audit summary alone does not pay
for the best-of-N tables or the app's queries."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_MODULE_OF = {
    "AuditAgreement": "_audit_agreement",
    "CodingConsistency": "_coding_reference",
    "FailureFilter": "_queries",
    "NOT_AUDITED": "_queries",
    "POSITIONS": "_queries",
    "RunAuditSummary": "_audit_summary",
    "aggregate_accuracy_frame": "_aggregate_summary",
    "aggregate_scaling_frame": "_aggregate_summary",
    "aggregate_tasks_frame": "_aggregate_summary",
    "audit_agreement": "_audit_agreement",
    "audit_frame": "_audit_summary",
    "breakdown_table": "_audit_summary",
    "category_agreement": "_audit_agreement",
    "category_counts": "_audit_summary",
    "category_order": "_queries",
    "coding_consistency": "_coding_reference",
    "coding_reference_labels": "_coding_reference",
    "cohen_kappa": "_audit_agreement",
    "failure_frame": "_queries",
    "filter_failures": "_queries",
    "filter_options": "_queries",
    "group_table": "_queries",
    "label_agrees_with_reward": "_service_reference",
    "labels_from_trajectories": "_audit_agreement",
    "natural_key": "_queries",
    "outcome_totals": "_queries",
    "policy_cases": "_queries",
    "read_failure_analyses": "_coding_reference",
    "read_id_list": "_audit_agreement",
    "read_label_file": "_audit_agreement",
    "reward_agreement": "_service_reference",
    "rollout_votes": "_queries",
    "scaling_long": "_queries",
    "split_of": "_audit_agreement",
    "summarize_audit": "_audit_summary",
    "trajectory_table": "_queries",
    "usage_by": "_queries",
    "write_aggregate_exports": "_aggregate_summary",
}
"""The module that defines each public name."""


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups find it without this function
    return value


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
