"""Killing the command with SIGKILL in the middle of a model audit leaves no kernel process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from memex_audit.loaders import write_jsonl
from tests.auditor.test_runner import _collection
from tests.fake_openai import FakeOpenAI, Reply, ok

SLOW_REPLY = "Looking.\n```python\nimport time\ntime.sleep(0.3)\nprint(len(target.steps))\n```"


def _slow_reply(body: dict[str, Any]) -> Reply:
    time.sleep(0.2)
    return ok(body, SLOW_REPLY)


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_sigkill_of_the_command_leaves_no_kernel_alive(tmp_path: Path) -> None:
    server = FakeOpenAI(_slow_reply).start()
    url = server.url
    data = tmp_path / "rollouts.jsonl"
    write_jsonl(_collection(), data)
    env = {**os.environ, "OPENAI_API_KEY": "test"}
    try:
        for attempt in range(6):
            command = [
                sys.executable,
                "-m",
                "memex_audit.cli",
                "audit",
                str(data),
                "--out",
                str(tmp_path / "run"),
                "--model",
                "openai:slow-model",
                "--base-url",
                url,
                "--kernel",
                "subprocess",
                "--concurrency",
                "3",
                "--max-turns",
                "30",
            ]
            proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 30
            kernels: set[int] = set()
            while time.monotonic() < deadline and len(kernels) < 2:
                time.sleep(0.2)
                kernels = _descendants(proc.pid)
            assert kernels, "no kernel process was started"
            time.sleep(0.15 * attempt)
            kernels |= _descendants(proc.pid)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and any(_alive(p) for p in kernels):
                time.sleep(0.1)
            survivors = [p for p in kernels if _alive(p)]
            assert not survivors, f"kernel processes alive 5 s after SIGKILL: {survivors}"
    finally:
        server.stop()
