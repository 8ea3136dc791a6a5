"""A block's own running time, not counting the time it spends waiting for sub-agents.

A block that spawns sub-agents waits for model calls that can take minutes; the per-block timeout
is meant for the block's own code, so the clock pauses while at least one sub-agent is running.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any


class BlockClock:
    """Measures active seconds since ``restart()``; ``pause``/``resume`` nest."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._paused_total = 0.0
        self._paused_since: float | None = None
        self._depth = 0

    def restart(self) -> None:
        with self._lock:
            self._started = time.monotonic()
            self._paused_total = 0.0
            self._paused_since = time.monotonic() if self._depth else None

    def pause(self) -> None:
        with self._lock:
            self._depth += 1
            if self._depth == 1:
                self._paused_since = time.monotonic()

    def resume(self) -> None:
        with self._lock:
            self._depth = max(0, self._depth - 1)
            if self._depth == 0 and self._paused_since is not None:
                self._paused_total += time.monotonic() - self._paused_since
                self._paused_since = None

    def active_s(self) -> float:
        """Seconds elapsed since ``restart()`` minus the seconds spent paused."""
        with self._lock:
            now = time.monotonic()
            paused = self._paused_total
            if self._paused_since is not None:
                paused += now - self._paused_since
            return now - self._started - paused


async def wait_active(future: asyncio.Future[Any], clock: BlockClock, timeout_s: float | None) -> bool:
    """Wait for ``future`` until the clock's active time reaches ``timeout_s``.

    Returns:
        True when the future finished in time, False on timeout (the future is left running).
    """
    if timeout_s is None:
        await asyncio.wait({future})
        return True
    while not future.done():
        remaining = timeout_s - clock.active_s()
        if remaining <= 0:
            return False
        await asyncio.wait({future}, timeout=max(remaining, 0.01))
    return True
