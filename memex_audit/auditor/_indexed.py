"""Auditing from a trajectory index, one task group at a time, in this process or on an executor.

``AuditRunner.run_indexed`` plans its units from the index alone (keys as ``plan_audit`` gives them),
then loads each task group when its first unit starts and drops it when its last unit is done, so
memory holds the index plus the groups in flight, never the folder.

With a ``processes`` or ``ray`` executor, the failed trajectories of a few consecutive task groups
form one job (``JOB_UNITS``, ``JOB_BYTES``; a group is never split): a worker reads each group (from
the index entries; or, when it cannot read the driver's files, from the group the driver read and
sent), audits its failed trajectories with the offline policy, and returns the reports and agent
runs. The driver alone writes the run folder.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from memex_audit.auditor._selection import AuditSelection
from memex_audit.loaders import IndexEntry, LoadProblem, TrajectoryIndex, load_entries
from memex_audit.runs import BatchedWork, Executor, RunFailure, RunStore, Unit, UnitDone, keys_of_places
from memex_audit.taxonomy import Taxonomy
from memex_audit.trajectory import TaskGroup, Trajectory, group_by_task, outcome_of

if TYPE_CHECKING:
    from memex_audit.auditor._runner import AuditRunner, AuditUnit


@dataclass(frozen=True)
class IndexedUnit:
    """One failed trajectory to audit, as the index knows it.

    Attributes:
        key: The unit's key (as ``plan_audit`` makes it).
        task_id: Its task.
        ordinal: Its position among the task's entries.
    """

    key: str
    task_id: str
    ordinal: int


def plan_indexed(
    index: TrajectoryIndex, selection: AuditSelection | None = None
) -> tuple[list[Unit[IndexedUnit]], dict[str, list[IndexEntry]], int]:
    """The units ``plan_audit`` gives for the indexed trajectories (same selection, keys and order),
    the entries of each task, and how many trajectories were left out."""
    chosen = selection or AuditSelection()
    tasks = index.tasks()
    places = [
        (e.id, e.source_file, e.source_position if e.source_position is not None else e.source_line)
        for _, entries in tasks
        for e in entries
    ]
    keys = iter(keys_of_places(places))
    units: list[Unit[IndexedUnit]] = []
    other = 0
    for task_id, entries in tasks:
        for ordinal, entry in enumerate(entries):
            key = next(keys)
            matched = chosen.matches_fields(
                outcome=outcome_of(entry),
                id=entry.id,
                task_id=entry.task_id,
                model=entry.model,
                harness=entry.harness,
                format=entry.format,
            )
            if not matched:
                other += 1
                continue
            units.append(
                Unit(
                    key=key,
                    payload=IndexedUnit(key, task_id, ordinal),
                    file=entry.source_file,
                    line=entry.source_line,
                )
            )
    if chosen.sample is not None or chosen.limit is not None:
        keep = chosen.narrow([u.key for u in units])
        other += len(units) - len(keep)
        units = [u for u in units if u.key in keep]
    return units, dict(tasks), other


def read_task(entries: Sequence[IndexEntry]) -> tuple[TaskGroup | None, list[Trajectory | LoadProblem]]:
    """A task's group read from its entries, and what each entry gave (a trajectory or its load error)."""
    items: list[Trajectory | LoadProblem] = list(load_entries(entries))
    groups = group_by_task(item for item in items if isinstance(item, Trajectory))
    return (groups[0] if groups else None), items


def _unit_of(
    item: IndexedUnit, group: TaskGroup | None, items: Sequence[Trajectory | LoadProblem]
) -> AuditUnit | UnitDone:
    """The audit unit of ``item`` in its loaded group, or the error that its record could not be read."""
    from memex_audit.auditor._runner import AuditUnit

    target = items[item.ordinal]
    if isinstance(target, LoadProblem):
        return UnitDone(error=RunFailure.of_load_problem(target, key=item.key))
    if group is None:
        return UnitDone(
            error=RunFailure(key=item.key, kind="load", message="the task's records could not be read")
        )
    return AuditUnit(item.key, group, target)


