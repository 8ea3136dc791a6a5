"""JSON reading shared by the adapters: orjson, per-line errors, pydantic errors as field paths.

What is read is what the file says, or an error: a UTF-8 byte order mark is skipped, but numbers
JSON cannot hold (NaN, Infinity, 1e400) and repeated keys are errors with their line and field
(see ``_json_checks``), text in another encoding is named as such, and a record larger than
``max_record_bytes`` is refused before it is read whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from memex_audit.loaders._compression import SizeLimitError, max_record_bytes, record_too_large
from memex_audit.loaders._json_checks import find_problem, has_problem, json_shape, keys_consistent
from memex_audit.loaders._registry import LoadProblem

UTF8_BOM = b"\xef\xbb\xbf"

_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32 (big-endian)"),
    (b"\xff\xfe\x00\x00", "UTF-32 (little-endian)"),
    (b"\xfe\xff", "UTF-16 (big-endian)"),
    (b"\xff\xfe", "UTF-16 (little-endian)"),
)


def strip_bom(data: bytes) -> bytes:
    """``data`` without a leading UTF-8 byte order mark."""
    return data[3:] if data.startswith(UTF8_BOM) else data


def text_encoding(head: bytes) -> str | None:
    """``UTF-16 (little-endian)`` and the like when ``head`` is text in an encoding other than UTF-8.

    Told by a byte order mark, or by the NUL bytes of the first characters when they are ASCII.
    """
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    if len(head) < 4 or b"\x00" not in head[:4] or head[:4] == b"\x00" * 4:
        return None
    a, b, c, d = (x == 0 for x in head[:4])
    if a and b and c and not d:
        return "UTF-32 (big-endian)"
    if not a and b and c and d:
        return "UTF-32 (little-endian)"
    if a and not b and c and not d:
        return "UTF-16 (big-endian)"
    if not a and b and not c and d:
        return "UTF-16 (little-endian)"
    return None


def encoding_reason(head: bytes) -> str | None:
    """Why ``head`` cannot be read as UTF-8 text, when another encoding or binary data tells why."""
    encoding = text_encoding(head)
    if encoding is not None:
        codec = encoding.split()[0] + ("BE" if "big" in encoding else "LE")
        return (
            f"the file is {encoding} text; memex-audit reads UTF-8: convert it "
            f"(iconv -f {codec} -t UTF-8) and load it again"
        )
    if b"\x00" in head:
        return "binary data (NUL bytes), not UTF-8 text"
    return None


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
    encoding = encoding_reason(data[:64])
    if encoding is not None:
        return None, encoding
    if "recursion" in msg.lower() or "depth limit" in msg.lower():
        return getattr(exc, "lineno", None), f"JSON nested too deeply to read ({msg})"
    if "utf-8" in msg.lower() or "utf8" in msg.lower() or "surrogate" in msg.lower():
        return None, f"not valid UTF-8 text ({msg}); save the file as UTF-8"
    pos = getattr(exc, "pos", None)
    if isinstance(pos, int) and pos >= len(data.rstrip()):
        return getattr(exc, "lineno", None), f"truncated JSON: the document ends early ({msg})"
    line = getattr(exc, "lineno", None)
    col = getattr(exc, "colno", None)
    where = f" at column {col}" if col else ""
    return line, f"malformed JSON{where}: {msg}"


def loads_checked(data: bytes, path: Path, fmt: str, *, line: int | None = None) -> Any | LoadProblem:
    """Parse JSON as orjson does, or say why it cannot be read as written.

    Besides JSON that does not parse, a non-finite number and a repeated key are errors naming their
    field, and their line: the line of ``data`` inside the file when ``line`` (a JSONL line's
    number) is not given.
    """
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if _at_non_finite(exc, data):
            error = problem_error(data, path, fmt, line=line)
            if error is not None:
                return error
        number, reason = decode_error_reason(exc, data)
        return LoadProblem(
            file=str(path), line=line if line is not None else number, format=fmt, reason=reason
        )
    if isinstance(doc, dict | list):
        keys, _ = json_shape([doc])
        if not keys_consistent(data, keys) and has_problem(data):
            error = problem_error(data, path, fmt, line=line)
            if error is not None:
                return error
    return doc


def problem_error(
    data: bytes, path: Path, fmt: str, *, line: int | None = None, prefix: str = ""
) -> LoadProblem | None:
    """The ``LoadProblem`` for the first repeated key or non-finite number in ``data``, if it has one."""
    problem = find_problem(data, prefix=prefix)
    if problem is None:
        return None
    return LoadProblem(
        file=str(path),
        line=line if line is not None else problem.line,
        field=problem.field or None,
        format=fmt,
        reason=problem.reason,
    )


def _at_non_finite(exc: orjson.JSONDecodeError, data: bytes) -> bool:
    pos = getattr(exc, "pos", None)
    if "infinity" in str(exc).lower():
        return True
    if not isinstance(pos, int):
        return False
    near = data[max(0, pos - 1) : pos + 9]
    return b"NaN" in near or b"Infinity" in near


def read_json_document(path: Path, fmt: str) -> Any | LoadProblem:
    """Parse a whole JSON file, or return a ``LoadProblem`` that says why it could not be."""
    try:
        size = path.stat().st_size
        if size > max_record_bytes():
            raise record_too_large("the file", size)
        data = path.read_bytes()
    except SizeLimitError as exc:
        return LoadProblem(file=str(path), format=fmt, reason=str(exc))
    except OSError as exc:
        return LoadProblem(file=str(path), format=fmt, reason=f"cannot read file: {exc.strerror or exc}")
    data = strip_bom(data)
    if not data.strip():
        return LoadProblem(file=str(path), format=fmt, reason="empty file")
    return loads_checked(data, path, fmt)


def iter_jsonl(path: Path, fmt: str) -> Iterator[tuple[int, bytes] | LoadProblem]:
    """Yield ``(line_number, raw_line)`` for each non-blank line, or a ``LoadProblem`` for the file.

    Lines are read one at a time, so a large file is never held whole in memory; a line longer than
    ``max_record_bytes`` is a ``LoadProblem`` of its own (and skipped without being held), a UTF-8 byte
    order mark before the first line is dropped.
    """
    try:
        fh = path.open("rb")
    except OSError as exc:
        yield LoadProblem(file=str(path), format=fmt, reason=f"cannot read file: {exc.strerror or exc}")
        return
    limit = max_record_bytes()
    with fh:
        seen_any = False
        try:
            for number, raw in enumerate(iter(lambda: fh.readline(limit + 1), b""), start=1):
                if len(raw) > limit and not raw.endswith(b"\n"):
                    seen_any = True
                    size = len(raw) + _skip_line(fh)
                    yield LoadProblem(
                        file=str(path),
                        line=number,
                        format=fmt,
                        reason=str(record_too_large("the line", size)),
                    )
                    continue
                if number == 1:
                    raw = strip_bom(raw)
                if not raw.strip():
                    continue
                seen_any = True
                yield number, raw
        except OSError as exc:
            yield LoadProblem(file=str(path), format=fmt, reason=f"cannot read file: {exc.strerror or exc}")
            return
        if not seen_any:
            yield LoadProblem(file=str(path), format=fmt, reason="empty file")


def _skip_line(fh: Any) -> int:
    """Read past the rest of the current line; how many bytes that was."""
    skipped = 0
    while chunk := fh.readline(1 << 20):
        skipped += len(chunk)
        if chunk.endswith(b"\n"):
            break
    return skipped


def parse_jsonl_line(path: Path, number: int, raw: bytes, fmt: str) -> Any | LoadProblem:
    """Parse one JSONL line, or say why it is not JSON (or not JSON read as written)."""
    return loads_checked(raw, path, fmt, line=number)


def iter_jsonl_records(path: Path, fmt: str) -> Iterator[tuple[int, Any] | LoadProblem]:
    """Yield ``(line_number, parsed_line)`` for each non-blank line; a bad line or file, a ``LoadProblem``."""
    for item in iter_jsonl(path, fmt):
        if isinstance(item, LoadProblem):
            yield item
            continue
        number, raw = item
        record = parse_jsonl_line(path, number, raw, fmt)
        yield record if isinstance(record, LoadProblem) else (number, record)


def iter_jsonl_objects(path: Path, fmt: str) -> Iterator[tuple[int, dict[str, Any]] | LoadProblem]:
    """``iter_jsonl_records`` for formats whose every line is a JSON object: another value is a
    ``LoadProblem`` of its line."""
    for item in iter_jsonl_records(path, fmt):
        if isinstance(item, LoadProblem) or isinstance(item[1], dict):
            yield item
        else:
            yield LoadProblem(
                file=str(path), line=item[0], format=fmt, reason="expected a JSON object per line"
            )


def first_json_char(head: bytes) -> bytes:
    """The first non-whitespace byte of a file's head (skipping a UTF-8 BOM), or ``b""``."""
    stripped = strip_bom(head).lstrip()
    return stripped[:1]
