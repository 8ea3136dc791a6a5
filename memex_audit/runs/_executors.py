"""Executors: where units of work run — the calling process, a pool of local processes, or a Ray cluster.

A job that can run elsewhere hands an executor a *worker factory*: a picklable callable that builds
the worker once per process (for the offline audit, an auditor with its taxonomy). It then submits
picklable *jobs*; each returns the worker's result to the caller. Workers never write the run
folder: the caller alone appends results through ``UnitRunner``, so resume, the write lock and
merge work whatever the executor.

``BatchedWork`` bridges the unit runner (one unit at a time, by key) and executors (a job per batch
of units that share their input, such as the failed trajectories of one task): the first unit of a
batch submits the whole batch, the others await the same job, and a bounded number of batches is in
flight at once.

Ray is optional (the ``ray`` extra); ``RayExecutor`` says how to install it when it is missing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import multiprocessing
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Generic, Literal, Protocol, TypeVar

from memex_audit._runtime import available_cpus, start_method
from memex_audit.errors import UsageError
from memex_audit.runs._units import Unit, UnitDone

P = TypeVar("P")
R = TypeVar("R")

ExecutorKind = Literal["local", "processes", "ray"]
EXECUTOR_KINDS: tuple[ExecutorKind, ...] = ("local", "processes", "ray")


class Executor(Protocol):
    """Runs jobs on workers built by a factory (see the module docstring).

    Attributes:
        kind: ``local``, ``processes`` or ``ray``.
        workers: How many jobs run at once.
        shared_filesystem: Whether workers read the same local files as the caller (a pool on this
            machine, a local Ray instance); when not, only URLs can be read by the workers.
    """

    kind: ExecutorKind
    workers: int
    shared_filesystem: bool

    async def submit(self, job: Any) -> Any:
        """Run ``job`` on a worker and return its result (a worker's exception is raised here)."""
        ...

    def close(self) -> None:
        """Stop the workers."""
        ...


class LocalExecutor:
    """Runs jobs one at a time in a thread of the calling process (the reference for the others)."""

    kind: ExecutorKind = "local"
    shared_filesystem = True

    def __init__(self, factory: Callable[[], Callable[[Any], Any]]) -> None:
        self.workers = 1
        self._worker = factory()
        # A thread lock, not an asyncio one: the executor may serve several event loops in turn.
        self._lock = threading.Lock()

    async def submit(self, job: Any) -> Any:
        return await asyncio.to_thread(self._call, job)

    def _call(self, job: Any) -> Any:
        with self._lock:
            return self._worker(job)

    def close(self) -> None:
        return None


_WORKER: Callable[[Any], Any] | None = None


WORKER_GC_THRESHOLDS = (20_000, 20, 100)
"""The garbage collector's thresholds in a worker process (Python's defaults: 700, 10, 10). A job
reads and builds many small objects, nearly all freed by reference counting when it returns; with
the defaults the collector walks the survivors of every few hundred allocations, about a tenth of a
worker's time. Cycles are still collected, less often."""


def _tune_collector() -> None:
    # The modules and the worker live as long as the process: not the collector's business.
    gc.freeze()
    gc.set_threshold(*WORKER_GC_THRESHOLDS)


def _start_worker(factory: Callable[[], Callable[[Any], Any]]) -> None:
    global _WORKER
    _WORKER = factory()
    _tune_collector()


def _run_job(job: Any) -> Any:
    if _WORKER is None:  # pragma: no cover - the pool's initializer always ran
        raise RuntimeError("the worker process was not initialised")
    return _WORKER(job)


class ProcessExecutor:
    """Runs jobs on a pool of worker processes on this machine, one per core by default.

    Workers start from a clean server process (``forkserver``; ``spawn`` where there is none), not
    from a fork of the caller, whose threads (event loop, kernels) a fork would copy half-way. Each
    builds its worker once, after importing ``preload``.

    Args:
        factory: Builds the worker in each process (picklable).
        workers: Processes (default: the cores this process may use).
        preload: Modules the worker processes import before they start (start-up cost paid once).
    """

    kind: ExecutorKind = "processes"
    shared_filesystem = True

    def __init__(
        self,
        factory: Callable[[], Callable[[Any], Any]],
        *,
        workers: int | None = None,
        preload: Sequence[str] = (),
    ) -> None:
        self.workers = max(1, workers or available_cpus())
        method = start_method()
        context = multiprocessing.get_context(method)
        if method == "forkserver" and preload:
            context.set_forkserver_preload(list(preload))
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=context, initializer=_start_worker, initargs=(factory,)
        )

    @property
    def pool(self) -> concurrent.futures.Executor:
        """The pool itself, to run other picklable calls on the same processes (reading the index
        of the jobs' input, say) instead of starting a second set; each process builds its worker
        when it starts, before its first call."""
        return self._pool

    async def submit(self, job: Any) -> Any:
        return await asyncio.wrap_future(self._pool.submit(_run_job, job))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _RayActor:
    """The body of a Ray actor: one worker, built once, running jobs."""

    def __init__(self, factory: Callable[[], Callable[[Any], Any]]) -> None:
        self.worker = factory()
        _tune_collector()  # as in a pool's worker process

    def run(self, job: Any) -> Any:
        return self.worker(job)


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise UsageError("--executor ray needs Ray: pip install 'memex-audit[ray]'") from exc
    return ray


