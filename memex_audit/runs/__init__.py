"""Run folders and the unit runner: the layer below the stock agents that every job writes through.

A run folder holds a manifest, append-only results and errors, agent runs and exports (see
``RunStore``); ``RunLock`` keeps a second writer out; ``UnitRunner`` runs units of work into it with
resume, concurrency, a budget, progress and one finalize step. Nothing here knows what a unit does.
"""

from memex_audit._runtime import available_cpus, prepare_processes
from memex_audit.runs._config import (
    AggregateRunConfig,
    AskRunConfig,
    AuditRunConfig,
    CheckRunConfig,
    RunConfig,
)
from memex_audit.runs._executors import (
    EXECUTOR_KINDS,
    BatchedWork,
    Executor,
    ExecutorKind,
    LocalExecutor,
    ProcessExecutor,
    RayExecutor,
    default_executor,
    make_executor,
)
from memex_audit.runs._lock import RunLock, RunLocked
from memex_audit.runs._selection import Selection, keys_of_places, unit_keys
from memex_audit.runs._store import (
    FailureLine,
    ResultLine,
    RunFailure,
    RunKind,
    RunManifest,
    RunModelSettings,
    RunStore,
    StorageError,
)
from memex_audit.runs._units import RunOutcome, Unit, UnitDone, UnitProgress, UnitRunner

__all__ = [
    "EXECUTOR_KINDS",
    "AggregateRunConfig",
    "AskRunConfig",
    "AuditRunConfig",
    "BatchedWork",
    "CheckRunConfig",
    "Executor",
    "ExecutorKind",
    "FailureLine",
    "LocalExecutor",
    "ProcessExecutor",
    "RayExecutor",
    "ResultLine",
    "RunConfig",
    "RunFailure",
    "RunKind",
    "RunLock",
    "RunLocked",
    "RunManifest",
    "RunModelSettings",
    "RunOutcome",
    "RunStore",
    "Selection",
    "StorageError",
    "Unit",
    "UnitDone",
    "UnitProgress",
    "UnitRunner",
    "available_cpus",
    "default_executor",
    "keys_of_places",
    "make_executor",
    "prepare_processes",
    "unit_keys",
]
