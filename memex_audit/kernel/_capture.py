"""Per-agent capture of ``print`` output, safe when agents run concurrently.

``contextlib.redirect_stdout`` swaps one process-wide object, so two agents running in threads or
tasks would mix their output. Instead ``sys.stdout`` and ``sys.stderr`` are replaced once by a
proxy that looks up the current capture buffer in a ``ContextVar``: each code block sets its own
buffer in its own context, and writes from anywhere else go to the real stream.
"""

from __future__ import annotations

import contextvars
import io
import sys
import threading
from typing import Any, TextIO

from memex_audit.kernel._output import OutputBuffer

_buffer: contextvars.ContextVar[OutputBuffer | None] = contextvars.ContextVar(
    "memex_audit_capture", default=None
)
_install_lock = threading.Lock()


class _StreamProxy(io.TextIOBase):
    """A text stream that writes to the current context's buffer, or else to ``target``."""

    def __init__(self, target: TextIO) -> None:
        self.target = target

    def write(self, text: str) -> int:
        buffer = _buffer.get()
        if buffer is not None:
            return buffer.write(text)
        return self.target.write(text)

    def flush(self) -> None:
        if _buffer.get() is None:
            self.target.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", "utf-8") or "utf-8"

    def fileno(self) -> int:
        return self.target.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


def install_capture() -> None:
    """Put the proxies in place on ``sys.stdout`` and ``sys.stderr`` (idempotent).

    Called before every block, because test runners and other tools replace ``sys.stdout`` too;
    whatever stream is current becomes the proxy's fallback target.
    """
    with _install_lock:
        if not isinstance(sys.stdout, _StreamProxy):
            sys.stdout = _StreamProxy(sys.stdout)
        if not isinstance(sys.stderr, _StreamProxy):
            sys.stderr = _StreamProxy(sys.stderr)


def start_capture(
    buffer: OutputBuffer | None = None,
) -> tuple[OutputBuffer, contextvars.Token[OutputBuffer | None]]:
    """Route this context's prints into ``buffer`` (a fresh one by default); returns it and the token."""
    install_capture()
    buffer = OutputBuffer() if buffer is None else buffer
    return buffer, _buffer.set(buffer)


def stop_capture(token: contextvars.Token[OutputBuffer | None]) -> None:
    """Stop routing this context's prints into its buffer."""
    _buffer.reset(token)


def clear_capture() -> None:
    """Make prints in the current context go to the real streams (used by bridged calls)."""
    _buffer.set(None)


def host_streams() -> tuple[Any, Any]:
    """``sys.stdout`` and ``sys.stderr`` as they are now (taken before an in-process block)."""
    return sys.stdout, sys.stderr


def restore_streams(streams: tuple[Any, Any]) -> list[str]:
    """Put back ``sys.stdout`` / ``sys.stderr`` when a block replaced them; one notice per stream.

    In-process, they are the host's streams: a block that sets ``sys.stdout = None`` would
    otherwise silence (or break) every later print of the host.
    """
    notices = []
    if sys.stdout is not streams[0]:
        sys.stdout = streams[0]
        notices.append("`sys.stdout` was replaced and has been restored; print to capture output.")
    if sys.stderr is not streams[1]:
        sys.stderr = streams[1]
        notices.append("`sys.stderr` was replaced and has been restored.")
    return notices
