"""The ``memex-audit`` Typer application that every command module attaches to."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
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


console = Console(width=_width(sys.stdout))
err_console = Console(stderr=True, width=_width(sys.stderr))


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print an error that says what to do and return the exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn memex_audit's own errors into a one-line message and exit code 2."""
    try:
        yield
    except MemexAuditError as exc:
        raise fail(str(exc)) from None


@contextmanager
def file_progress(
    description: str, total: int | None = None, *, show_cost: bool = False
) -> Iterator[Progress]:
    """A progress bar on stderr (hidden when stderr is not a terminal); its one task is ``task_ids[0]``.

    Args:
        description: What is counted, shown before the bar.
        total: How many there are, when known.
        show_cost: Also show the US dollars spent so far, the task's ``cost`` field (set it with
            ``progress.update(task, cost=...)``).
    """
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
        disable=not sys.stderr.isatty(),
    )
    with progress:
        progress.add_task(description, total=total, cost=0.0)
        yield progress


def existing_path(path: Path) -> Path:
    """Validate that a path argument exists, with a message that says so."""
    if not path.exists():
        raise fail(f"{path} does not exist")
    return path
