"""The earlier home of run folders and their analysis, kept so older imports keep working.

Run folders now live in ``memex_audit.runs`` (below the stock agents) and the summaries, agreement
and app queries in ``memex_audit.analysis`` (above them); this package only re-exports them.
"""

from __future__ import annotations

import importlib
from typing import Any

from memex_audit.runs import RunFailure, RunKind, RunManifest, RunModelSettings, RunStore

_LAZY = {
    "aggregate_accuracy_frame": "memex_audit.analysis",
    "aggregate_scaling_frame": "memex_audit.analysis",
    "aggregate_tasks_frame": "memex_audit.analysis",
    "audit_agreement": "memex_audit.analysis",
    "audit_frame": "memex_audit.analysis",
    "breakdown_table": "memex_audit.analysis",
    "category_agreement": "memex_audit.analysis",
    "category_counts": "memex_audit.analysis",
    "cohen_kappa": "memex_audit.analysis",
    "coding_consistency": "memex_audit.analysis",
    "coding_reference_labels": "memex_audit.analysis",
    "read_failure_analyses": "memex_audit.analysis",
    "read_id_list": "memex_audit.analysis",
    "read_label_file": "memex_audit.analysis",
    "summarize_audit": "memex_audit.analysis",
}

__all__ = [
    "RunFailure",
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