class RayExecutor:
    """Runs jobs on Ray actors, one per CPU of the cluster (or ``workers``).

    Args:
        factory: Builds the worker in each actor (pickled by Ray).
        address: The cluster to join (``ray://head:10001``, ``auto``, or ``host:6379``); ``None``
            starts a local Ray instance with ``workers`` CPUs, stopped by ``close``.
        workers: Actors to start (default: the CPUs the cluster offers).
        runtime_env: Ray's runtime environment for the actors (``{"pip": ["memex-audit"]}``...).
    """

    kind: ExecutorKind = "ray"

    def __init__(
        self,
        factory: Callable[[], Callable[[Any], Any]],
        *,
        address: str | None = None,
        workers: int | None = None,
        runtime_env: Mapping[str, Any] | None = None,
    ) -> None:
        ray = _ray()
        self._started = not ray.is_initialized()
        if self._started:
            options: dict[str, Any] = {
                "address": address,
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if address is None:
                options["num_cpus"] = max(1, workers or available_cpus())
            if runtime_env:
                options["runtime_env"] = dict(runtime_env)
            ray.init(**options)
        self.shared_filesystem = address is None
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, workers or cpus)
        actor = ray.remote(num_cpus=1)(_RayActor)
        self._actors = [actor.remote(factory) for _ in range(self.workers)]
        self._idle: asyncio.Queue[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, job: Any) -> Any:
        loop = asyncio.get_running_loop()
        if self._idle is None or self._loop is not loop:  # a queue serves the loop that made it
            self._idle, self._loop = asyncio.Queue(), loop
            for actor in self._actors:
                self._idle.put_nowait(actor)
        idle = self._idle
        actor = await idle.get()
        try:
            return await actor.run.remote(job)
        finally:
            idle.put_nowait(actor)

    def close(self) -> None:
        ray = _ray()
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
        if self._started:
            ray.shutdown()


def make_executor(
    kind: ExecutorKind,
    factory: Callable[[], Callable[[Any], Any]],
    *,
    workers: int | None = None,
    address: str | None = None,
    preload: Sequence[str] = (),
) -> Executor:
    """The executor of ``kind`` for workers built by ``factory``.

    Raises:
        UsageError: An unknown kind, ``address`` without Ray, or Ray is not installed.
    """
    if kind not in EXECUTOR_KINDS:
        raise UsageError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTOR_KINDS)}")
    if address is not None and kind != "ray":
        raise UsageError("--address names a Ray cluster: use it with --executor ray")
    if kind == "ray":
        return RayExecutor(factory, address=address, workers=workers)
    if kind == "processes":
        return ProcessExecutor(factory, workers=workers, preload=preload)
    return LocalExecutor(factory)


def default_executor(cpu_bound: bool, units: int, *, min_units: int = 32) -> ExecutorKind:
    """``processes`` for CPU-bound work with enough units to pay for starting the pool on more than
    one core; ``local`` otherwise (model calls wait on the network, not on a core)."""
    if cpu_bound and units >= min_units and available_cpus() > 1 and sys.platform != "emscripten":
        return "processes"
    return "local"


class BatchedWork(Generic[P, R]):
    """Per-unit work for ``UnitRunner`` that runs batches of units as jobs on an executor.

    Args:
        executor: Where jobs run.
        units: The units the runner will do (those the run folder does not have yet), in order;
            the units of a batch should be adjacent, so a batch's units are in flight together.
        batch_of: The batch a unit belongs to.
        job_of: The job of a batch, given its units.
        unpack: The per-unit results of a job's result, by unit key (it may also record what
            the job reports about the batch as a whole).
        batches_in_flight: Jobs submitted and not yet finished at most (default: twice the
            executor's workers, so a worker never waits for the caller).
    """

    def __init__(
        self,
        executor: Executor,
        units: Sequence[Unit[P]],
        *,
        batch_of: Callable[[Unit[P]], str],
        job_of: Callable[[str, list[Unit[P]]], Any],
        unpack: Callable[[R], Mapping[str, UnitDone]],
        batches_in_flight: int | None = None,
    ) -> None:
        self.executor = executor
        self._batch_of = batch_of
        self._job_of = job_of
        self._unpack = unpack
        self._members: dict[str, list[Unit[P]]] = {}
        for unit in units:
            self._members.setdefault(batch_of(unit), []).append(unit)
        self._slots = asyncio.Semaphore(max(1, batches_in_flight or 2 * executor.workers))
        self._jobs: dict[str, asyncio.Future[dict[str, UnitDone]]] = {}
        self._left: dict[str, int] = {name: len(members) for name, members in self._members.items()}
        largest = max((len(m) for m in self._members.values()), default=1)
        self.concurrency = max(1, largest * (batches_in_flight or 2 * executor.workers))
        """Units the runner should keep in flight so that the executor stays busy."""

    async def __call__(self, unit: Unit[P]) -> UnitDone:
        name = self._batch_of(unit)
        job = self._jobs.get(name)
        if job is None:
            job = self._jobs[name] = asyncio.ensure_future(self._run(name))
        try:
            # Shielded: one unit cancelled (a budget stop) must not cancel its batch for the others.
            results = await asyncio.shield(job)
        finally:
            self._left[name] -= 1
            if self._left[name] == 0:
                self._jobs.pop(name, None)
        done = results.pop(unit.key, None)
        return done if done is not None else UnitDone(record=None)

    async def _run(self, name: str) -> dict[str, UnitDone]:
        async with self._slots:
            result: R = await self.executor.submit(self._job_of(name, self._members[name]))
        return dict(self._unpack(result))
