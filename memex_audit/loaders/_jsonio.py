"""JSON reading shared by the adapters: orjson, per-line errors, pydantic errors as field paths."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from memex_audit.loaders._registry import LoadError


def describe_validation_error(exc: ValidationError) -> tuple[str | None, str]:
    """The first error's dotted field path and a short reason (with a count of the others)."""
    errors = exc.errors(include_url=False)
    if not errors:
        return None, str(exc)
    first = errors[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or None
    reason = f"invalid record: {first.get('msg', 'validation failed')}"
    if len(errors) > 1:
        reason += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return field, reason


def decode_error_reason(exc: orjson.JSONDecodeError, data: bytes) -> tuple[int | None, str]:
    """A line number and a reason for a JSON document that failed to parse."""
    msg = str(exc.msg) if hasattr(exc, "msg") else str(exc)
    if "utf-8" in msg.lower() or "utf8" in msg.lower() or "surrogate" in msg.lower():
        return None, f"not valid UTF-8 text ({msg}); save the file as UTF-8"
    pos = getattr(exc, "pos", None)
    if isinstance(pos, int) and pos >= len(data.rstrip()):
        return getattr(exc, "lineno", None), f"truncated JSON: the document ends early ({msg})"
    line = getattr(exc, "lineno", None)
    col = getattr(exc, "colno", None)
    where = f" at column {col}" if col else ""
    return line, f"malformed JSON{where}: {msg}"


def read_json_document(path: Path, fmt: str) -> Any | LoadError:
    """Parse a whole JSON file, or return a ``LoadError`` that says why it could not be."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return LoadError(file=str(path), format=fmt, reason=f"cannot read file: {exc.strerror or exc}")
    if not data.strip():
        return LoadError(file=str(path), format=fmt, reason="empty file")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        line, reason = decode_error_reason(exc, data)
        return LoadError(file=str(path), line=line, format=fmt, reason=reason)


def iter_jsonl(path: Path, fmt: str) -> Iterator[tuple[int, bytes] | LoadError]:
    """Yield ``(line_number, raw_line)`` for each non-blank line, or a ``LoadError`` for the file.

    Lines are read one at a time, so a large file is never held whole in memory.
    """
    try:
        fh = path.open("rb")
    except OSError as exc:
        yield LoadError(file=str(path), format=fmt, reason=f"cannot read file: {exc.strerror or exc}")
        return
    with fh:
        seen_any = False
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            seen_any = True
            yield number, raw
        if not seen_any:
            yield LoadError(file=str(path), format=fmt, reason="empty file")


def parse_jsonl_line(path: Path, number: int, raw: bytes, fmt: str) -> Any | LoadError:
    """Parse one JSONL line, or say why it is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        _, reason = decode_error_reason(exc, raw)
        return LoadError(file=str(path), line=number, format=fmt, reason=reason)


def iter_jsonl_records(path: Path, fmt: str) -> Iterator[tuple[int, Any] | LoadError]:
    """Yield ``(line_number, parsed_line)`` for each non-blank line; a bad line or file, a ``LoadError``."""
    for item in iter_jsonl(path, fmt):
        if isinstance(item, LoadError):
            yield item
            continue
        number, raw = item
        record = parse_jsonl_line(path, number, raw, fmt)
        yield record if isinstance(record, LoadError) else (number, record)


def first_json_char(head: bytes) -> bytes:
    """The first non-whitespace byte of a file's head (skipping a UTF-8 BOM), or ``b""``."""
    stripped = head.lstrip(b"\xef\xbb\xbf").lstrip()
    return stripped[:1]
