"""What every command that writes a run folder does the same way: record load errors, and exit with
a status a script or CI can act on."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import orjson
import typer
from pydantic import BaseModel

from memex_audit.cli._app import err_console
from memex_audit.loaders import LoadError
from memex_audit.runs import RunError, RunStore


def record_load_errors(store: RunStore, errors: Sequence[LoadError]) -> int:
    """Append each file or record that could not be read to the run's ``errors.jsonl`` (once, across
    reruns) and say how many there are; returns how many were new."""
    done = store.done_keys()
    new = 0
    for error in errors:
        key = f"load:{error.file}:{error.line or 0}"
        if key in done:
            continue
        store.append_error(
            RunError(
                key=key,
                kind="load",
                message=error.reason,
                file=error.file,
                line=error.line,
                field=error.field,
            )
        )
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
            + f"; causes in {errors_file}",
            highlight=False,
        )
        raise typer.Exit(1)


def echo_run_json(
    store: RunStore, summary: BaseModel, name: str, records: Sequence[BaseModel], errors: Sequence[RunError]
) -> None:
    """What ``show --format json`` prints for any run: manifest, summary, the records under
    ``name``, and the errors of units without a result."""
    payload = {
        "manifest": store.manifest.model_dump(mode="json"),
        "summary": summary.model_dump(mode="json"),
        name: [r.model_dump(mode="json") for r in records],
        "errors": [e.model_dump(mode="json") for e in errors],
    }
    typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())
