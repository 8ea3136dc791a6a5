"""Turning one bad record into one ``LoadProblem`` while the rest of the file keeps loading."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from memex_audit.errors import TrajectoryFormatError
from memex_audit.loaders._jsonio import describe_validation_error, iter_jsonl_records, read_json_document
from memex_audit.loaders._registry import LoadItem, LoadProblem
from memex_audit.trajectory import Trajectory


def format_problem(
    exc: TrajectoryFormatError,
    *,
    path: Path,
    fmt: str,
    line: int | None = None,
    field_prefix: str | None = None,
) -> LoadProblem:
    """The ``LoadProblem`` for a record that raised ``exc``: where the error says, else where the
    caller read it (``line``), with the record's place in the file prefixed to its field."""
    return LoadProblem(
        file=exc.file or str(path),
        line=exc.line if exc.line is not None else line,
        field=_join(field_prefix, exc.field),
        format=exc.format or fmt,
        reason=exc.reason,
    )


def convert_record(
    build: Callable[[], Trajectory],
    *,
    path: Path,
    fmt: str,
    line: int | None = None,
    field_prefix: str | None = None,
) -> LoadItem:
    """Run ``build`` and return its trajectory, or a ``LoadProblem`` naming the record and field.

    Args:
        build: Converts one record; raises ``TrajectoryFormatError``, ``ValidationError`` or a plain
            ``KeyError``/``TypeError``/``ValueError`` when the record is malformed.
        path: The file.
        fmt: The format name.
        line: 1-based line (JSONL) or record number, when known.
        field_prefix: Path of the record inside the file (``simulations.3``), prefixed to fields.
    """
    try:
        return build()
    except TrajectoryFormatError as exc:
        return format_problem(exc, path=path, fmt=fmt, line=line, field_prefix=field_prefix)
    except ValidationError as exc:
        field, reason = describe_validation_error(exc)
        return LoadProblem(
            file=str(path), line=line, field=_join(field_prefix, field), format=fmt, reason=reason
        )
    except KeyError as exc:
        return LoadProblem(
            file=str(path),
            line=line,
            field=_join(field_prefix, str(exc.args[0]) if exc.args else None),
            format=fmt,
            reason="required field is missing",
        )
    except (TypeError, ValueError, AttributeError) as exc:
        return LoadProblem(
            file=str(path),
            line=line,
            field=field_prefix,
            format=fmt,
            reason=f"malformed record ({type(exc).__name__}: {exc})",
        )


def convert_array_records(
    records: Iterable[Any],
    path: Path,
    fmt: str,
    build: Callable[[Any, int], Trajectory],
    *,
    field: str | None = None,
) -> Iterator[LoadItem]:
    """Convert each record of a JSON array with ``build(record, position)``, as ``convert_record`` does.

    A record's ``LoadProblem`` gives its 1-based number as ``line`` and its place in the file as the
    field prefix: ``field.3``, or ``3`` for an array at the top of the file.
    """
    for position, record in enumerate(records):
        yield convert_record(
            partial(build, record, position),
            path=path,
            fmt=fmt,
            line=position + 1,
            field_prefix=f"{field}.{position}" if field else str(position),
        )


def convert_jsonl_records(
    path: Path, fmt: str, build: Callable[[Any, int], Trajectory]
) -> Iterator[LoadItem]:
    """Convert each line of a JSONL file with ``build(record, line)``, as ``convert_record`` does.

    A line that is not JSON, or the file that cannot be read, becomes a ``LoadProblem``.
    """
    for item in iter_jsonl_records(path, fmt):
        if isinstance(item, LoadProblem):
            yield item
            continue
        number, record = item
        yield convert_record(partial(build, record, number), path=path, fmt=fmt, line=number)


def convert_json_document(path: Path, fmt: str, build: Callable[[Any], Trajectory]) -> Iterator[LoadItem]:
    """Convert a JSON file that holds one record with ``build(document)``, as ``convert_record`` does.

    A file that cannot be read or parsed becomes a ``LoadProblem``.
    """
    doc = read_json_document(path, fmt)
    if isinstance(doc, LoadProblem):
        yield doc
        return
    yield convert_record(partial(build, doc), path=path, fmt=fmt)


def file_error(path: Path, fmt: str, reason: str, *, field: str | None = None) -> LoadProblem:
    """A ``LoadProblem`` about the file as a whole."""
    return LoadProblem(file=str(path), field=field, format=fmt, reason=reason)


def unique_ids(items: Iterator[LoadItem]) -> Iterator[LoadItem]:
    """Pass items through, suffixing ``#2``, ``#3``… to a trajectory id already seen in this file."""
    seen: dict[str, int] = {}
    for item in items:
        if isinstance(item, Trajectory):
            count = seen.get(item.id, 0) + 1
            seen[item.id] = count
            if count > 1:
                item.id = f"{item.id}#{count}"
        yield item


def _join(prefix: str | None, field: str | None) -> str | None:
    if prefix and field:
        return f"{prefix}.{field}"
    return prefix or field