# -- in this process ------------------------------------------------------------------------------


class _LoadedTasks:
    """Task groups loaded for the units in flight: read once, dropped after the task's last unit."""

    def __init__(
        self,
        runner: AuditRunner,
        tasks: dict[str, list[IndexEntry]],
        units: Sequence[Unit[IndexedUnit]],
        record_errors: Callable[[list[LoadProblem]], None],
    ) -> None:
        self.runner = runner
        self.tasks = tasks
        self.left = Counter(u.payload.task_id for u in units)
        self.loaded: dict[str, tuple[TaskGroup | None, list[Trajectory | LoadProblem]]] = {}
        self.record_errors = record_errors

    def acquire(self, task_id: str) -> tuple[TaskGroup | None, list[Trajectory | LoadProblem]]:
        # Read in the loop's thread: a group reads in milliseconds, and units then start in the
        # order the in-memory run starts them.
        loaded = self.loaded.get(task_id)
        if loaded is None:
            loaded = self.loaded[task_id] = read_task(self.tasks[task_id])
            self.record_errors([item for item in loaded[1] if isinstance(item, LoadProblem)])
        return loaded

    def release(self, task_id: str, group: TaskGroup | None) -> None:
        self.left[task_id] -= 1
        if self.left[task_id] <= 0:
            self.loaded.pop(task_id, None)
            if group is not None:
                self.runner._groups.pop(id(group), None)  # its label-free copy goes with it


def local_work(
    runner: AuditRunner,
    tasks: dict[str, list[IndexEntry]],
    units: Sequence[Unit[IndexedUnit]],
    record_errors: Callable[[list[LoadProblem]], None],
) -> Callable[[Unit[IndexedUnit]], Awaitable[UnitDone]]:
    """Per-unit work that audits in this process, loading each task group once."""
    loaded = _LoadedTasks(runner, tasks, units, record_errors)

    async def work(unit: Unit[IndexedUnit]) -> UnitDone:
        group, items = loaded.acquire(unit.payload.task_id)
        try:
            audit = _unit_of(unit.payload, group, items)
            if isinstance(audit, UnitDone):
                return audit
            return await runner._work(Unit(key=unit.key, payload=audit, file=unit.file, line=unit.line))
        finally:
            loaded.release(unit.payload.task_id, group)

    return work


# -- on an executor -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditJob:
    """One task group's audits for a worker.

    Attributes:
        task_id: The task.
        units: The failed trajectories to audit.
        entries: Where the task's trajectories are (read by the worker), or ``None``...
        group: ...the group itself, when the worker cannot read the entries (already as loaded).
    """

    task_id: str
    units: list[IndexedUnit]
    entries: list[IndexEntry] | None = None
    group: tuple[TaskGroup | None, list[Trajectory | LoadProblem]] | None = None


@dataclass
class AuditJobResult:
    """What a worker returns: each unit's result, and the records of the task it could not read."""

    done: dict[str, UnitDone] = field(default_factory=dict)
    load_errors: list[LoadProblem] = field(default_factory=list)


class OfflineAuditWorker:
    """Audits task groups with the offline policy; built once per worker process (picklable).

    Args:
        taxonomy: The taxonomy to classify into.
        kernel: Where the policy's code runs.
        max_turns: Agent turns allowed per trajectory.
    """

    def __init__(
        self,
        taxonomy: Taxonomy,
        *,
        kernel: Literal["inprocess", "subprocess"] = "inprocess",
        max_turns: int = 20,
    ) -> None:
        self.taxonomy = taxonomy
        self.kernel: Literal["inprocess", "subprocess"] = kernel
        self.max_turns = max_turns

    def __call__(self) -> Callable[[Sequence[AuditJob]], AuditJobResult]:
        from memex_audit.auditor._runner import AuditRunner

        runner = AuditRunner(self.taxonomy, kernel=self.kernel, max_turns=self.max_turns)
        loop = asyncio.new_event_loop()

        def run(jobs: Sequence[AuditJob]) -> AuditJobResult:
            result = AuditJobResult()
            for job in jobs:
                loop.run_until_complete(_run_job(runner, job, result))
            return result

        return run


