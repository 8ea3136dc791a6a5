"""The kernel process: ``serve(fd, config)``, in the process the guardian forks (``_lifetime``).

It holds one namespace and runs the host's blocks one at a time in its main thread. A reader
thread receives messages; tools and ``spawn_agent`` are stubs that send a request to the host and
wait for its reply (sync tools block, async tools and ``spawn_agent`` return awaitables), so tools
always run in the host process, next to the data and clients they close over.

Every reply carries the id of the request it answers; the messages are ``_wire``'s, and one
from the host that does not fit the protocol is answered with a ``KernelError``. A process that agent code forked returns
from the block into this loop too: it exits there, silently, and its channel refuses to send, so
it can never answer for the kernel. When the channel to the host closes, the process exits at
once, whatever block is running.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

from memex_audit.errors import KernelError
from memex_audit.kernel._block import CellSources, SubmitSlot, make_submit, restore_reserved, run_block
from memex_audit.kernel._builtins import KernelBuiltins, restore_host_builtins
from memex_audit.kernel._channel import SyncChannel
from memex_audit.kernel._codec import ScopeRefs, decode, encode, encode_type
from memex_audit.kernel._env import apply_limits
from memex_audit.kernel._output import DEFAULT_OUTPUT_LIMIT, OutputBuffer, bounded_text, safe_text
from memex_audit.kernel._wire import (
    BlockReply,
    CallReply,
    CloseRequest,
    ExecRequest,
    InitRequest,
    OutputSnapshot,
    ProcessConfig,
    Ready,
    SpawnRequest,
    ToolRequest,
    from_host,
    is_reply,
    request_id_of,
)

_STREAM_EVERY_S = 0.25
_BROKEN_EXIT = 70  # the kernel's own machinery cannot answer: the host restarts the process


class _Reply:
    """A pending request to the host, answered from the reader thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.event = threading.Event()
        self.future: asyncio.Future[CallReply] | None = loop.create_future() if loop is not None else None
        self.message = CallReply(id=0, ok=False, message="no reply")


def _raise_remote(message: CallReply) -> None:
    name, text = message.error_type, message.message
    exc_type = getattr(builtins, name, None)
    if isinstance(exc_type, type) and issubclass(exc_type, Exception):
        raise exc_type(text)
    raise RuntimeError(f"{name}: {text}")


