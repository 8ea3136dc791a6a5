"""One unit runner for every job: audits, aggregations, checks.

A job is a list of units of work (each with a stable key) and an async function that does one
unit. The runner skips the units the run folder already has, runs the rest with bounded
concurrency, appends each result (and each agent run) to the folder as soon as it is done, records
every failure with its cause (a crash inside the work function becomes an ``internal`` error with
its traceback), stops starting units once a cost budget is spent, reports progress after each unit,
and calls one finalize step (exports) at the end, also when the run is interrupted or stopped.
The runner knows nothing of what a unit does.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel

from memex_audit.runs._store import RunFailure, RunStore
from memex_audit.trajectory import Trajectory

P = TypeVar("P")

Stopped = Literal["complete", "budget", "interrupted"]


@dataclass(frozen=True)
class Unit(Generic[P]):
    """One unit of work.

    Attributes:
        key: Stable identity of the unit in the run folder (resume skips keys already done).
        payload: What the work function needs (a trajectory and its task, a task group…).
        file: The input file the unit comes from, for error records.
        line: The line or record in that file, when known.
    """

    key: str
    payload: P
    file: str | None = None
    line: int | None = None

    @classmethod
    def of_trajectory(cls, key: str, payload: P, trajectory: Trajectory) -> Unit[P]:
        """A unit about one trajectory, placed at the file and line it was read from."""
        src = trajectory.source
        return cls(key=key, payload=payload, file=src.file if src else None, line=src.line if src else None)


@dataclass
class UnitDone:
    """What the work function returns for one unit: a result or an error, what it cost, agent runs.

    Attributes:
        record: The result to append (``None`` when the unit failed).
        error: The failure to record (``None`` on success).
        cost_usd: What the unit spent; ``None`` when the price is unknown.
        runs: Agent runs to record in ``agent_runs.jsonl``: trajectories, or their JSON already
            serialized (a worker process serializes them, so the process that writes need not).
        partial: Failures of a part of the unit whose result is still kept (a model step that
            failed beside offline results that did not), recorded in ``errors.jsonl``.
    """

    record: BaseModel | None = None
    error: RunFailure | None = None
    cost_usd: float | None = 0.0
    runs: Sequence[Trajectory | bytes] = ()
    partial: Sequence[RunFailure] = ()


@dataclass
class UnitProgress:
    """Where a run stands, passed to the progress callback after each unit."""

    done: int
    total: int
    errors: int
    cost_usd: float
    elapsed_s: float
    key: str
    record: BaseModel | None = None
    error: RunFailure | None = None


@dataclass
class RunOutcome:
    """How a run ended.

    Attributes:
        total: Units in the job.
        done: Units finished with a result in this invocation.
        errors: Units that failed in this invocation (recorded in ``errors.jsonl``).
        skipped: Units the run folder already had.
        remaining: Units not attempted (budget or interruption).
        partial: Units kept with a result although a part of them failed (see ``UnitDone.partial``).
        stopped: ``complete``, ``budget`` (the cost budget was spent) or ``interrupted``.
        cost_usd: What this invocation spent (known prices only).
        unknown_cost: Some unit's cost was unknown.
        elapsed_s: Wall-clock time.
    """

    total: int = 0
    done: int = 0
    errors: int = 0
    skipped: int = 0
    remaining: int = 0
    partial: int = 0
    stopped: Stopped = "complete"
    cost_usd: float = 0.0
    unknown_cost: bool = False
    elapsed_s: float = 0.0
    error_keys: list[str] = field(default_factory=list)


class UnitRunner:
    """Runs units of work into a run folder (see the module docstring).

    Args:
        store: The run folder.
        concurrency: Units in flight at once.
        max_cost_usd: Start no unit once this much has been spent, counting what earlier invocations
            of the same run spent (the folder's ledger); units in flight finish.
        on_progress: Called after each unit.
        after_result: Called with each key once its result is stored.
        finalize: Called once at the end (exports), whatever the outcome.
    """

    def __init__(
        self,
        store: RunStore,
        *,
        concurrency: int = 1,
        max_cost_usd: float | None = None,
        on_progress: Callable[[UnitProgress], None] | None = None,
        after_result: Callable[[str], None] | None = None,
        finalize: Callable[[RunStore], None] | None = None,
    ) -> None:
        self.store = store
        self.concurrency = max(1, concurrency)
        self.max_cost_usd = max_cost_usd
        self.on_progress = on_progress
        self.after_result = after_result
        self.finalize = finalize

    def run_sync(
        self, units: Sequence[Unit[P]], work: Callable[[Unit[P]], Awaitable[UnitDone]]
    ) -> RunOutcome:
        """``run`` for callers without an event loop."""
        return asyncio.run(self.run(units, work))

    async def run(
        self, units: Sequence[Unit[P]], work: Callable[[Unit[P]], Awaitable[UnitDone]]
    ) -> RunOutcome:
        """Do every unit the run folder does not have yet, then finalize."""
        started = time.perf_counter()
        done_keys = self.store.done_keys()
        spent_before = self.store.spent_usd() if self.max_cost_usd is not None else 0.0
        pending = [u for u in units if u.key not in done_keys]
        outcome = RunOutcome(total=len(units), skipped=len(units) - len(pending))
        queue: asyncio.Queue[Unit[P]] = asyncio.Queue()
        for unit in pending:
            queue.put_nowait(unit)

        def over_budget() -> bool:
            return self.max_cost_usd is not None and spent_before + outcome.cost_usd >= self.max_cost_usd

        async def worker() -> None:
            while not queue.empty():
                if over_budget():
                    outcome.stopped = "budget"
                    return
                unit = queue.get_nowait()
                result = await self._one(unit, work)
                self._record(unit, result, outcome)
                if self.on_progress is not None:
                    self.on_progress(
                        UnitProgress(
                            done=outcome.done + outcome.errors,
                            total=len(pending),
                            errors=outcome.errors,
                            cost_usd=outcome.cost_usd,
                            elapsed_s=time.perf_counter() - started,
                            key=unit.key,
                            record=result.record,
                            error=result.error,
                        )
                    )

        tasks = [asyncio.ensure_future(worker()) for _ in range(min(self.concurrency, len(pending)) or 1)]
        failing = False
        try:
            await asyncio.gather(*tasks)
        except BaseException as exc:
            failing = True
            if isinstance(exc, KeyboardInterrupt | asyncio.CancelledError):
                outcome.stopped = "interrupted"
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            outcome.remaining = queue.qsize()
            if outcome.remaining and outcome.stopped == "complete" and over_budget():
                outcome.stopped = "budget"
            outcome.elapsed_s = time.perf_counter() - started
            try:
                self.store.sync()  # what was appended is on the disk before the exports say so
            except Exception:
                if not failing:
                    raise
            if self.finalize is not None:
                try:
                    self.finalize(self.store)
                except Exception:
                    if not failing:  # the first error is the one to report
                        raise
        return outcome

    async def _one(self, unit: Unit[P], work: Callable[[Unit[P]], Awaitable[UnitDone]]) -> UnitDone:
        try:
            return await work(unit)
        except (KeyboardInterrupt, asyncio.CancelledError):
            raise
        except Exception as exc:  # one unit's crash must not stop the run: it is recorded
            return UnitDone(
                error=RunFailure(
                    key=unit.key,
                    kind="internal",
                    message=f"{type(exc).__name__}: {exc}",
                    file=unit.file,
                    line=unit.line,
                    traceback="".join(traceback.format_exception(exc))[-8000:],
                )
            )

    def _record(self, unit: Unit[P], result: UnitDone, outcome: RunOutcome) -> None:
        for run in result.runs:
            self.store.append_run_trajectory(run)
        if result.cost_usd is None:
            outcome.unknown_cost = True
        outcome.cost_usd += result.cost_usd or 0.0
        if result.cost_usd is None or result.cost_usd > 0:
            self.store.append_spend(unit.key, result.cost_usd)
        for failure in result.partial:
            self.store.append_error(failure)
        if result.partial:
            outcome.partial += 1
        if result.record is not None and result.error is None:
            self.store.append_result(unit.key, result.record)
            outcome.done += 1
            if self.after_result is not None:
                self.after_result(unit.key)
            return
        error = result.error or RunFailure(
            key=unit.key, kind="internal", message="the unit returned no result"
        )
        self.store.append_error(error)
        outcome.errors += 1
        outcome.error_keys.append(unit.key)
