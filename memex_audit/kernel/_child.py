"""The kernel process: ``python -m memex_audit.kernel._child FD LIMITS_JSON``.

It holds one namespace and runs the host's blocks one at a time in its main thread. A reader
thread receives messages; tools and ``spawn_agent`` are stubs that send a request to the host and
wait for its reply (sync tools block, async tools and ``spawn_agent`` return awaitables), so tools
always run in the host process, next to the data and clients they close over.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import io
import itertools
import socket
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import orjson

from memex_audit.kernel._block import CellSources, SubmitSlot, make_submit, restore_reserved, run_block
from memex_audit.kernel._channel import SyncChannel
from memex_audit.kernel._codec import ScopeRefs, decode, encode, encode_type
from memex_audit.kernel._env import apply_limits

_STREAM_EVERY_S = 0.25
_STREAM_LIMIT = 1_000_000  # characters of a block's output kept in case it times out


class _Reply:
    """A pending request to the host, answered from the reader thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.event = threading.Event()
        self.future: asyncio.Future[Any] | None = loop.create_future() if loop is not None else None
        self.message: dict[str, Any] = {}


def _raise_remote(message: dict[str, Any]) -> None:
    name = str(message.get("error_type", "RuntimeError"))
    text = str(message.get("message", ""))
    exc_type = getattr(builtins, name, None)
    if isinstance(exc_type, type) and issubclass(exc_type, Exception):
        raise exc_type(text)
    raise RuntimeError(f"{name}: {text}")


