"""The in-process kernel: fast, for trusted code; objects in scope are shared by reference.

Each kernel has an event loop of its own, run by a worker thread; blocks run there so the host's
event loop (model calls, other agents) never waits on agent code. Async tools and ``spawn_agent``
are bridged back to the host loop, where loop-bound clients live. The thread is taken from a pool
and, once the kernel closes and its loop is closed, goes back to it (see ``_worker``).

Timeouts: a block that awaits is cancelled. A CPU-bound block (``while True: pass``) is stopped by
raising ``BlockTimeout`` inside the worker thread (``PyThreadState_SetAsyncExc``), which takes
effect at the next Python bytecode. A block stuck inside one C call (``time.sleep(3600)``, a
blocking socket read) cannot be interrupted by any in-process means: it is abandoned, still
running, in its thread; the kernel moves on with a fresh worker thread and the same namespace,
and the result says so. Use the subprocess kernel when that matters: it kills the process.

What the host is protected from, in-process: output is bounded and made valid UTF-8 (a lone
surrogate, a gigabyte print); a stop request that lands outside the block's own code becomes a
timeout, never an exception in the host; the namespace has its own copy of the builtins, so
``builtins.len = None`` stays in the kernel, and builtins or ``sys.stdout`` changed in the real
modules are put back right after the block (the host sees them changed while it runs).

What it cannot contain, because the block *is* the host process: ``os._exit``, a segfault
(``ctypes.string_at(0)``), a fatal signal, ``os.fork`` (the copy of the host has no event loop
thread), memory a block keeps referenced, and ``os.environ`` (the host's, API keys included).
That is why model runs default to the subprocess kernel; this one is for trusted code (the
offline policies) and for users who opt in.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from memex_audit.errors import KernelError
from memex_audit.kernel._block import (
    BlockOutcome,
    BlockTimeout,
    CellSources,
    SubmitSlot,
    make_submit,
    restore_reserved,
    run_block,
)
from memex_audit.kernel._builtins import KernelBuiltins, restore_host_builtins
from memex_audit.kernel._capture import clear_capture, host_streams, install_capture, restore_streams
from memex_audit.kernel._clock import BlockClock, wait_active
from memex_audit.kernel._output import DEFAULT_OUTPUT_LIMIT, OutputBuffer, safe_text
from memex_audit.kernel._protocol import ClosesOnExit, KernelSetup
from memex_audit.kernel._result import ExecutionResult
from memex_audit.kernel._worker import POOL, Worker


def _no_input(prompt: object = "") -> str:
    """Agent code cannot read from a terminal."""
    raise EOFError("input() is not available in the kernel: there is no terminal to read from")


def _outcome_of(future: asyncio.Future[BlockOutcome], message: str) -> BlockOutcome:
    """The block's outcome; a stop request that escaped the block is still only a timeout.

    ``BlockTimeout`` is raised asynchronously in the worker thread and can land outside the block's
    own handlers (while its capture is being reset, say); it must never reach the host.
    """
    if future.cancelled():
        return BlockOutcome(output="", error=f"TimeoutError: {message}", timed_out=True)
    exc = future.exception()
    if exc is None:
        return future.result()
    if isinstance(exc, BlockTimeout | asyncio.CancelledError):
        return BlockOutcome(output="", error=f"TimeoutError: {message}", timed_out=True)
    return BlockOutcome(output="", error=safe_text(f"KernelError: the block ended abnormally: {exc!r}"))


async def _collect(future: concurrent.futures.Future[Any]) -> Any:
    """Await a call already started on the host loop.

    The call starts when the tool or ``spawn_agent`` is called (sub-agents run eagerly); the
    coroutine returned only collects the result, so ``await``, ``gather`` and ``create_task``
    all work. Cancelling it cancels the call on the host.
    """
    return await asyncio.wrap_future(future)


class InProcessKernel(ClosesOnExit):
    """Runs blocks in this process, in a worker thread with its own event loop.

    Args:
        timeout_s: Default per-block timeout in seconds (time waiting for sub-agents excluded).
        stop_grace_s: After a timeout, how long to keep trying to stop the block before
            abandoning it in its thread.
        name: Names the worker thread (shows in thread dumps).
        output_limit: Characters of a block's output kept (head and tail; the rest is counted).
    """

    def __init__(
        self,
        *,
        timeout_s: float = 30.0,
        stop_grace_s: float = 2.0,
        name: str = "kernel",
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
    ) -> None:
        self.timeout_s = timeout_s
        self.stop_grace_s = stop_grace_s
        self.name = name
        self.output_limit = output_limit
        self.namespace: dict[str, Any] = {}
        self._builtins = KernelBuiltins()
        self._reserved: dict[str, Any] = {}
        self._sources = CellSources()
        self._slot = SubmitSlot()
        self._clock = BlockClock()
        self._worker: Worker | None = None
        self._host_loop: asyncio.AbstractEventLoop | None = None
        self._started = False
        self._lock = asyncio.Lock()

    async def start(self, setup: KernelSetup) -> None:
        """Fill the namespace: scope objects by reference, tools, ``submit`` and ``spawn_agent``."""
        if self._started:
            raise KernelError("kernel already started")
        self._host_loop = asyncio.get_running_loop()
        # The namespace's own builtins: rebinding ``len`` or ``print`` cannot reach the host.
        # ``input()`` would wait on the host's terminal: nobody is there to answer.
        self._builtins = KernelBuiltins({"input": _no_input})
        self.namespace = {"__name__": "__memex__", "__builtins__": self._builtins.module}
        self.namespace.update(setup.scope)
        for tool in setup.tools:
            self._reserved[tool.__name__] = self._bind_tool(tool)
        self._reserved["submit"] = make_submit(self._slot)
        self._reserved["spawn_agent"] = self._make_spawn(setup)
        self.namespace.update(self._reserved)
        self._started = True

    def _bind_tool(self, tool: Callable[..., Any]) -> Any:
        if not inspect.iscoroutinefunction(tool):
            return tool
        host = self._host_loop
        assert host is not None

        @functools.wraps(tool)
        def call_on_host(*args: Any, **kwargs: Any) -> Coroutine[Any, Any, Any]:
            return _collect(asyncio.run_coroutine_threadsafe(tool(*args, **kwargs), host))

        return call_on_host

    def _make_spawn(self, setup: KernelSetup) -> Callable[..., Coroutine[Any, Any, Any]]:
        host = self._host_loop
        clock = self._clock
        handler = setup.spawn

        def spawn_agent(task: str, output_type: Any = str, **objects: Any) -> Coroutine[Any, Any, Any]:
            """Start a sub-agent on ``task`` with ``objects`` in its scope; await its typed result.

            The sub-agent starts at once and runs concurrently with this block and with other
            sub-agents (``await asyncio.gather(*[spawn_agent(...) for ...])``).
            """
            if handler is None:
                raise RuntimeError("spawn_agent is not available in this run")
            assert host is not None

            async def on_host() -> Any:
                clear_capture()
                clock.pause()
                try:
                    return await handler(task, output_type, objects)
                finally:
                    clock.resume()

            return _collect(asyncio.run_coroutine_threadsafe(on_host(), host))

        return spawn_agent

    async def execute(self, code: str, *, timeout_s: float | None = None) -> ExecutionResult:
        """Run one block in the worker thread; see the module docstring for how timeouts stop it."""
        if not self._started:
            raise KernelError("kernel not started: await kernel.start(setup) first")
        timeout = self.timeout_s if timeout_s is None else timeout_s
        async with self._lock:
            notices = self._restore()
            restarted_worker = False
            if self._worker is None or not self._worker.alive:
                restarted_worker = self._worker is not None
                self._worker = POOL.take(f"{self.name}-worker")
            worker = self._worker
            if restarted_worker:
                notices.append("The kernel's worker thread was restarted; your variables are kept.")
            message = f"the block ran longer than {timeout:g}s and was stopped"
            install_capture()
            streams = host_streams()
            self._clock.restart()
            future = asyncio.wrap_future(worker.submit(self._run_in_worker(worker, code, message)))
            abandoned = stopped = False
            if not await wait_active(future, self._clock, timeout):
                stopped = True
                abandoned = not await self._stop(worker, future)
            if stopped:
                # Retire the thread: a stop request not delivered yet must not hit the next block.
                worker.clear_interrupt()
                self._worker = None
                worker.stop(join_s=0)
            if abandoned:
                outcome = BlockOutcome(output="", error=f"TimeoutError: {message}", timed_out=True)
                notices.append(
                    "The block could not be interrupted (it is blocked inside a C call) and was "
                    "abandoned in a background thread; your variables are kept, but it may still change them."
                )
                outcome.duration_s = timeout
            else:
                outcome = _outcome_of(future, message)
            notices.extend(outcome.notices)
            notices.extend(self._restore())
            if not abandoned:  # an abandoned block may still print; its streams stay as they are
                notices.extend(restore_streams(streams))
            return ExecutionResult(
                output=outcome.output,
                error=outcome.error,
                submitted=outcome.submitted,
                submission=outcome.submission,
                timed_out=outcome.timed_out,
                abandoned=abandoned,
                notices=[safe_text(notice) for notice in notices],
                duration_s=outcome.duration_s,
            )

    def _restore(self) -> list[str]:
        """Put back reserved names and builtins that agent code rebound (here and in the host)."""
        return [
            *restore_reserved(self.namespace, self._reserved),
            *self._builtins.restore(),
            *restore_host_builtins(),
        ]

    async def _run_in_worker(self, worker: Worker, code: str, message: str) -> BlockOutcome:
        worker.busy = True
        try:
            buffer = OutputBuffer(self.output_limit)
            return await run_block(
                code, self.namespace, self._sources, self._slot, timeout_message=message, buffer=buffer
            )
        finally:
            worker.busy = False

    async def _stop(self, worker: Worker, future: asyncio.Future[BlockOutcome]) -> bool:
        """Try to stop a timed-out block; True when it stopped within the grace period."""
        worker.cancel_all()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.stop_grace_s
        await asyncio.wait({future}, timeout=min(0.1, self.stop_grace_s))
        while not future.done() and loop.time() < deadline:
            # Cancellation only reaches code that awaits; a CPU-bound loop needs the exception raised
            # in its thread. Repeat it: agent code may catch one with a bare ``except``.
            worker.interrupt()
            await asyncio.wait({future}, timeout=0.1)
        return future.done()

    async def close(self) -> None:
        """Stop the worker's event loop; its thread goes back to the pool of idle workers (a busy
        one is stopped, and an abandoned block's thread is left to finish on its own)."""
        if self._worker is not None:
            worker, self._worker = self._worker, None
            if not POOL.give_back(worker):
                worker.cancel_all()
                await asyncio.to_thread(worker.stop, 1.0)
        self.namespace.clear()
        self._started = False
