"""Run folders: writing and reading audit and aggregation runs atomically, resume, exports."""

from memex_audit.results._store import RunError, RunKind, RunManifest, RunStore

__all__ = ["RunError", "RunKind", "RunManifest", "RunStore"]