class _Child:
    def __init__(self, channel: SyncChannel, output_limit: int = DEFAULT_OUTPUT_LIMIT) -> None:
        self.channel = channel
        self.pid = os.getpid()
        self.output_limit = output_limit
        self.builtins = KernelBuiltins()
        self.namespace: dict[str, Any] = {"__name__": "__memex__", "__builtins__": self.builtins.module}
        self.reserved: dict[str, Any] = {}
        self.sources = CellSources()
        self.refs = ScopeRefs()
        self.slot = SubmitSlot()
        self.ids = itertools.count(1)
        self.pending: dict[int, _Reply] = {}
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.live: tuple[int, OutputBuffer] | None = None
        self.inbox: asyncio.Queue[InitRequest | ExecRequest | CloseRequest | None] | None = None

    # -- messages ------------------------------------------------------------------------------

    def read_forever(self) -> None:
        assert self.loop is not None and self.inbox is not None
        while True:
            try:
                raw = self.channel.receive()
            except Exception:  # a broken channel (agent code closed its socket, say)
                raw = None
            if raw is None:
                # The host is gone or closed the channel: nobody will read another answer.
                os._exit(0)
            try:
                message = from_host(raw)
            except KernelError as exc:
                self.refuse(raw, exc)
                continue
            if isinstance(message, CallReply):
                self.settle(message)
            else:
                self.loop.call_soon_threadsafe(self.inbox.put_nowait, message)

    def settle(self, message: CallReply) -> None:
        """Hand the host's reply to the stub waiting for it (a reply nobody waits for is dropped)."""
        assert self.loop is not None
        with self.lock:
            reply = self.pending.pop(message.id, None)
        if reply is None:
            return
        reply.message = message
        if reply.future is not None:
            self.loop.call_soon_threadsafe(_resolve, reply.future, message)
        reply.event.set()

    def refuse(self, raw: object, error: KernelError) -> None:
        """Answer a message that does not fit the protocol, so that whoever waits for it learns why."""
        request_id = request_id_of(raw)
        text = bounded_text(f"KernelError: {error}", 2000)
        if is_reply(raw):
            if request_id is not None:  # the stub that waits raises instead of hanging
                self.settle(CallReply(id=request_id, ok=False, error_type="RuntimeError", message=text))
            return
        self.answer(BlockReply(id=request_id, error=text))

    def request(self, message: Callable[[int], ToolRequest | SpawnRequest], *, wait: bool) -> _Reply:
        """Send the request ``message(id)`` to the host; ``wait`` blocks this thread until the reply."""
        request_id = next(self.ids)
        reply = _Reply(None if wait else self.loop)
        with self.lock:
            self.pending[request_id] = reply
        self.channel.send(message(request_id))
        if wait:
            reply.event.wait()
        return reply

    # -- namespace -----------------------------------------------------------------------------

    def init(self, message: InitRequest) -> Ready:
        problems: list[str] = []
        for name, tree in message.scope.items():
            self.namespace[name] = decode(tree, allow_import=True, problems=problems, where=name)
            self.refs.register(name, self.namespace[name])
        for spec in message.tools:
            self.reserved[spec.name] = self.tool_stub(spec.name, spec.is_async, spec.doc)
        self.reserved["submit"] = make_submit(self.slot)
        self.reserved["spawn_agent"] = self.spawn_stub(message.spawn)
        self.namespace.update(self.reserved)
        return Ready(id=message.id, problems=problems)

    def tool_stub(self, name: str, is_async: bool, doc: str) -> Callable[..., Any]:
        def call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Callable[[int], ToolRequest]:
            # Encoded before the request takes an id: arguments that cannot cross raise here.
            encoded_args = encode(list(args), f"{name}() args", self.refs)
            encoded_kwargs = encode(kwargs, f"{name}()", self.refs)
            return lambda request_id: ToolRequest(
                id=request_id, name=name, args=encoded_args, kwargs=encoded_kwargs
            )

        def result(message: CallReply) -> Any:
            if not message.ok:
                _raise_remote(message)
            return decode(message.value, allow_import=True)

        if is_async:

            def call_async(*args: Any, **kwargs: Any) -> Coroutine[Any, Any, Any]:
                future = self.request(call(args, kwargs), wait=False).future
                assert future is not None
                return _then(future, result)

            stub: Callable[..., Any] = call_async
        else:

            def call_sync(*args: Any, **kwargs: Any) -> Any:
                return result(self.request(call(args, kwargs), wait=True).message)

            stub = call_sync
        stub.__name__ = stub.__qualname__ = name
        stub.__doc__ = doc
        return stub

    def spawn_stub(self, enabled: bool) -> Callable[..., Any]:
        def spawn_agent(task: str, output_type: Any = str, **objects: Any) -> Coroutine[Any, Any, Any]:
            """Start a sub-agent on ``task`` with ``objects`` in its scope; await its typed result."""
            if not enabled:
                raise RuntimeError("spawn_agent is not available in this run")
            wanted = encode_type(output_type)
            encoded = encode(objects, "spawn_agent()", self.refs)
            future = self.request(
                lambda request_id: SpawnRequest(
                    id=request_id, task=task, output_type=wanted, objects=encoded
                ),
                wait=False,
            ).future
            assert future is not None

            def result(message: CallReply) -> Any:
                if not message.ok:
                    _raise_remote(message)
                value = decode(message.value, allow_import=True)
                return _validate(value, output_type)

            return _then(future, result)

        return spawn_agent

    def stream_forever(self) -> None:
        """Send what the running block printed so far (bounded), a few times a second.

        If the block then runs past its timeout, the host kills this process; the output sent
        until then is what the model gets to see of it.
        """
        sent: tuple[int, int] = (-1, 0)
        while True:
            time.sleep(_STREAM_EVERY_S)
            live = self.live
            if live is None:
                continue
            block, buffer = live
            if (block, buffer.total) == sent:
                continue
            sent = (block, buffer.total)
            with contextlib.suppress(Exception):
                # The whole (bounded) output so far, numbered by block: a snapshot that arrives
                # after its block ended is not taken for the next block's.
                self.channel.send(OutputSnapshot(block=block, text=buffer.getvalue()))

    def restore(self) -> list[str]:
        """Put back reserved names and builtins agent code rebound (its copy and the real module)."""
        return [
            *restore_reserved(self.namespace, self.reserved),
            *self.builtins.restore(),
            *restore_host_builtins(),
        ]

    async def run(self, block: int, code: str) -> BlockReply:
        notices = self.restore()
        buffer = OutputBuffer(self.output_limit)
        self.live = (block, buffer)
        try:
            outcome = await run_block(code, self.namespace, self.sources, self.slot, buffer=buffer)
        finally:
            self.live = None
        if os.getpid() != self.pid:
            # A process agent code forked came back from the block: it must not answer for the kernel.
            os._exit(0)
        notices += outcome.notices
        notices += self.restore()
        submission: Any = None
        if outcome.submitted:
            try:
                submission = encode(outcome.submission, "submit()", self.refs)
            except Exception as exc:
                outcome.submitted = False
                outcome.error = bounded_text(f"TypeError: {exc}", 20_000)
        return BlockReply(
            id=block,
            output=outcome.output,
            error=outcome.error,
            submitted=outcome.submitted,
            submission=submission,
            notices=[safe_text(notice) for notice in notices],
            duration_s=outcome.duration_s,
        )

    async def serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.inbox = asyncio.Queue()
        threading.Thread(target=self.read_forever, name="kernel-reader", daemon=True).start()
        threading.Thread(target=self.stream_forever, name="kernel-output", daemon=True).start()
        while True:
            message = await self.inbox.get()
            if message is None or isinstance(message, CloseRequest):
                return
            started = time.perf_counter()
            reply: Ready | BlockReply
            try:
                if isinstance(message, InitRequest):
                    reply = self.init(message)
                else:
                    reply = await self.run(message.id, message.code)
            except BaseException as exc:  # agent code broke the kernel's own machinery
                if os.getpid() != self.pid:
                    os._exit(0)
                reply = BlockReply(error=bounded_text(f"KernelError: the kernel failed: {exc!r}", 2000))
            reply.id = message.id
            reply.elapsed_s = time.perf_counter() - started
            self.answer(reply)

    def answer(self, reply: Ready | BlockReply) -> None:
        """Send ``reply``; when even that fails, exit so that the host restarts the process."""
        try:
            self.channel.send(reply)
        except BaseException as exc:
            try:
                self.channel.send(
                    BlockReply(
                        id=reply.id,
                        error=bounded_text(
                            f"KernelError: the kernel could not send its reply: {exc!r}", 2000
                        ),
                    )
                )
            except BaseException:
                os._exit(_BROKEN_EXIT)


def _resolve(future: asyncio.Future[CallReply], message: CallReply) -> None:
    if not future.done():
        future.set_result(message)


async def _then(future: asyncio.Future[CallReply], then: Callable[[CallReply], Any]) -> Any:
    # The request went out when the stub was called; awaiting only collects the reply, so
    # ``create_task``, ``gather`` and a plain ``await`` all work.
    return then(await future)


def _validate(value: Any, output_type: Any) -> Any:
    from pydantic import TypeAdapter

    if output_type is None:
        return value
    return TypeAdapter(output_type).validate_python(value)


def serve(fd: int, config: dict[str, Any]) -> None:
    """Run the kernel on the channel ``fd`` (in the process the guardian forked, see ``_lifetime``).

    Raises:
        pydantic.ValidationError: ``config`` is not a ``ProcessConfig`` (the guardian logs it).
    """
    settings = ProcessConfig.model_validate(config)
    apply_limits(settings.memory_mb, settings.cpu_s)
    channel = SyncChannel(socket.socket(fileno=fd))
    asyncio.run(_Child(channel, settings.output_limit or DEFAULT_OUTPUT_LIMIT).serve())
