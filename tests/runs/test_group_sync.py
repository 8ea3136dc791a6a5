"""Appends reach the operating system at once and the disk in groups; spending is synced line by line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import BaseModel

from memex_audit.runs import RunStore
from memex_audit.runs import _store as store_module


class _Record(BaseModel):
    value: int


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(store_module.os, "fsync", counting)
    return calls


def test_results_are_readable_at_once_and_synced_when_the_store_closes(
    tmp_path: Path, fsyncs: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "SYNC_INTERVAL_S", 3600.0)  # no group falls due during the test
    store = RunStore.open(tmp_path / "run", kind="audit")
    fsyncs.clear()
    for n in range(50):
        store.append_result(f"k{n}", _Record(value=n))
        # another process (a rerun after kill -9, the app) reads every line written so far
        assert len(RunStore.read(tmp_path / "run").result_keys()) == n + 1
    assert fsyncs == []
    store.close()
    assert len(fsyncs) == 1, "closing the store puts the appended lines on the disk, once per file"
    assert not store._unsynced


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


def test_lines_are_synced_once_per_interval(
    tmp_path: Path, fsyncs: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock()
    monkeypatch.setattr(store_module, "time", clock)
    store = RunStore.open(tmp_path / "run", kind="audit")
    fsyncs.clear()
    for n in range(40):
        clock.now += 0.1  # a line every 0.1 s: a group falls due every third line (0.25 s interval)
        store.append_result(f"k{n}", _Record(value=n))
    assert len(fsyncs) == 13
    store.close()


def test_spending_is_synced_line_by_line(tmp_path: Path, fsyncs: list[int]) -> None:
    store = RunStore.open(tmp_path / "run", kind="audit")
    fsyncs.clear()
    for n in range(5):
        store.append_spend(f"k{n}", 0.01)
    assert len(fsyncs) >= 5
    assert store.spent_usd() == pytest.approx(0.05)
    store.close()


def test_an_interval_of_zero_syncs_every_line(
    tmp_path: Path, fsyncs: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "SYNC_INTERVAL_S", 0.0)
    store = RunStore.open(tmp_path / "run", kind="audit")
    fsyncs.clear()
    for n in range(10):
        store.append_result(f"k{n}", _Record(value=n))
    assert len(fsyncs) == 10
    store.close()
