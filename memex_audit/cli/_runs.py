"""What every command that writes a run folder does the same way: record load errors, and exit with
a status a script or CI can act on."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import typer
from pydantic import BaseModel

from memex_audit.cli._app import clean, err_console
from memex_audit.loaders import LoadProblem
from memex_audit.runs import RunFailure, RunStore


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
