"""Running one code block in a persistent namespace, as a REPL cell.

Shared by both backends: the in-process kernel runs it in a worker thread, the subprocess kernel's
child process runs it in its main thread. A block may ``await`` at top level; the value of a final
bare expression is printed as a REPL shows it; an exception comes back as a short traceback that
points at the agent's own lines.
"""

from __future__ import annotations

import ast
import asyncio
import collections
import contextvars
import inspect
import linecache
import threading
import time
import traceback
from dataclasses import dataclass, field
from types import CodeType, TracebackType
from typing import Any

from memex_audit.kernel._builtins import restore_host_builtins
from memex_audit.kernel._capture import start_capture, stop_capture
from memex_audit.kernel._output import OutputBuffer, bounded_text

ERROR_LIMIT = 20_000
"""Characters of a traceback a kernel keeps (an exception's message can be any size)."""


class SubmitSignal(BaseException):
    """Ends a block when ``submit()`` is called.

    It derives from ``BaseException`` so that agent code's ``except Exception`` cannot swallow it.
    """

    def __init__(self, value: Any) -> None:
        super().__init__("submit() called")
        self.value = value


class BlockTimeout(BaseException):
    """Raised inside a block's thread to stop a block that ran past its timeout."""


_block_id: contextvars.ContextVar[int] = contextvars.ContextVar("memex_audit_block", default=-1)


@dataclass
class SubmitSlot:
    """Where ``submit()`` records its value, so a submission survives a swallowed signal.

    Only a call made from the block currently running counts: a block abandoned after a timeout
    that later calls ``submit()`` is ignored.
    """

    current_block: int = -1
    value: Any = None
    submitted: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def begin(self, block: int) -> None:
        with self.lock:
            self.current_block = block
            self.value = None
            self.submitted = False

    def record(self, value: Any) -> None:
        with self.lock:
            if _block_id.get() == self.current_block:
                self.value = value
                self.submitted = True


def make_submit(slot: SubmitSlot) -> Any:
    """The ``submit`` function placed in a namespace."""

    def submit(value: Any) -> None:
        """Finish the run with ``value``; it is validated against the run's output type.

        If validation fails, the errors are shown and you can call ``submit`` again.
        """
        slot.record(value)
        raise SubmitSignal(value)

    return submit


def restore_reserved(namespace: dict[str, Any], reserved: dict[str, Any]) -> list[str]:
    """Put back every reserved name that agent code rebound; one notice for the model per name."""
    notices = []
    for name, value in reserved.items():
        if namespace.get(name) is not value:
            namespace[name] = value
            notices.append(f"`{name}` is reserved and was restored; use another name for your value.")
    return notices


@dataclass
class BlockOutcome:
    """What running one block produced."""

    output: str
    error: str | None = None
    submitted: bool = False
    submission: Any = None
    timed_out: bool = False
    duration_s: float = 0.0
    notices: list[str] = field(default_factory=list)


@dataclass
class CellSources:
    """The source of every cell a kernel ran, for tracebacks that quote the agent's lines."""

    lines: dict[str, list[str]] = field(default_factory=dict)
    count: int = 0

    def add(self, code: str) -> str:
        self.count += 1
        filename = f"<cell {self.count}>"
        self.lines[filename] = code.splitlines()
        return filename


async def run_block(
    code: str,
    namespace: dict[str, Any],
    sources: CellSources,
    slot: SubmitSlot,
    *,
    timeout_message: str = "the block ran past its timeout and was stopped",
    buffer: OutputBuffer | None = None,
) -> BlockOutcome:
    """Run ``code`` in ``namespace``, capturing what it prints in this context only.

    Args:
        code: The block's source.
        namespace: The persistent globals of the kernel.
        sources: Cell sources of the kernel (the block is added to it).
        slot: Where ``submit()`` records its value.
        timeout_message: The error shown when the block is stopped by ``BlockTimeout``.
        buffer: Where prints go (a fresh bounded buffer by default); the subprocess kernel reads
            it while the block runs, so output printed before a timeout is not lost.
    """
    filename = sources.add(code)
    block = sources.count
    slot.begin(block)
    _block_id.set(block)
    buffer, token = start_capture(buffer)
    started = time.perf_counter()
    outcome = BlockOutcome(output="")
    try:
        try:
            try:
                await _execute(code, filename, namespace, buffer)
            finally:
                # First thing after agent code: the kernel's own code below needs ``len`` & co.
                outcome.notices = restore_host_builtins()
        except SubmitSignal as signal:
            outcome.submitted, outcome.submission = True, signal.value
        except (BlockTimeout, asyncio.CancelledError):
            outcome.timed_out = True
            outcome.error = f"TimeoutError: {timeout_message}"
        except SyntaxError as exc:
            outcome.error = _format_syntax_error(exc, sources)
        except BaseException as exc:  # agent code may raise anything, SystemExit included
            outcome.error = format_agent_traceback(exc, sources)
        finally:
            stop_capture(token)
    except (BlockTimeout, asyncio.CancelledError):
        # The stop request landed after the block's own code, in the handlers above: still a timeout.
        outcome.timed_out = True
        outcome.error = f"TimeoutError: {timeout_message}"
    if slot.submitted and not outcome.submitted:
        # Agent code caught the signal (``except BaseException``): the submission still counts.
        outcome.submitted, outcome.submission = True, slot.value
    if outcome.submitted:
        outcome.error = None
    outcome.output = buffer.getvalue()
    outcome.error = bounded_text(outcome.error, ERROR_LIMIT) if outcome.error is not None else None
    outcome.duration_s = time.perf_counter() - started
    return outcome