async def _run_job(runner: AuditRunner, job: AuditJob, result: AuditJobResult) -> None:
    group, items = job.group if job.group is not None else read_task(job.entries or [])
    result.load_errors.extend(item for item in items if isinstance(item, LoadProblem))
    try:
        for item in job.units:
            audit = _unit_of(item, group, items)
            if isinstance(audit, UnitDone):
                result.done[item.key] = audit
                continue
            done = await runner._work(Unit.of_trajectory(item.key, audit, audit.trajectory))
            # Serialized here, in the worker: the process that writes the run folder only appends.
            runs = [r if isinstance(r, bytes) else r.model_dump_json().encode() for r in done.runs]
            result.done[item.key] = dataclasses.replace(done, runs=runs)
    finally:
        if group is not None:
            runner._groups.pop(id(group), None)  # its label-free copy goes with it


JOB_UNITS = 8
"""Task groups are sent to a worker together until a job holds this many failed trajectories..."""
JOB_BYTES = 1 << 20
"""...or this many bytes of records: sending a job and its results back costs about as much as a
small audit, and most task groups hold one or two failed rollouts."""


def _jobs_of(units: Sequence[Unit[IndexedUnit]], tasks: dict[str, list[IndexEntry]]) -> dict[str, str]:
    """The job each task goes in: consecutive tasks share one up to ``JOB_UNITS`` units or
    ``JOB_BYTES`` of records (a task is never split), named after its first task."""
    job_of: dict[str, str] = {}
    current, size, count = "", 0, 0
    for unit in units:
        task = unit.payload.task_id
        if task in job_of:
            count += 1
            continue
        weight = sum(e.length for e in tasks[task])
        if not current or count >= JOB_UNITS or size + weight > JOB_BYTES:
            current, size, count = task, 0, 0
        job_of[task] = current
        size += weight
        count += 1
    return job_of


def executor_work(
    executor: Executor,
    tasks: dict[str, list[IndexEntry]],
    units: Sequence[Unit[IndexedUnit]],
    record_errors: Callable[[list[LoadProblem]], None],
) -> BatchedWork[IndexedUnit, AuditJobResult]:
    """Per-unit work that sends task groups' units to ``executor``, a few small groups per job
    (see ``JOB_UNITS``)."""
    chunk = _jobs_of(units, tasks)

    def task_job(task_id: str, payloads: list[IndexedUnit]) -> AuditJob:
        entries = tasks[task_id]
        if executor.shared_filesystem or all(e.readable_anywhere for e in entries):
            return AuditJob(task_id, payloads, entries=entries)
        return AuditJob(task_id, payloads, group=read_task(entries))

    def job_of(_: str, members: list[Unit[IndexedUnit]]) -> list[AuditJob]:
        by_task: dict[str, list[IndexedUnit]] = {}
        for member in members:
            by_task.setdefault(member.payload.task_id, []).append(member.payload)
        return [task_job(task_id, payloads) for task_id, payloads in by_task.items()]

    def unpack(result: AuditJobResult) -> dict[str, UnitDone]:
        record_errors(result.load_errors)
        return result.done

    return BatchedWork(
        executor, units, batch_of=lambda u: chunk[u.payload.task_id], job_of=job_of, unpack=unpack
    )


def load_error_recorder(store: RunStore) -> Callable[[list[LoadProblem]], None]:
    """Records each unreadable record once in ``store`` (also across reruns)."""
    seen = {key for key in store.done_keys() if key.startswith("load:")}

    def record(errors: list[LoadProblem]) -> None:
        for error in errors:
            run_error = RunFailure.of_load_problem(error)
            if run_error.key not in seen:
                seen.add(run_error.key)
                store.append_error(run_error)

    return record
