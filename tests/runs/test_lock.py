"""A run folder has one writer at a time, and its files are shared like any file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from memex_audit.runs import RunLocked, RunStore

HOLDER = """
import sys, time
from memex_audit.runs import RunStore
store = RunStore.open(sys.argv[1], "audit", {"path": "x"})
print("held", flush=True)
time.sleep(30)
"""


def test_a_second_process_is_refused_and_named_and_the_lock_dies_with_its_holder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(run)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLocked, match=rf"being written by another process \(pid {holder.pid}"):
            RunStore.open(run, "audit", {"path": "x"})
        assert RunStore.read(run).manifest.kind == "audit"  # readers never wait
    finally:
        holder.kill()
        holder.wait()
    deadline = time.monotonic() + 5
    while True:  # a killed holder leaves no stale lock
        try:
            store = RunStore.open(run, "audit", {"path": "x"})
            break
        except RunLocked:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    store.close()


def test_the_same_process_may_reopen_and_files_follow_the_umask(tmp_path: Path) -> None:
    first = RunStore.open(tmp_path / "run", "audit", {"path": "x"})
    again = RunStore.open(tmp_path / "run", "audit", {"path": "x"})  # resuming in-process is fine
    again.close()
    first.close()
    old = os.umask(0o022)
    try:
        store = RunStore.open(tmp_path / "shared", "audit", {"path": "x"})
        store.write_json("summary.json", {"a": 1})
    finally:
        os.umask(old)
    for name in ("manifest.json", "summary.json"):
        mode = stat.S_IMODE((tmp_path / "shared" / name).stat().st_mode)
        assert mode == 0o644, (name, oct(mode))
