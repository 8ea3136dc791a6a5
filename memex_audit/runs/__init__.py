"""Run folders and the unit runner: the layer below the stock agents that every job writes through.

A run folder holds a manifest, append-only results and errors, agent runs and exports (see
``RunStore``); ``RunLock`` keeps a second writer out; ``UnitRunner`` runs units of work into it with
resume, concurrency, a budget, progress and one finalize step. Nothing here knows what a unit does.
"""

from memex_audit.runs._config import AggregateRunConfig, AuditRunConfig, CheckRunConfig, RunConfig
from memex_audit.runs._lock import RunLock, RunLocked
from memex_audit.runs._store import RunError, RunKind, RunManifest, RunModelSettings, RunStore, StorageError
from memex_audit.runs._units import RunOutcome, Unit, UnitDone, UnitProgress, UnitRunner

__all__ = [
    "AggregateRunConfig",
    "AuditRunConfig",
    "CheckRunConfig",
    "RunConfig",
    "RunError",
    "RunKind",
    "RunLock",
    "RunLocked",
    "RunManifest",
    "RunModelSettings",
    "RunOutcome",
    "RunStore",
    "StorageError",
    "Unit",
    "UnitDone",
    "UnitProgress",
    "UnitRunner",
]
