"""Run folders and the analysis over them.

``RunStore`` writes and reads audit and aggregation runs atomically and resumes them; the
summaries (polars frames and agreement metrics) are imported lazily, because they depend on the
auditor and aggregator models, which themselves write through ``RunStore``.
"""

from __future__ import annotations

import importlib
from typing import Any

from memex_audit.runs import RunError, RunKind, RunManifest, RunModelSettings, RunStore

_LAZY = {
    "aggregate_accuracy_frame": "_aggregate_summary",
    "aggregate_scaling_frame": "_aggregate_summary",
    "aggregate_tasks_frame": "_aggregate_summary",
    "audit_agreement": "_audit_agreement",
    "audit_frame": "_audit_summary",
    "breakdown_table": "_audit_summary",
    "category_agreement": "_audit_agreement",
    "category_counts": "_audit_summary",
    "cohen_kappa": "_audit_agreement",
    "coding_consistency": "_coding_reference",
    "coding_reference_labels": "_coding_reference",
    "read_failure_analyses": "_coding_reference",
    "read_id_list": "_audit_agreement",
    "read_label_file": "_audit_agreement",
    "summarize_audit": "_audit_summary",
}

__all__ = [
    "RunError",
    "RunKind",
    "RunManifest",
    "RunStore",
    "aggregate_accuracy_frame",
    "aggregate_scaling_frame",
    "aggregate_tasks_frame",
    "audit_agreement",
    "audit_frame",
    "breakdown_table",
    "category_agreement",
    "category_counts",
    "coding_consistency",
    "coding_reference_labels",
    "cohen_kappa",
    "read_failure_analyses",
    "read_id_list",
    "read_label_file",
    "summarize_audit",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'memex_audit.results' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"memex_audit.results.{module}"), name)
    globals()[name] = value
    return value
