"""Length-prefixed JSON messages over the socket between the host and a kernel process."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import orjson

_HEADER = 8


def frame(message: dict[str, Any]) -> bytes:
    """One message as it goes on the wire: an 8-byte big-endian length, then JSON."""
    data = orjson.dumps(message)
    return len(data).to_bytes(_HEADER, "big") + data


class SyncChannel:
    """The child's end: blocking sends (from any thread) and receives (from one reader thread)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._send_lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        data = frame(message)
        with self._send_lock:
            self.sock.sendall(data)

    def receive(self) -> dict[str, Any] | None:
        """The next message, or ``None`` when the host closed the socket."""
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


async def read_message(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """The host's receive: the next message, or ``None`` at end of stream."""
    try:
        header = await reader.readexactly(_HEADER)
        body = await reader.readexactly(int.from_bytes(header, "big"))
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    message: dict[str, Any] = orjson.loads(body)
    return message
