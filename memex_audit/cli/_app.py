"""The ``memex-audit`` Typer application that every command module attaches to.

Both consoles print text as it is: rich markup is off unless a call asks for it (``markup=True``),
so a category id such as ``[x]`` or a path holding ``[/x]`` is printed, never obeyed. A call that
styles its message with markup passes data through ``clean``.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from memex_audit.errors import MemexAuditError

app = typer.Typer(
    name="memex-audit",
    help=(
        "Audit LLM-agent trajectories and aggregate parallel rollouts.\n\n"
        "Loads rollouts from many harness formats as typed trajectories, sorts failed ones into a "
        "failure taxonomy with evidence, and picks the answer to trust among N rollouts. "
        "Runs offline by default; set ANTHROPIC_API_KEY and pass --model to use an LLM."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _width(stream: object) -> int | None:
    # Piped output (a file, a CI log, another program) would wrap tables at 80 columns; give it
    # room unless COLUMNS says otherwise. A terminal keeps its own width.
    isatty = getattr(stream, "isatty", None)
    if (isatty is not None and isatty()) or os.environ.get("COLUMNS"):
        return None
    return 160


console = Console(width=_width(sys.stdout), markup=False)
err_console = Console(stderr=True, width=_width(sys.stderr), markup=False)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(value: object) -> str:
    """Data text made safe for a terminal: control characters (escape sequences that retitle the
    window, clear the screen or recolour it) are shown as ``\\xNN`` instead of being obeyed."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def clean(value: object) -> str:
    """``plain`` text that is also safe inside rich markup (``[link=…]`` in data stays literal),
    for a message printed with ``markup=True``."""
    return escape(plain(value))


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print an error that says what to do and return the exit to raise."""
    err_console.print(f"[bold red]error:[/] {clean(message)}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _print_version(value: bool) -> None:
    if value:
        from memex_audit import __version__

        typer.echo(f"memex-audit {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Audit LLM-agent trajectories and aggregate parallel rollouts."""


def folder_option(path: Path | None) -> Path | None:
    """An ``--out`` that names a folder (a new one, or one to reuse): refused when it is a file."""
    if path is not None and path.exists() and not path.is_dir():
        raise fail(f"--out {path} is a file, not a folder; choose a folder to write into")
    return path


def file_option(path: Path | None) -> Path | None:
    """An ``--out`` that names a file to write: refused when it is a folder."""
    if path is not None and path.is_dir():
        raise fail(f"--out {path} is a folder; give the path of the file to write")
    return path


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn memex_audit's own errors into a one-line message and exit code 2."""
    try:
        yield
    except MemexAuditError as exc:
        raise fail(str(exc)) from None


PROGRESS_LINE_SECONDS = 5.0
"""How often a progress line is printed when stderr is not a terminal (a CI log, a pipe)."""


class LineProgress:
    """Progress as one plain line every few seconds, for a stderr that is not a terminal.

    Offers the part of ``rich.progress.Progress`` the commands use (``task_ids``, ``update``,
    ``advance``), so a piped or logged run still shows that it is moving.
    """

    def __init__(self, description: str, total: int | None, *, show_cost: bool, every: float) -> None:
        self.task_ids = [TaskID(0)]
        self.description = description
        self.total = total
        self.completed = 0
        self.cost = 0.0
        self.show_cost = show_cost
        self.every = every
        self._started = time.monotonic()
        self._last = self._started

    def update(
        self,
        _task: TaskID,
        *,
        completed: int | None = None,
        total: int | None = None,
        cost: float | None = None,
    ) -> None:
        if completed is not None:
            self.completed = completed
        if total is not None:
            self.total = total
        if cost is not None:
            self.cost = cost
        self._maybe_print()

    def advance(self, _task: TaskID, amount: float = 1) -> None:
        self.completed += int(amount)
        self._maybe_print()

    def line(self) -> str:
        """The progress line as it is printed."""
        of = f"/{self.total}" if self.total is not None else ""
        cost = f", ${self.cost:.4f}" if self.show_cost else ""
        return (
            f"{self.description}: {self.completed}{of} done{cost}, {time.monotonic() - self._started:.0f} s"
        )

    def _maybe_print(self) -> None:
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            print(self.line(), file=sys.stderr, flush=True)


@contextmanager
def file_progress(
    description: str, total: int | None = None, *, show_cost: bool = False
) -> Iterator[Progress | LineProgress]:
    """A progress bar on stderr, or a progress line every few seconds when stderr is not a terminal;
    its one task is ``task_ids[0]``.

    Args:
        description: What is counted, shown before the bar.
        total: How many there are, when known.
        show_cost: Also show the US dollars spent so far, the task's ``cost`` field (set it with
            ``progress.update(task, cost=...)``).
    """
    if not sys.stderr.isatty():
        yield LineProgress(description, total, show_cost=show_cost, every=PROGRESS_LINE_SECONDS)
        return
    columns: list[ProgressColumn] = [
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
    ]
    if show_cost:
        columns.append(TextColumn("${task.fields[cost]:.4f}"))
    progress = Progress(
        *columns,
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    with progress:
        progress.add_task(description, total=total, cost=0.0)
        yield progress


def existing_path(path: Path) -> Path:
    """Validate that a path argument exists, with a message that says so."""
    if not path.exists():
        raise fail(f"{path} does not exist")
    return path
