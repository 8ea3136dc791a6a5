"""The earlier home of run folders and their analysis, kept so older imports keep working.

Run folders now live in ``memex_audit.runs`` (below the stock agents) and the summaries, agreement
and app queries in ``memex_audit.analysis`` (above them); this package only re-exports them.
"""

from __future__ import annotations

import importlib
from typing import Any

from memex_audit.runs import RunError, RunKind, RunManifest, RunModelSettings, RunStore

_LAZY = {
    "aggregate_accuracy_frame": "memex_audit.analysis._aggregate_summary",
    "aggregate_scaling_frame": "memex_audit.analysis._aggregate_summary",
    "aggregate_tasks_frame": "memex_audit.analysis._aggregate_summary",
    "audit_agreement": "memex_audit.analysis._audit_agreement",
    "audit_frame": "memex_audit.analysis._audit_summary",
    "breakdown_table": "memex_audit.analysis._audit_summary",
    "category_agreement": "memex_audit.analysis._audit_agreement",
    "category_counts": "memex_audit.analysis._audit_summary",
    "cohen_kappa": "memex_audit.analysis._audit_agreement",
    "coding_consistency": "memex_audit.analysis._coding_reference",
    "coding_reference_labels": "memex_audit.analysis._coding_reference",
    "read_failure_analyses": "memex_audit.analysis._coding_reference",
    "read_id_list": "memex_audit.analysis._audit_agreement",
    "read_label_file": "memex_audit.analysis._audit_agreement",
    "summarize_audit": "memex_audit.analysis._audit_summary",
}

__all__ = [
    "RunError",
    "RunKind",
    "RunManifest",
    "RunModelSettings",
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
    value = getattr(
        importlib.import_module(
            module if module.startswith("memex_audit.") else f"memex_audit.results.{module}"
        ),
        name,
    )
    globals()[name] = value
    return value
