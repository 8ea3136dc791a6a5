"""Turning one bad record into one ``LoadError`` while the rest of the file keeps loading."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from memex_audit.loaders._jsonio import describe_validation_error, iter_jsonl_records, read_json_document
from memex_audit.loaders._registry import LoadError, LoadItem
from memex_audit.trajectory import Trajectory


class RecordError(ValueError):
    """A record of a foreign format lacks a field or holds a value of the wrong kind.

    Attributes:
        field: Dotted path of the offending field inside the record.
        reason: What is wrong, in words that say what to fix.
    """

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def convert_record(
    build: Callable[[], Trajectory],
    *,
    path: Path,
    fmt: str,
    line: int | None = None,
    field_prefix: str | None = None,
) -> LoadItem:
    """Run ``build`` and return its trajectory, or a ``LoadError`` naming the record and field.

    Args:
        build: Converts one record; raises ``RecordError``, ``ValidationError`` or a plain
            ``KeyError``/``TypeError``/``ValueError`` when the record is malformed.
        path: The file.
        fmt: The format name.
        line: 1-based line (JSONL) or record number, when known.
        field_prefix: Path of the record inside the file (``simulations.3``), prefixed to fields.
    """
    try:
        return build()
    except RecordError as exc:
        return LoadError(
            file=str(path), line=line, field=_join(field_prefix, exc.field), format=fmt, reason=exc.reason
        )
    except ValidationError as exc:
        field, reason = describe_validation_error(exc)
        return LoadError(
            file=str(path), line=line, field=_join(field_prefix, field), format=fmt, reason=reason
        )
    except KeyError as exc:
        return LoadError(
            file=str(path),
            line=line,
            field=_join(field_prefix, str(exc.args[0]) if exc.args else None),
            format=fmt,
            reason="required field is missing",
        )
    except (TypeError, ValueError, AttributeError) as exc:
        return LoadError(
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

    A record's ``LoadError`` gives its 1-based number as ``line`` and its place in the file as the
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

    A line that is not JSON, or the file that cannot be read, becomes a ``LoadError``.
    """
    for item in iter_jsonl_records(path, fmt):
        if isinstance(item, LoadError):
            yield item
            continue
        number, record = item
        yield convert_record(partial(build, record, number), path=path, fmt=fmt, line=number)


def convert_json_document(path: Path, fmt: str, build: Callable[[Any], Trajectory]) -> Iterator[LoadItem]:
    """Convert a JSON file that holds one record with ``build(document)``, as ``convert_record`` does.

    A file that cannot be read or parsed becomes a ``LoadError``.
    """
    doc = read_json_document(path, fmt)
    if isinstance(doc, LoadError):
        yield doc
        return
    yield convert_record(partial(build, doc), path=path, fmt=fmt)


def file_error(path: Path, fmt: str, reason: str, *, field: str | None = None) -> LoadError:
    """A ``LoadError`` about the file as a whole."""
    return LoadError(file=str(path), field=field, format=fmt, reason=reason)


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
