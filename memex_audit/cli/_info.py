"""``memex-audit info``, ``convert``, ``formats`` and ``schema``: look at and convert rollouts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import typer
from rich.table import Table

from memex_audit.cli._app import (
    app,
    console,
    existing_path,
    fail,
    file_option,
    file_progress,
    folder_option,
    user_errors,
)
from memex_audit.loaders import STDIN, LoadResult, iter_files, load, registered_formats, write_jsonl
from memex_audit.schemas import stale_schemas, write_schemas


def input_path(path: Path) -> Path:
    """Validate a rollout path argument: an existing file or folder, or ``-`` for standard input."""
    return path if str(path) == STDIN else existing_path(path)


def _load_with_progress(path: Path, glob: str | None, format: str | None) -> LoadResult:
    files = iter_files(path, glob) if path.is_dir() else [path]
    with file_progress("loading", total=len(files)) as progress:
        task = progress.task_ids[0]
        return load(path, glob=glob, format=format, on_file=lambda _f, _fmt: progress.advance(task))


def _outcome_name(success: bool | None) -> str:
    return {True: "correct", False: "failed", None: "ungraded"}[success]


def _counter_table(title: str, counts: Counter[str], limit: int) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False)
    table.add_column(title.split(" by ")[-1])
    table.add_column("trajectories", justify="right")
    items = counts.most_common()
    for name, count in items[:limit]:
        table.add_row(name, str(count))
    if len(items) > limit:
        table.add_row(f"… {len(items) - limit} more", str(sum(c for _, c in items[limit:])))
    return table


@app.command()
def info(
    path: Path = typer.Argument(
        ..., help="A rollout file, a folder (read recursively), or - for standard input."
    ),
    glob: str | None = typer.Option(None, "--glob", "-g", help="Only read files matching this pattern."),
    format: str | None = typer.Option(None, "--format", "-f", help="Read every file with this format."),
    limit: int = typer.Option(15, help="Rows to show per table."),
    as_json: bool = typer.Option(False, "--json", help="Print the counts and errors as JSON."),
) -> None:
    """Count trajectories by task, model, harness, outcome and format; then list load errors and warnings.

    Exits 0 even when some files could not be read: each one is listed with file, line and reason.
    Compressed files (.gz, .zst) are read as the file they hold.
    """
    input_path(path)
    with user_errors():
        result = _load_with_progress(path, glob, format)
    trajs = result.trajectories
    counts = {
        "format": Counter((t.source.format if t.source else None) or "?" for t in trajs),
        "task": Counter(t.task_id for t in trajs),
        "model": Counter(t.model or "?" for t in trajs),
        "harness": Counter(t.harness or "?" for t in trajs),
        "outcome": Counter(_outcome_name(t.success) for t in trajs),
    }
    if as_json:
        payload = {
            "trajectories": len(trajs),
            "tasks": len(counts["task"]),
            "files": len(result.files),
            "skipped": result.skipped,
            "counts": {k: dict(v.most_common()) for k, v in counts.items()},
            "errors": [e.model_dump(mode="json") for e in result.errors],
            "warnings": [w.model_dump(mode="json") for w in result.warnings],
        }
        typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())
        return
    console.print(
        f"[bold]{len(trajs)}[/] trajectories of [bold]{len(counts['task'])}[/] tasks from "
        f"{len(result.files)} files ({len(result.skipped)} other files skipped, "
        f"{len(result.errors)} load errors, {len(result.warnings)} warnings)",
        markup=True,
        highlight=False,
    )
    for key in ("format", "model", "harness", "outcome", "task"):
        if counts[key]:
            console.print(_counter_table(f"trajectories by {key}", counts[key], limit))
    if result.errors:
        console.print(
            f"\n[bold red]{len(result.errors)} load errors[/] (file:line (format): reason)", markup=True
        )
        for error in result.errors:
            console.print(f"  {error}", highlight=False, markup=False, soft_wrap=True)
    _print_warnings(result)


def _print_warnings(result: LoadResult) -> None:
    if result.warnings:
        console.print(
            f"\n[bold yellow]{len(result.warnings)} warnings[/]: loaded, but with nothing to read "
            "(file:line (format): reason)",
            markup=True,
        )
        for warning in result.warnings:
            console.print(f"  {warning}", highlight=False, markup=False, soft_wrap=True)


@app.command()
def convert(
    path: Path = typer.Argument(
        ..., help="A rollout file or folder in any supported format, or - for standard input."
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", callback=file_option, help="The native JSONL file to write."
    ),
    glob: str | None = typer.Option(None, "--glob", "-g", help="Only read files matching this pattern."),
    format: str | None = typer.Option(None, "--format", "-f", help="Read every file with this format."),
) -> None:
    """Write native JSONL (one trajectory per line) from whatever `load` reads."""
    input_path(path)
    with user_errors():
        result = _load_with_progress(path, glob, format)
        written = write_jsonl(result.trajectories, out)
    console.print(f"wrote {written} trajectories to {out}", highlight=False)
    if result.errors:
        console.print(f"[bold red]{len(result.errors)} load errors[/] (not converted):", markup=True)
        for error in result.errors:
            console.print(f"  {error}", highlight=False, markup=False, soft_wrap=True)
    _print_warnings(result)


@app.command()
def formats() -> None:
    """List the rollout formats memex-audit can read."""
    table = Table(show_edge=False)
    table.add_column("format")
    table.add_column("file endings")
    table.add_column("reads")
    for name, adapter in registered_formats().items():
        doc = (type(adapter).__doc__ or "").strip().splitlines()
        table.add_row(name, " ".join(adapter.extensions), doc[0] if doc else "")
    console.print(table)


@app.command()
def schema(
    out: Path = typer.Option(
        Path("schemas"), "--out", "-o", callback=folder_option, help="Folder to write the schemas to."
    ),
    check: bool = typer.Option(False, "--check", help="Only check that the files match the models."),
) -> None:
    """Generate the JSON Schemas of every persisted model (or --check them for drift)."""
    if check:
        stale = stale_schemas(out)
        if stale:
            raise fail(f"schemas out of date: {', '.join(stale)}; run `memex-audit schema --out {out}`", 1)
        console.print(f"schemas in {out} match the models")
        return
    for path in write_schemas(out):
        console.print(f"wrote {path}", highlight=False)
