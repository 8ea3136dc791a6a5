"""Executors: batches of units run in this process, on a process pool or on Ray give the same
results, and only the caller writes the run folder (so resume keeps working)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from memex_audit.auditor import AuditReport, AuditRunner
from memex_audit.errors import UsageError
from memex_audit.loaders import index_trajectories, load
from memex_audit.runs import RunStore, Unit, UnitDone, UnitRunner
from memex_audit.runs._executors import (
    BatchedWork,
    LocalExecutor,
    ProcessExecutor,
    available_cpus,
    default_executor,
    make_executor,
)
from memex_audit.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_trajectories"


class Square(BaseModel):
    n: int
    square: int
    pid: int


class SquareWorker:
    """A worker factory: squares each number of a batch (picklable, importable by worker processes)."""

    def __call__(self) -> Any:
        import os

        def run(job: list[int]) -> dict[str, UnitDone]:
            return {f"n{n}": UnitDone(record=Square(n=n, square=n * n, pid=os.getpid())) for n in job}

        return run


def _units(count: int) -> list[Unit[int]]:
    return [Unit(key=f"n{n}", payload=n) for n in range(count)]


def _run_batched(executor: Any, store: RunStore, units: list[Unit[int]]) -> Any:
    done = store.done_keys()
    pending = [u for u in units if u.key not in done]
    work: BatchedWork[int, dict[str, UnitDone]] = BatchedWork(
        executor,
        pending,
        batch_of=lambda u: str(u.payload // 5),
        job_of=lambda _name, members: [m.payload for m in members],
        unpack=lambda result: result,
    )
    return UnitRunner(store, concurrency=work.concurrency).run_sync(units, work)


@pytest.mark.parametrize("kind", ["local", "processes"])
def test_batches_run_on_workers_and_the_caller_writes(tmp_path: Path, kind: str) -> None:
    executor = (
        LocalExecutor(SquareWorker()) if kind == "local" else ProcessExecutor(SquareWorker(), workers=2)
    )
    try:
        with RunStore.open(tmp_path / "run", kind="check") as store:
            outcome = _run_batched(executor, store, _units(23))
            assert (outcome.done, outcome.errors) == (23, 0)
            results = store.read_results(Square)
    finally:
        executor.close()
    assert sorted((r.n, r.square) for r in results) == [(n, n * n) for n in range(23)]
    if kind == "processes":
        import os

        assert os.getpid() not in {r.pid for r in results}


def test_a_resumed_run_sends_only_what_is_left(tmp_path: Path) -> None:
    executor = LocalExecutor(SquareWorker())
    with RunStore.open(tmp_path / "run", kind="check") as store:
        _run_batched(executor, store, _units(7))
    with RunStore.open(tmp_path / "run", kind="check") as store:
        outcome = _run_batched(executor, store, _units(12))
        assert (outcome.skipped, outcome.done) == (7, 5)
        assert len(store.read_results(Square)) == 12


class FailingWorker:
    def __call__(self) -> Any:
        def run(job: list[int]) -> dict[str, UnitDone]:
            raise ValueError(f"cannot do {job}")

        return run


def test_a_failing_job_is_an_error_for_each_of_its_units(tmp_path: Path) -> None:
    with RunStore.open(tmp_path / "run", kind="check") as store:
        outcome = _run_batched(LocalExecutor(FailingWorker()), store, _units(6))
        assert (outcome.done, outcome.errors) == (0, 6)
        errors = store.read_errors()
    assert {e.kind for e in errors} == {"internal"} and "ValueError: cannot do [0, 1, 2, 3, 4]" in errors[
        0
    ].message


def test_executor_choices() -> None:
    with pytest.raises(UsageError, match="unknown executor"):
        make_executor("threads", SquareWorker())  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="--address"):
        make_executor("processes", SquareWorker(), address="ray://head:10001")
    assert default_executor(False, 10_000) == "local"
    assert default_executor(True, 3) == "local"
    assert default_executor(True, 10_000) == ("processes" if available_cpus() > 1 else "local")


# -- the offline audit on every executor ----------------------------------------------------------


def _reports(store: RunStore) -> dict[str, dict[str, Any]]:
    reports = {}
    for report in store.read_results(AuditReport):
        data = report.model_dump(mode="json")
        data.pop("created_at")
        data["producer"].pop("run_id")
        ref = report.trajectory
        reports[f"{ref.id}@{ref.file}:{ref.line}:{ref.position}"] = data
    return reports


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    for file in sorted((SAMPLES / "officeqa").glob("*.jsonl"))[:4]:
        shutil.copy(file, folder / file.name)
    shutil.copytree(SAMPLES / "mixed_formats" / "openai_chat", folder / "openai_chat")
    return folder


@pytest.fixture(scope="module")
def baseline(small_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    with RunStore.open(tmp_path_factory.mktemp("runs") / "base", kind="audit") as store:
        AuditRunner(load_taxonomy("memex")).run_sync(load(small_folder).trajectories, store)
        reports = _reports(store)
    assert reports
    return reports


def _indexed(folder: Path, out: Path, executor: Any, **options: Any) -> dict[str, dict[str, Any]]:
    with RunStore.open(out, kind="audit") as store, index_trajectories(folder) as index:
        outcome = asyncio.run(
            AuditRunner(load_taxonomy("memex")).run_indexed(index, store, executor=executor, **options)
        )
        assert outcome.errors == 0
        return _reports(store)


@pytest.mark.parametrize("executor", [None, "local", "processes"])
def test_the_indexed_audit_equals_the_in_memory_one(
    small_folder: Path, baseline: dict[str, dict[str, Any]], tmp_path: Path, executor: str | None
) -> None:
    assert _indexed(small_folder, tmp_path / "run", executor) == baseline


def test_a_model_audit_stays_in_this_process(small_folder: Path, tmp_path: Path) -> None:
    from memex_audit.llm import ScriptedModel

    with RunStore.open(tmp_path / "run", kind="audit") as store, index_trajectories(small_folder) as index:
        runner = AuditRunner(load_taxonomy("memex"), model=ScriptedModel([]))
        with pytest.raises(UsageError, match="offline policy"):
            asyncio.run(runner.run_indexed(index, store, executor="processes"))


@pytest.mark.slow
def test_ray_on_two_local_cpus_gives_the_same_results(
    small_folder: Path, baseline: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    ray = pytest.importorskip("ray")
    from memex_audit.auditor._indexed import OfflineAuditWorker
    from memex_audit.runs._executors import RayExecutor

    executor = RayExecutor(OfflineAuditWorker(load_taxonomy("memex")), workers=2)
    try:
        assert executor.workers == 2 and int(ray.cluster_resources()["CPU"]) == 2
        assert _indexed(small_folder, tmp_path / "run", executor) == baseline
    finally:
        executor.close()
    assert not ray.is_initialized()


def test_the_worker_server_is_prepared_only_where_it_can_overlap(monkeypatch: pytest.MonkeyPatch) -> None:
    from memex_audit import _runtime
    from memex_audit.runs import prepare_processes

    monkeypatch.setattr(_runtime, "available_cpus", lambda: 1)
    assert prepare_processes(["memex_audit.runs"]) is False  # one core: nothing to overlap with
    monkeypatch.setattr(_runtime, "available_cpus", lambda: 2)
    monkeypatch.setattr(_runtime, "start_method", lambda: "spawn")
    assert prepare_processes(["memex_audit.runs"]) is False  # no forkserver on this platform


def test_a_worker_process_collects_garbage_less_often(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from memex_audit.runs import _executors

    calls: list[object] = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "set_threshold", lambda *t: calls.append(t))
    monkeypatch.setattr(_executors, "_WORKER", None)
    _executors._start_worker(lambda: lambda job: job)
    # what start-up built is frozen, and the collector still runs, with raised thresholds
    assert calls == ["freeze", _executors.WORKER_GC_THRESHOLDS]
    assert _executors.WORKER_GC_THRESHOLDS[0] > gc.get_threshold()[0]
    assert _executors._run_job("job") == "job"


def _pid(_: int) -> int:
    import os

    return os.getpid()


@pytest.mark.slow
def test_the_pool_of_a_process_executor_runs_other_calls_on_its_workers() -> None:
    # The audit reads its index on the pool that then runs its jobs: one set of processes, not two.
    executor = ProcessExecutor(SquareWorker(), workers=2)
    try:
        pool_pids = set(executor.pool.map(_pid, range(8)))

        async def jobs() -> set[int]:
            results = await asyncio.gather(*(executor.submit([n]) for n in range(8)))
            return {done.record.pid for result in results for done in result.values()}

        job_pids = asyncio.run(jobs())
        assert len(pool_pids | job_pids) <= 2
    finally:
        executor.close()
