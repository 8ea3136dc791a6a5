"""The subprocess kernel: a separate Python process that can be killed and resource-limited.

Isolation, not a security sandbox: the process runs as the same user with the same file-system
access. What it gives:

- the host survives whatever the block does: a crash (``ctypes.string_at(0)``), ``os._exit``, a
  signal, rebound builtins, a broken channel all end in a restarted process and an error
  observation naming the cause; a timeout really stops any block (the process is killed);
- output is bounded (head and tail kept, the rest counted) and valid UTF-8 before it leaves the
  process; the host refuses oversized or malformed messages;
- caps on memory (``RLIMIT_AS``) and CPU seconds (``RLIMIT_CPU``);
- a lifetime (see ``_lifetime``): the process and everything it forks die on close, on restart
  and when the host dies, even by SIGKILL; its scratch folder goes with them;
- every reply carries the id of its request, and a process forked by agent code cannot answer;
- secrets: the process starts from a fresh ``exec`` with an environment without API keys, and
  the secret values in the host's *initial* environment block (what ``/proc/<host>/environ``
  shows) are overwritten once a subprocess kernel starts; ``os.environ`` and C ``getenv`` in
  the host keep working (see ``_env.hide_secrets_from_proc``).

What is not isolated: the file system (same user; the scratch folder is only the working
directory), the network, other processes of the same user (their ``/proc/<pid>/environ`` and,
where ptrace is allowed, their memory, the host's included: run the host as another user, or in
a container, when that matters), and the host itself (same user: agent code can signal it).

Scope objects cross once, at start, through a JSON channel (``_codec``): pydantic models as JSON
re-validated in the child, never pickle. The child works on copies; when it hands a scope object
back (a tool argument, ``spawn_agent`` objects) it sends a reference and the host uses its own
original. Sub-agents of a subprocess kernel get their own copies in their own processes. Tools run in the host: the child's stubs send their JSON arguments over the
channel and get the JSON result back (pydantic return values re-validated in the child), so a tool
keeps its clients and data in the host process. ``spawn_agent`` works the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

from memex_audit.errors import KernelError
from memex_audit.kernel import _lifetime
from memex_audit.kernel._channel import frame, read_message
from memex_audit.kernel._clock import BlockClock, wait_active
from memex_audit.kernel._codec import decode, decode_type, encode
from memex_audit.kernel._env import clean_environment, hide_secrets_from_proc
from memex_audit.kernel._lifetime import kill_tree
from memex_audit.kernel._output import DEFAULT_OUTPUT_LIMIT, bounded_text, safe_text
from memex_audit.kernel._protocol import ClosesOnExit, KernelSetup
from memex_audit.kernel._result import ExecutionResult
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
    ToolStub,
)

_GUARDIAN = str(Path(_lifetime.__file__).resolve())  # run as a script; it forks the kernel

_RESET_NOTICE = (
    "The kernel process was restarted: the namespace was reset. Variables, functions and imports "
    "you defined are gone; the scope objects and tools were loaded again."
)


class SubprocessKernel(ClosesOnExit):
    """Runs blocks in a child Python process; see the module docstring for what crosses and how.

    Args:
        timeout_s: Default per-block timeout in seconds (time waiting for sub-agents excluded).
        memory_limit_mb: Address-space cap of the process (``None``: no cap).
        cpu_limit_s: CPU seconds the process may use over its life (``None``: no cap).
        start_timeout_s: How long starting the process and loading the scope may take.
        python: The interpreter to run (default: this one).
        output_limit: Characters of a block's output kept (head and tail; the rest is counted).
        hide_host_secrets: Overwrite secret values in this process's initial environment block
            so the kernel cannot read them from ``/proc/<host pid>/environ``.

    Attributes:
        scratch: The kernel's working directory, inside its scratch folder
            (``/tmp/memex-kernel-*``, which also holds its log); both are removed on close and
            when the host dies.
    """

    def __init__(
        self,
        *,
        timeout_s: float = 30.0,
        memory_limit_mb: int | None = 4096,
        cpu_limit_s: int | None = None,
        start_timeout_s: float = 120.0,
        python: str | None = None,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
        hide_host_secrets: bool = True,
    ) -> None:
        self.timeout_s = timeout_s
        self.memory_limit_mb = memory_limit_mb
        self.cpu_limit_s = cpu_limit_s
        self.start_timeout_s = start_timeout_s
        self.python = python or sys.executable
        self.output_limit = output_limit
        self.hide_host_secrets = hide_host_secrets
        self.scratch: Path | None = None
        self._folder: Path | None = None
        self._guard: int | None = None  # write end of the guardian's pipe (see _lifetime)
        self.load_problems: list[str] = []
        self._setup = KernelSetup()
        self._init_frame = b""
        self._tools: dict[str, Any] = {}
        self._proc: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[None]] = set()
        self._waiting: asyncio.Future[Ready | BlockReply] | None = None
        self._expected: int | None = None  # id of the request whose reply is awaited
        self._requests = 0
        self._partial = ""
        self._stderr_path: Path | None = None
        self._clock = BlockClock()
        self._lock = asyncio.Lock()

    @property
    def pid(self) -> int | None:
        """Process id of the running kernel process."""
        return self._proc.pid if self._proc is not None else None

    async def start(self, setup: KernelSetup) -> None:
        """Start the process and load the scope objects and tool stubs into it.

        Raises:
            KernelError: A scope object has no JSON-safe form, or the process did not start.
        """
        self._setup = setup
        self._tools = {tool.__name__: tool for tool in setup.tools}
        message = InitRequest(
            scope={name: encode(value, name) for name, value in setup.scope.items()},
            tools=[
                ToolStub(
                    name=name, is_async=inspect.iscoroutinefunction(tool), doc=inspect.getdoc(tool) or ""
                )
                for name, tool in self._tools.items()
            ],
            spawn=setup.spawn is not None,
        )
        # Encoded once: a restart after a timeout reloads the same bytes.
        self._init_frame = frame(message)
        if self.hide_host_secrets:
            hide_secrets_from_proc()
        self._folder = Path(tempfile.mkdtemp(prefix="memex-kernel-"))
        self.scratch = self._folder / "work"
        self.scratch.mkdir()
        self._stderr_path = self._folder / "kernel.log"
        self._stderr_path.touch()
        try:
            await self._launch()
        except BaseException:
            await self.close()
            raise

    async def _launch(self) -> None:
        parent_sock, child_sock = socket.socketpair()
        guard_read, self._guard = os.pipe()  # both ends non-inheritable; the read end is passed
        env = clean_environment()
        # Whatever the host can import (its models, its package), the child can import too.
        paths = [p for p in sys.path if p and Path(p).is_dir()]
        env["PYTHONPATH"] = os.pathsep.join(paths)
        config = ProcessConfig(
            memory_mb=self.memory_limit_mb,
            cpu_s=self.cpu_limit_s,
            output_limit=self.output_limit,
            parent=os.getpid(),
            guard_fd=guard_read,
            folder=str(self._folder),
        ).model_dump_json()
        assert self._stderr_path is not None and self.scratch is not None
        try:
            with open(self._stderr_path, "ab") as stderr:
                # A fresh exec with an explicit environment: nothing of the host's state but
                # these two descriptors reaches the kernel process.
                self._proc = await asyncio.create_subprocess_exec(
                    self.python,
                    _GUARDIAN,
                    str(child_sock.fileno()),
                    config,
                    pass_fds=[child_sock.fileno(), guard_read],
                    cwd=self.scratch,
                    env=env,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=stderr,
                    stderr=stderr,
                    start_new_session=True,
                )
        finally:
            child_sock.close()
            os.close(guard_read)
        reader, self._writer = await asyncio.open_connection(sock=parent_sock, limit=1 << 20)
        self._reader_task = asyncio.create_task(self._read_forever(reader))
        try:
            ready = await self._exchange(0, self._init_frame, self.start_timeout_s)
        except TimeoutError as exc:
            await self._kill()
            raise KernelError(
                f"the kernel process did not load its scope within {self.start_timeout_s:g}s"
            ) from exc
        if isinstance(ready, BlockReply):  # the kernel's machinery failed while loading the scope
            self.load_problems = [safe_text(ready.error or "KernelError: the scope was not loaded")]
        else:
            self.load_problems = [safe_text(p) for p in ready.problems]

    async def _exchange(self, request_id: int, data: bytes, timeout_s: float | None) -> Ready | BlockReply:
        loop = asyncio.get_running_loop()
        self._waiting = loop.create_future()
        self._expected = request_id
        assert self._writer is not None
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (ConnectionError, OSError):
            pass  # the process is gone; the reader reports why
        self._clock.restart()
        if not await wait_active(self._waiting, self._clock, timeout_s):
            raise TimeoutError
        return self._waiting.result()

    async def _read_forever(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                message = await read_message(reader)
            except KernelError as exc:
                self._fail_waiting(KernelError(f"{exc}; the kernel process was stopped"))
                return
            if message is None:
                self._fail_waiting(KernelError(await self._death_note()))
                return
            match message:
                case OutputSnapshot(block=block, text=text):
                    if block == self._expected:
                        self._partial = text
                case ToolRequest() | SpawnRequest():
                    task = asyncio.create_task(self._answer(message))
                    self._calls.add(task)
                    task.add_done_callback(self._calls.discard)
                case Ready() | BlockReply():
                    if (
                        message.id == self._expected
                        and self._waiting is not None
                        and not self._waiting.done()
                    ):
                        self._waiting.set_result(message)
                    # Otherwise it answers a request nobody waits for (a stale or forged id): dropped.

    def _fail_waiting(self, error: KernelError) -> None:
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_exception(error)

    async def _answer(self, message: ToolRequest | SpawnRequest) -> None:
        """Run a tool or a sub-agent for the child and send back the result."""
        try:
            if isinstance(message, ToolRequest):
                value = await self._call_tool(message)
            else:
                value = await self._spawn(message)
            reply = CallReply(id=message.id, ok=True, value=encode(value, "result"))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The single argument itself, so KeyError('x') is rebuilt as KeyError('x'), not KeyError("'x'").
            text = str(exc.args[0]) if len(exc.args) == 1 else str(exc)
            reply = CallReply(id=message.id, ok=False, error_type=type(exc).__name__, message=text)
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(frame(reply))
            with contextlib.suppress(ConnectionError):
                await self._writer.drain()

    async def _call_tool(self, message: ToolRequest) -> Any:
        tool = self._tools.get(message.name)
        if tool is None:
            raise NameError(f"no tool named {message.name!r}")
        scope = self._setup.scope
        args = decode(message.args or [], allow_import=False, scope=scope)
        kwargs = decode(message.kwargs or {}, allow_import=False, scope=scope)
        if inspect.iscoroutinefunction(tool):
            return await tool(*args, **kwargs)
        return await asyncio.to_thread(tool, *args, **kwargs)

    async def _spawn(self, message: SpawnRequest) -> Any:
        if self._setup.spawn is None:
            raise RuntimeError("spawn_agent is not available in this run")
        output_type = decode_type(message.output_type or {}, allow_import=False)
        objects = decode(message.objects or {}, allow_import=False, scope=self._setup.scope)
        self._clock.pause()
        try:
            return await self._setup.spawn(message.task, output_type, objects)
        finally:
            self._clock.resume()

    async def _death_note(self) -> str:
        code = None
        if self._proc is not None:
            with contextlib.suppress(TimeoutError):
                code = await asyncio.wait_for(self._proc.wait(), 2.0)
        tail = ""
        if self._stderr_path is not None and self._stderr_path.exists():
            tail = self._stderr_path.read_text(errors="replace")[-1500:].strip()
        reason = f"the kernel process died (exit code {code})"
        if code is not None and code < 0:
            reason += (
                f", killed by signal {signal.Signals(-code).name}" if -code in signal.valid_signals() else ""
            )
        return reason + (f"; its last words:\n{tail}" if tail else "")

    async def execute(self, code: str, *, timeout_s: float | None = None) -> ExecutionResult:
        """Run one block in the child; a timed-out block kills and restarts the process."""
        if self._proc is None:
            raise KernelError("kernel not started: await kernel.start(setup) first")
        timeout = self.timeout_s if timeout_s is None else timeout_s
        async with self._lock:
            notices: list[str] = []
            restarted = False
            if self._proc.returncode is not None or self._reader_task is None or self._reader_task.done():
                await self._restart()
                restarted = True
                notices.append(_RESET_NOTICE)
            started = asyncio.get_running_loop().time()
            self._partial = ""
            self._requests += 1
            request_id = self._requests
            try:
                reply = await self._exchange(
                    request_id, frame(ExecRequest(id=request_id, code=code)), timeout
                )
            except TimeoutError:
                return await self._lost_block(
                    f"TimeoutError: the block ran longer than {timeout:g}s; the kernel process was killed",
                    notices,
                    started,
                    timed_out=True,
                )
            except KernelError as exc:
                return await self._lost_block(f"KernelError: {exc}", notices, started)
            if not isinstance(reply, BlockReply):  # a Ready answering a block: not the protocol
                return await self._lost_block(
                    "KernelError: the kernel process answered a block with a 'ready' message",
                    notices,
                    started,
                )
            problems: list[str] = []
            submission = decode(
                reply.submission, allow_import=False, problems=problems, scope=self._setup.scope
            )
            # The child bounds and cleans what it sends; the host does not rely on it.
            return ExecutionResult(
                output=bounded_text(reply.output, self.output_limit + 1000),
                error=bounded_text(reply.error, 25_000) if reply.error is not None else None,
                submitted=reply.submitted,
                submission=submission,
                restarted=restarted,
                notices=[*notices, *(safe_text(n) for n in reply.notices)],
                duration_s=reply.duration_s,
            )

    async def _lost_block(
        self, error: str, notices: list[str], started: float, *, timed_out: bool = False
    ) -> ExecutionResult:
        """Restart the process after a block that did not finish; report what it printed so far."""
        partial = self._partial
        await self._restart()
        return ExecutionResult(
            output=partial,
            error=error,
            timed_out=timed_out,
            restarted=True,
            notices=[*notices, _RESET_NOTICE],
            duration_s=asyncio.get_running_loop().time() - started,
        )

    async def _restart(self) -> None:
        await self._kill()
        await self._launch()

    async def _kill(self) -> None:
        # Nobody waits for the killed process's answer; its reader must not report the death.
        waiting, self._waiting = self._waiting, None
        if waiting is not None and not waiting.done():
            waiting.cancel()
        for task in list(self._calls):
            task.cancel()
        if self._proc is not None:
            # The process, what it forked (in its group or re-parented to it), even once it died.
            # Walk the tree only from a process not yet reaped (its pid cannot have been reused);
            # the group outlives its leader while the guardian lives, so its id stays ours.
            root = self._proc.pid if self._proc.returncode is None else None
            await asyncio.to_thread(kill_tree, root, self._proc.pid)
            await self._proc.wait()
        if self._guard is not None:
            os.close(self._guard)
            self._guard = None
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
            self._writer = None
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader_task
            self._reader_task = None

    async def close(self) -> None:
        """Stop the process and everything it started; remove its scratch folder."""
        if self._proc is not None and self._proc.returncode is None and self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.write(frame(CloseRequest()))
                await self._writer.drain()
                await asyncio.wait_for(self._proc.wait(), 1.0)
        await self._kill()
        self._proc = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
