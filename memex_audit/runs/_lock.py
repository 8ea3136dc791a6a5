"""An exclusive lock on a run folder, so two processes never write one run.

The lock is an advisory ``flock`` on ``<run>/.lock``, held for the life of the writer. The kernel
releases it when the process ends, however it ends (a crash or ``kill -9`` leaves no stale lock).
The file records who holds it (pid, host, command, since) so a refused writer can say whom it waits
for. Readers (``eval-audit``, ``show``, the app) never take it.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import orjson

from memex_audit.errors import ResultsError

LOCK_NAME = ".lock"


class RunLocked(ResultsError):
    """Another process is writing this run folder."""


_HELD: dict[str, tuple[RunLock, int]] = {}


def hold(root: str | Path) -> RunLock:
    """Take the write lock of ``root`` for this process (again, if it holds it already: reentrant).

    Raises:
        RunLocked: Another process holds it.
    """
    key = str(Path(root).resolve())
    held = _HELD.get(key)
    if held is not None:
        _HELD[key] = (held[0], held[1] + 1)
        return held[0]
    lock = RunLock(root).acquire()
    _HELD[key] = (lock, 1)
    return lock


def let_go(root: str | Path) -> None:
    """Release one ``hold`` of ``root``; the lock is given back when the last one is released."""
    key = str(Path(root).resolve())
    held = _HELD.get(key)
    if held is None:
        return
    if held[1] > 1:
        _HELD[key] = (held[0], held[1] - 1)
        return
    del _HELD[key]
    held[0].release()


class RunLock:
    """The exclusive write lock of one run folder (a context manager).

    Raises ``RunLocked`` on ``acquire`` when another process holds it, naming the holder.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.path = self.root / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def holder(self) -> dict[str, object] | None:
        """Who wrote the lock file last (the holder while it is locked), if readable."""
        try:
            data = orjson.loads(self.path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def acquire(self) -> RunLock:
        """Take the lock or refuse at once."""
        if self._fd is not None:
            return self
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            who = self.holder() or {}
            detail = ", ".join(f"{k} {who[k]}" for k in ("pid", "host", "since", "command") if k in who)
            raise RunLocked(
                f"{self.root} is being written by another process ({detail or 'holder unknown'}); "
                "wait for it to finish or choose another --out folder"
            ) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))[:300],
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, orjson.dumps(info), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock back (the lock file stays; it is only a name to lock)."""
        if self._fd is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
