"""What a block prints, made safe to cross into the host: bounded in size, valid UTF-8.

Agent code can print anything: a gigabyte, or a lone surrogate (``print('\\ud800')``) that no
UTF-8 encoder accepts. The capture buffer keeps the head and the tail of what a block printed and
counts the rest, so a flood costs the kernel a few hundred kilobytes; ``safe_text`` turns lone
surrogates into U+FFFD (and joins surrogate pairs), so the recorder, the JSON channel and the
model client never meet a string they cannot encode.
"""

from __future__ import annotations

import collections
import io
import threading
from typing import Any

DEFAULT_OUTPUT_LIMIT = 200_000
"""Characters of a block's output a kernel keeps: 60% from the head, 40% from the tail."""

_INT64 = (-(2**63), 2**64 - 1)


def safe_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (valid pairs become their character)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def safe_tree(value: Any) -> Any:
    """A JSON tree made encodable: strings (keys too) through ``safe_text``, huge ints as text."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if _INT64[0] <= value <= _INT64[1] else str(value)
    if isinstance(value, dict):
        return {safe_text(str(k)): safe_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe_tree(v) for v in value]
    return value


def bounded_text(text: str, limit: int) -> str:
    """``text`` valid and at most about ``limit`` characters: its head and tail around a marker."""
    if len(text) <= limit:
        return safe_text(text)
    buffer = OutputBuffer(limit)
    buffer.write(text)
    return buffer.getvalue()


def omission_marker(omitted: int, total: int) -> str:
    """The line that stands for the characters a kernel did not keep."""
    return (
        f"\n[... {omitted:,} characters omitted by the kernel: the block printed {total:,} in all; "
        "print less, or write large results to a file ...]\n"
    )


class OutputBuffer(io.TextIOBase):
    """A text sink that keeps the first and last characters written and counts the rest.

    Thread-safe: a block's threads write while the subprocess kernel's streaming thread reads.

    Args:
        limit: Characters kept in all (``head`` gets 60%, the tail the rest).
    """

    def __init__(self, limit: int = DEFAULT_OUTPUT_LIMIT) -> None:
        super().__init__()
        self.limit = max(limit, 10)
        self.head_limit = self.limit * 3 // 5
        self.tail_limit = self.limit - self.head_limit
        self.total = 0
        self._head: list[str] = []
        self._head_len = 0
        self._tail: collections.deque[str] = collections.deque()
        self._tail_len = 0
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        size = len(text)
        with self._lock:
            self.total += size
            room = self.head_limit - self._head_len
            if room > 0:
                kept = text if size <= room else text[:room]
                self._head.append(kept)
                self._head_len += len(kept)
                text = text[len(kept) :] if size > room else ""
            if text:
                self._push_tail(text)
        return size

    def _push_tail(self, text: str) -> None:
        if len(text) >= self.tail_limit:
            self._tail.clear()
            text = text[-self.tail_limit :]
            self._tail_len = 0
        self._tail.append(text)
        self._tail_len += len(text)
        # Drop whole chunks from the front while what remains still fills the tail.
        while self._tail and self._tail_len - len(self._tail[0]) >= self.tail_limit:
            self._tail_len -= len(self._tail.popleft())

    @property
    def omitted(self) -> int:
        """Characters written but not kept."""
        with self._lock:
            return max(0, self.total - self._head_len - min(self._tail_len, self.tail_limit))

    def getvalue(self) -> str:
        """What was kept, with a marker where characters were left out; always valid UTF-8."""
        with self._lock:
            head = "".join(self._head)
            tail = "".join(self._tail)
            if len(tail) > self.tail_limit:
                tail = tail[-self.tail_limit :]
            omitted = self.total - len(head) - len(tail)
            total = self.total
        if omitted <= 0:
            return safe_text(head + tail)
        return safe_text(head + omission_marker(omitted, total) + tail)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False
