"""Length-prefixed JSON messages over the socket between the host and a kernel process.

What the messages are is ``_wire``; this module frames them and reads them back.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading

import orjson

from memex_audit.errors import KernelError
from memex_audit.kernel._output import safe_tree
from memex_audit.kernel._wire import HostMessage, KernelMessage, as_tree, from_kernel

_HEADER = 8
MAX_MESSAGE_BYTES = 512 * 1024 * 1024
"""The largest message the host accepts from a kernel process (a submission, a tool call)."""


def frame(message: HostMessage | KernelMessage) -> bytes:
    """One message as it goes on the wire: an 8-byte big-endian length, then JSON.

    Text JSON cannot carry (lone surrogates) is replaced, and integers past 64 bits go as text,
    rather than failing the whole message.
    """
    tree = as_tree(message)
    try:
        data = orjson.dumps(tree)
    except orjson.JSONEncodeError:
        data = orjson.dumps(safe_tree(tree))
    return len(data).to_bytes(_HEADER, "big") + data


class SyncChannel:
    """The child's end: blocking sends (from any thread) and receives (from one reader thread)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._send_lock = threading.Lock()
        self._owner = os.getpid()

    def send(self, message: KernelMessage) -> None:
        """Send ``message``; a process the kernel forked cannot (it would answer for the kernel)."""
        if os.getpid() != self._owner:
            raise OSError("the kernel's channel belongs to the kernel process, not to a process it forked")
        data = frame(message)
        with self._send_lock:
            self.sock.sendall(data)

    def receive(self) -> object | None:
        """The next message as decoded JSON (``_wire.from_host`` reads it), or ``None`` when the
        host closed the socket."""
        header = self._read(_HEADER)
        if header is None:
            return None
        body = self._read(int.from_bytes(header, "big"))
        return None if body is None else orjson.loads(body)

    def _read(self, size: int) -> bytes | None:
        chunks = bytearray()
        while len(chunks) < size:
            chunk = self.sock.recv(min(size - len(chunks), 1 << 20))
            if not chunk:
                return None
            chunks.extend(chunk)
        return bytes(chunks)


async def read_message(reader: asyncio.StreamReader) -> KernelMessage | None:
    """The host's receive: the next message, validated, or ``None`` at end of stream.

    Raises:
        KernelError: The kernel process broke the protocol (an oversized message, one that is
            not JSON, or one that is not a message of ``_wire`` a kernel process may send).
    """
    try:
        header = await reader.readexactly(_HEADER)
        size = int.from_bytes(header, "big")
        if size > MAX_MESSAGE_BYTES:
            raise KernelError(
                f"the kernel process sent a message of {size:,} bytes (limit {MAX_MESSAGE_BYTES:,})"
            )
        body = await reader.readexactly(size)
    except (asyncio.IncompleteReadError, ConnectionError, OSError):
        return None
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise KernelError(f"the kernel process sent a message that is not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise KernelError("the kernel process sent a message that is not a JSON object")
    return from_kernel(message)
