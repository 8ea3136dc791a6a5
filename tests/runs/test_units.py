"""The unit runner: results appended as units finish, crashes recorded with their cause, resume
without duplicates, one finalize step, a budget that holds across reruns."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import BaseModel

from memex_audit.runs import RunStore, Unit, UnitDone, UnitRunner


class Item(BaseModel):
    key: str
    value: int


def _units(n: int) -> list[Unit[int]]:
    return [Unit(key=f"u{i}", payload=i, file="in.jsonl", line=i + 1) for i in range(n)]


def test_a_crash_is_an_internal_error_with_its_traceback_and_the_rest_goes_on(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path / "run", "audit", {"path": "x"})
    finalized: list[int] = []

    async def work(unit: Unit[int]) -> UnitDone:
        if unit.payload == 2:
            raise ValueError("bad unit")
        return UnitDone(record=Item(key=unit.key, value=unit.payload))

    outcome = UnitRunner(store, concurrency=3, finalize=lambda s: finalized.append(1)).run_sync(
        _units(5), work
    )
    assert (outcome.done, outcome.errors, outcome.stopped) == (4, 1, "complete")
    (error,) = store.read_errors()
    assert (error.key, error.kind, error.file, error.line) == ("u2", "internal", "in.jsonl", 3)
    assert "ValueError: bad unit" in error.message and "raise ValueError" in (error.traceback or "")
    assert finalized == [1]
    again = UnitRunner(store).run_sync(_units(5), work)  # the crash is final: a rerun does not redo it
    assert (again.done, again.skipped) == (0, 5)
    assert len(store.read_results(Item)) == 4


def test_an_interruption_still_finalizes_and_a_rerun_resumes_without_duplicates(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path / "run", "audit", {"path": "x"})
    finalized: list[int] = []

    async def work(unit: Unit[int]) -> UnitDone:
        if unit.payload == 3:
            raise KeyboardInterrupt
        return UnitDone(record=Item(key=unit.key, value=unit.payload))

    with pytest.raises(KeyboardInterrupt):
        UnitRunner(store, finalize=lambda s: finalized.append(len(s.result_keys()))).run_sync(_units(6), work)
    assert finalized == [3]

    async def fine(unit: Unit[int]) -> UnitDone:
        return UnitDone(record=Item(key=unit.key, value=unit.payload))

    outcome = UnitRunner(store).run_sync(_units(6), fine)
    assert (outcome.done, outcome.skipped) == (3, 3)
    assert sorted(i.key for i in store.read_results(Item)) == [f"u{i}" for i in range(6)]


def test_the_cost_cap_holds_across_reruns_of_the_same_folder(tmp_path: Path) -> None:
    async def work(unit: Unit[int]) -> UnitDone:
        await asyncio.sleep(0)
        return UnitDone(record=Item(key=unit.key, value=unit.payload), cost_usd=0.4)

    store = RunStore.open(tmp_path / "run", "audit", {"path": "x"})
    first = UnitRunner(store, max_cost_usd=1.0).run_sync(_units(10), work)
    assert (first.done, first.stopped) == (3, "budget") and store.spent_usd() == pytest.approx(1.2)
    again = UnitRunner(store, max_cost_usd=1.0).run_sync(_units(10), work)
    assert (again.done, again.stopped) == (0, "budget")  # the ledger remembers what was spent
    more = UnitRunner(store, max_cost_usd=2.0).run_sync(_units(10), work)
    assert more.done == 2 and store.spent_usd() == pytest.approx(2.0)