async def _execute(code: str, filename: str, namespace: dict[str, Any], buffer: OutputBuffer) -> None:
    key = (code, filename)
    with _COMPILED_LOCK:
        kept = _COMPILED.get(key)
        if kept is not None:
            _COMPILED.move_to_end(key)
    written = buffer.total
    last: ast.Expression | None = None
    quiet = True
    if kept is not None:
        body, expr = kept
    else:
        tree = ast.parse(code, filename, mode="exec")
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            final = tree.body.pop()
            assert isinstance(final, ast.Expr)
            last = ast.Expression(final.value)
        body = compile(tree, filename, "exec", flags=_FLAGS, dont_inherit=True)
        expr = None
        quiet = buffer.total == written
        if last is None and quiet:
            _keep(key, body, None)
    result = eval(body, namespace)
    if body.co_flags & inspect.CO_COROUTINE:
        await result
    if last is not None:
        # Compiled after the body ran, as a REPL does: what the body printed comes first.
        written = buffer.total
        expr = compile(last, filename, "eval", flags=_FLAGS, dont_inherit=True)
        if quiet and buffer.total == written:
            _keep(key, body, expr)
    if expr is None:
        return
    value = eval(expr, namespace)
    if expr.co_flags & inspect.CO_COROUTINE:
        value = await value
    if value is not None:
        namespace["_"] = value
        print(repr(value))


_FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
_COMPILED: collections.OrderedDict[tuple[str, str], tuple[CodeType, CodeType | None]] = (
    collections.OrderedDict()
)
_COMPILED_LOCK = threading.Lock()
COMPILED_KEPT = 64
"""Compiled blocks kept, by source and cell name: an agent policy that sends the same block to
every kernel (``<cell 1>`` each time) has it parsed and compiled once."""


def _keep(key: tuple[str, str], body: CodeType, expr: CodeType | None) -> None:
    """Keep a block's compiled code (only when compiling it printed nothing: a ``SyntaxWarning``
    goes to the block's output, and must be printed again the next time). A warning shown
    elsewhere (recorded by a test runner, sent to logging) is not seen here: it is shown once."""
    with _COMPILED_LOCK:
        _COMPILED[key] = (body, expr)
        if len(_COMPILED) > COMPILED_KEPT:
            _COMPILED.popitem(last=False)


def _format_syntax_error(exc: SyntaxError, sources: CellSources) -> str:
    where = f'  File "{exc.filename}", line {exc.lineno}\n'
    line = exc.text.rstrip("\n") if exc.text else ""
    if not line and exc.filename in sources.lines and exc.lineno:
        cell = sources.lines[exc.filename]
        line = cell[exc.lineno - 1] if 0 < exc.lineno <= len(cell) else ""
    caret = ""
    if line and exc.offset:
        stripped = line.lstrip()
        caret = "    " + " " * max(0, exc.offset - 1 - (len(line) - len(stripped))) + "^\n"
        line = stripped
    text = f"    {line}\n" if line else ""
    return f"{where}{text}{caret}{type(exc).__name__}: {exc.msg}"


def format_agent_traceback(exc: BaseException, sources: CellSources) -> str:
    """A short traceback: the frames in the agent's cells, plus the frame that raised.

    Library frames in between are counted, not shown, so the model sees its own lines first.
    """
    frames = _walk(exc.__traceback__)
    kept: list[str] = []
    hidden = 0
    for n, (filename, lineno, name) in enumerate(frames):
        is_cell = filename in sources.lines
        if not is_cell and n != len(frames) - 1:
            hidden += 1
            continue
        if hidden:
            kept.append(f"  ... {hidden} library frame{'s' if hidden > 1 else ''} ...")
            hidden = 0
        if is_cell:
            cell = sources.lines[filename]
            line = cell[lineno - 1].strip() if 0 < lineno <= len(cell) else ""
        else:
            line = linecache.getline(filename, lineno).strip()
        kept.append(f'  File "{filename}", line {lineno}, in {name}')
        if line:
            kept.append(f"    {line}")
    message = "".join(traceback.format_exception_only(type(exc), exc)).rstrip()
    if not kept:
        return message
    return "Traceback (most recent call last):\n" + "\n".join(kept) + "\n" + message


def _walk(tb: TracebackType | None) -> list[tuple[str, int, str]]:
    frames: list[tuple[str, int, str]] = []
    # The first frames belong to the kernel itself (this module); skip up to the first cell.
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append((code.co_filename, tb.tb_lineno, code.co_name))
        tb = tb.tb_next
    while frames and frames[0][0] == __file__:
        frames.pop(0)
    return frames