class _Child:
    def __init__(self, channel: SyncChannel) -> None:
        self.channel = channel
        self.namespace: dict[str, Any] = {"__name__": "__memex__", "__builtins__": builtins}
        self.reserved: dict[str, Any] = {}
        self.sources = CellSources()
        self.refs = ScopeRefs()
        self.slot = SubmitSlot()
        self.ids = itertools.count(1)
        self.pending: dict[int, _Reply] = {}
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.live: tuple[int, io.StringIO] | None = None
        self.blocks = 0
        self.streamed = 0
        self.inbox: asyncio.Queue[dict[str, Any] | None] | None = None

    # -- messages ------------------------------------------------------------------------------

    def read_forever(self) -> None:
        assert self.loop is not None and self.inbox is not None
        while True:
            message = self.channel.receive()
            if message is None or message.get("kind") != "reply":
                self.loop.call_soon_threadsafe(self.inbox.put_nowait, message)
                if message is None:
                    return
                continue
            with self.lock:
                reply = self.pending.pop(int(message["id"]), None)
            if reply is None:
                continue
            reply.message = message
            if reply.future is not None:
                self.loop.call_soon_threadsafe(_resolve, reply.future, message)
            reply.event.set()

    def request(self, op: str, payload: dict[str, Any], *, wait: bool) -> _Reply:
        """Send a request to the host; ``wait`` blocks this thread until the reply arrives."""
        request_id = next(self.ids)
        reply = _Reply(None if wait else self.loop)
        with self.lock:
            self.pending[request_id] = reply
        self.channel.send({"kind": "call", "id": request_id, "op": op, **payload})
        if wait:
            reply.event.wait()
        return reply

    # -- namespace -----------------------------------------------------------------------------

    def init(self, message: dict[str, Any]) -> dict[str, Any]:
        problems: list[str] = []
        for name, tree in message["scope"].items():
            self.namespace[name] = decode(tree, allow_import=True, problems=problems, where=name)
            self.refs.register(name, self.namespace[name])
        for spec in message["tools"]:
            self.reserved[spec["name"]] = self.tool_stub(spec["name"], bool(spec["async"]), spec["doc"])
        self.reserved["submit"] = make_submit(self.slot)
        self.reserved["spawn_agent"] = self.spawn_stub(bool(message["spawn"]))
        self.namespace.update(self.reserved)
        return {"kind": "ready", "problems": problems}

    def tool_stub(self, name: str, is_async: bool, doc: str) -> Callable[..., Any]:
        def payload(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
            return {
                "name": name,
                "args": encode(list(args), f"{name}() args", self.refs),
                "kwargs": encode(kwargs, f"{name}()", self.refs),
            }

        def result(message: dict[str, Any]) -> Any:
            if not message.get("ok"):
                _raise_remote(message)
            return decode(message.get("value"), allow_import=True)

        if is_async:

            def call_async(*args: Any, **kwargs: Any) -> Coroutine[Any, Any, Any]:
                future = self.request("tool", payload(args, kwargs), wait=False).future
                assert future is not None
                return _then(future, result)

            stub: Callable[..., Any] = call_async
        else:

            def call_sync(*args: Any, **kwargs: Any) -> Any:
                return result(self.request("tool", payload(args, kwargs), wait=True).message)

            stub = call_sync
        stub.__name__ = stub.__qualname__ = name
        stub.__doc__ = doc
        return stub

    def spawn_stub(self, enabled: bool) -> Callable[..., Any]:
        def spawn_agent(task: str, output_type: Any = str, **objects: Any) -> Coroutine[Any, Any, Any]:
            """Start a sub-agent on ``task`` with ``objects`` in its scope; await its typed result."""
            if not enabled:
                raise RuntimeError("spawn_agent is not available in this run")
            payload = {
                "task": task,
                "output_type": encode_type(output_type),
                "objects": encode(objects, "spawn_agent()", self.refs),
            }
            future = self.request("spawn", payload, wait=False).future
            assert future is not None

            def result(message: dict[str, Any]) -> Any:
                if not message.get("ok"):
                    _raise_remote(message)
                value = decode(message.get("value"), allow_import=True)
                return _validate(value, output_type)

            return _then(future, result)

        return spawn_agent

    def stream_forever(self) -> None:
        """Send what the running block printed so far, a few times a second.

        If the block then runs past its timeout, the host kills this process; the output sent
        until then is what the model gets to see of it.
        """
        while True:
            time.sleep(_STREAM_EVERY_S)
            live = self.live
            if live is None or self.streamed >= _STREAM_LIMIT:
                continue
            block, buffer = live
            text = buffer.getvalue()
            if len(text) > self.streamed:
                chunk = text[self.streamed : _STREAM_LIMIT]
                self.streamed += len(chunk)
                with contextlib.suppress(OSError):
                    # Numbered, so a chunk that arrives after its block ended is not taken for the next's.
                    self.channel.send({"kind": "output", "block": block, "text": chunk})

    async def run(self, code: str) -> dict[str, Any]:
        notices = restore_reserved(self.namespace, self.reserved)
        self.streamed = 0
        self.blocks += 1
        buffer = io.StringIO()
        self.live = (self.blocks, buffer)
        try:
            outcome = await run_block(code, self.namespace, self.sources, self.slot, buffer=buffer)
        finally:
            self.live = None
        notices += restore_reserved(self.namespace, self.reserved)
        submission: Any = None
        if outcome.submitted:
            try:
                submission = encode(outcome.submission, "submit()", self.refs)
            except Exception as exc:
                outcome.submitted = False
                outcome.error = f"TypeError: {exc}"
        return {
            "kind": "result",
            "output": outcome.output,
            "error": outcome.error,
            "submitted": outcome.submitted,
            "submission": submission,
            "notices": notices,
            "duration_s": outcome.duration_s,
        }

    async def serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.inbox = asyncio.Queue()
        threading.Thread(target=self.read_forever, name="kernel-reader", daemon=True).start()
        threading.Thread(target=self.stream_forever, name="kernel-output", daemon=True).start()
        while True:
            message = await self.inbox.get()
            if message is None or message.get("kind") == "close":
                return
            started = time.perf_counter()
            if message["kind"] == "init":
                reply = self.init(message)
            else:
                reply = await self.run(str(message["code"]))
            reply["elapsed_s"] = time.perf_counter() - started
            self.channel.send(reply)


def _resolve(future: asyncio.Future[Any], message: dict[str, Any]) -> None:
    if not future.done():
        future.set_result(message)


async def _then(future: asyncio.Future[Any], then: Callable[[Any], Any]) -> Any:
    # The request went out when the stub was called; awaiting only collects the reply, so
    # ``create_task``, ``gather`` and a plain ``await`` all work.
    return then(await future)


def _validate(value: Any, output_type: Any) -> Any:
    from pydantic import TypeAdapter

    if output_type is None:
        return value
    return TypeAdapter(output_type).validate_python(value)


def main() -> None:
    fd = int(sys.argv[1])
    limits = orjson.loads(sys.argv[2])
    apply_limits(limits.get("memory_mb"), limits.get("cpu_s"))
    channel = SyncChannel(socket.socket(fileno=fd))
    asyncio.run(_Child(channel).serve())


if __name__ == "__main__":
    main()
