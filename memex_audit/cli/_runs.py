"""What every command that writes a run folder does the same way: refuse an input without rollouts,
record load errors, report how the run went, and exit with a status a script or CI can act on."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, Protocol

import orjson
import typer
from pydantic import BaseModel

from memex_audit.cli._app import clean, console, err_console, plain
from memex_audit.errors import UsageError
from memex_audit.loaders import LoadProblem
from memex_audit.runs import RunFailure, RunStore


def nothing_loaded(
    path: str | Path, glob: str | None, errors: Sequence[LoadProblem], noun: str = "trajectories"
) -> UsageError:
    """The error to raise when reading ``path`` gave no rollouts, saying how many could not be read."""
    place = f"{path} (glob {glob!r})" if glob else str(path)
    return UsageError(
        f"no {noun} found in {place}"
        + (f"; {len(errors)} files or records could not be read" if errors else "")
    )


def record_load_errors(store: RunStore, errors: Sequence[LoadProblem]) -> int:
    """Append each file or record that could not be read to the run's ``errors.jsonl`` (once, across
    reruns) and say how many there are; returns how many were new."""
    done = store.done_keys()
    new = 0
    for error in errors:
        failure = RunFailure.of_load_problem(error)
        if failure.key in done:
            continue
        store.append_error(failure)
        new += 1
    if errors:
        err_console.print(
            f"{len(errors)} files or records could not be read; each is listed in {store.root / 'errors.jsonl'}",
            highlight=False,
        )
    return new


def exit_for_errors(errors: int, done: int, *, fail_on_error: bool, errors_file: Path) -> None:
    """Exit 1 when every unit of this invocation failed, or when any failed under ``--fail-on-error``."""
    if errors and (fail_on_error or done == 0):
        err_console.print(
            f"[bold red]{errors} units failed[/]"
            + (" and none succeeded" if done == 0 else "")
            + f"; causes in {clean(errors_file)}",
            markup=True,
            highlight=False,
        )
        raise typer.Exit(1)


def echo_run_json(
    store: RunStore,
    summary: BaseModel | dict[str, Any],
    name: str,
    records: Sequence[BaseModel],
    errors: Sequence[RunFailure],
) -> None:
    """What ``show --output-format json`` prints for any run: manifest, summary, the records under
    ``name``, and the errors of units without a result."""
    payload = {
        "manifest": store.manifest.model_dump(mode="json"),
        "summary": summary.model_dump(mode="json") if isinstance(summary, BaseModel) else summary,
        name: [r.model_dump(mode="json") for r in records],
        "errors": [e.model_dump(mode="json") for e in errors],
    }
    typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())


@contextmanager
def resumable(store: RunStore, finished: str) -> Iterator[None]:
    """Turn Ctrl-C into exit 130, saying how many ``finished`` units (``"results"``, ``"tasks done"``...)
    the run folder holds and that the same command resumes it."""
    try:
        yield
    except KeyboardInterrupt:
        err_console.print(
            f"interrupted: {len(store.result_keys())} {finished} in {store.root}; rerun the same command "
            "to resume",
            highlight=False,
        )
        raise typer.Exit(130) from None


def exit_at_budget(left: int, noun: str) -> NoReturn:
    """Exit 3 after the cost budget stopped the run, with ``left`` units (``noun``) not attempted."""
    err_console.print(
        f"[bold yellow]stopped at the cost budget[/]: {left} {noun} left; rerun with a higher "
        "--max-cost to continue",
        markup=True,
        highlight=False,
    )
    raise typer.Exit(3)


class _Finished(Protocol):
    @property
    def skipped(self) -> int: ...
    @property
    def errors(self) -> int: ...
    @property
    def elapsed_s(self) -> float: ...
    @property
    def cost_usd(self) -> float: ...
    @property
    def unknown_cost(self) -> bool: ...


def print_finished(did: str, outcome: _Finished, model: str) -> None:
    """The line that ends a model run: ``did`` (``"audited 3"``) trajectories, time, model and cost."""
    console.print(
        f"{did} trajectories ({outcome.skipped} already done, {outcome.errors} errors) "
        f"in {outcome.elapsed_s:.1f} s with {model}; cost ${outcome.cost_usd:.4f}"
        + (" (some costs unknown)" if outcome.unknown_cost else ""),
        highlight=False,
    )


def print_cache_stats(client: object, cache: Path | None) -> None:
    """How many replies the ``--cache`` replayed and how many requests went out (nothing without it)."""
    stats = getattr(getattr(client, "inner", None), "stats", None)
    if stats is not None:
        console.print(
            f"cache {cache}: {stats.hits} replies replayed, {stats.misses} requests sent", highlight=False
        )


def echo_errors(errors: Sequence[RunFailure]) -> None:
    """What ``show`` prints after a run's results: the errors of units without a result."""
    if errors:
        typer.echo("\nerrors:")
        for error in errors:
            typer.echo(plain(f"  {error.key}: {error.kind}: {error.message}"))
