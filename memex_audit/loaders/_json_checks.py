"""JSON that would be read as something other than what it says: non-finite numbers and repeated keys.

JSON has no NaN or Infinity, and a number too large for a double (``1e400``) has no value; pydantic
reads all three as floats that are written back as ``null``. An object that repeats a key keeps its
last value in every parser, so ``"correct": false, "correct": true`` is a correct rollout. Both are
load errors here, with the line and the dotted field.

Checking every key of every line exactly would cost as much as parsing it again, so the native
loader runs a cheap test first (``keys_consistent``): the number of colons that follow a quote or
whitespace in the raw bytes (counted with numpy) is at least the number of keys the line holds,
and the validated model says how many distinct keys it read (``model_shape``). When the two are
equal no key was repeated. When the count says more (colons after whitespace in prose, after
escaped quotes), a closer count (``key_ends``: unescaped quotes followed by optional whitespace and
a colon) is compared instead. Only a text where that one differs too, or that holds a non-finite
float, is parsed again exactly (``has_problem``, then ``find_problem`` to say where).
"""

from __future__ import annotations

import json
import math
import re
import types
import typing
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from enum import Enum
from functools import cache
from itertools import chain
from operator import attrgetter
from typing import Any, Literal, NamedTuple

import numpy as np
from pydantic import BaseModel

_U2 = np.dtype("<u2")
_COLON_HIGH = np.uint16(0x3A00)  # a little-endian byte pair whose second byte is b":"
_KEY_END_MAX = np.uint16(0x22)  # ... and whose first is at most b'"' (whitespace, b"!" or b'"')


class JsonProblem(NamedTuple):
    """Where a JSON text says something a reader would silently change, and what.

    Attributes:
        reason: What is wrong, in words that say what to fix.
        field: Dotted path of the value (``steps.3.usage.cost_usd``), ``""`` for the document itself.
        line: 1-based line in the text (counted from the start of the text given).
    """

    reason: str
    field: str
    line: int


# -- the cheap test ------------------------------------------------------------------------------


def key_terminators(raw: bytes) -> int:
    """How many times ``:`` directly follows ``"``, ``!`` or whitespace in ``raw``.

    Every key of a JSON text ends with ``"``, maybe whitespace, then ``:``: the count is at least
    the number of keys the text holds (colons inside strings can only add to it).
    """
    n = len(raw)
    if n < 2:
        return 0
    even = np.frombuffer(raw, _U2, n // 2)
    odd = np.frombuffer(raw, _U2, (n - 1) // 2, 1)
    return int(np.count_nonzero(even - _COLON_HIGH <= _KEY_END_MAX)) + int(
        np.count_nonzero(odd - _COLON_HIGH <= _KEY_END_MAX)
    )


def keys_consistent(raw: bytes, distinct_keys: int) -> bool:
    """True when ``raw`` cannot repeat a key, given that parsing it found ``distinct_keys`` keys."""
    # ``key_terminators`` also counts colons after whitespace in prose (``:param``) and after
    # escaped quotes: when it says more, ``key_ends`` counts again, closer.
    return key_terminators(raw) == distinct_keys or key_ends(raw) == distinct_keys


_U1 = np.dtype("u1")
_QUOTE, _COLON, _BACKSLASH = 0x22, 0x3A, 0x5C


def _is_space(values: Any) -> Any:
    return (values == 0x20) | (values == 0x0A) | (values == 0x0D) | (values == 0x09)


def key_ends(raw: bytes) -> int:
    """How many unescaped ``"`` in ``raw`` are followed by optional whitespace and ``:``.

    Every key of a JSON text ends so, and every other unescaped quote opens or closes a string:
    the count is at least the number of keys (a string that starts with ``:`` adds one), and
    equal to it in almost every text. A quote is escaped when an odd run of backslashes precedes it.
    """
    data = np.frombuffer(raw, _U1)
    before = np.flatnonzero(data == _COLON) - 1
    before = before[before >= 0]
    ends = [before[data[before] == _QUOTE]]
    spaced = before[_is_space(data[before])]
    while spaced.size:
        spaced = spaced - 1
        spaced = spaced[spaced >= 0]
        found = data[spaced]
        ends.append(spaced[found == _QUOTE])
        spaced = spaced[_is_space(found)]
    quotes = np.concatenate(ends)
    count = int(quotes.size)
    # Quotes after a backslash: escaped when the run of backslashes before them is odd.
    run = quotes[data[np.maximum(quotes - 1, 0)] == _BACKSLASH] - 2
    escaped = 0
    length = 1  # the backslashes seen before each position in ``run``
    while run.size:
        more = (run >= 0) & (data[np.maximum(run, 0)] == _BACKSLASH)
        if length % 2:
            escaped += run.size - int(np.count_nonzero(more))
        run = run[more] - 1
        length += 1
    return count - escaped


# -- what a parsed value holds -------------------------------------------------------------------

_Kind = Literal["model", "models", "float", "json"]
_SCALARS = (str, int, bool, type(None), datetime, date, time, timedelta, Enum)
_FIELDS_SET = attrgetter("__pydantic_fields_set__")


def _is_scalar(annotation: Any) -> bool:
    if typing.get_origin(annotation) is Literal:
        return True
    return isinstance(annotation, type) and issubclass(annotation, _SCALARS) and annotation is not float


@cache
def _composite_fields(model: type[BaseModel]) -> tuple[tuple[_Kind, Callable[[Any], Any]], ...]:
    """The fields of ``model`` that can hold keys or floats: what they hold and a getter."""
    fields: list[tuple[_Kind, Callable[[Any], Any]]] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        origin = typing.get_origin(annotation)
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin in (typing.Union, types.UnionType) and len(args) == 1:
            annotation, origin = args[0], typing.get_origin(args[0])
            args = list(typing.get_args(annotation))
        kind: _Kind
        if _is_scalar(annotation):
            continue
        if annotation is float:
            kind = "float"
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            kind = "model"
        elif (
            origin is list and len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], BaseModel)
        ):
            kind = "models"
        else:
            kind = "json"
        fields.append((kind, attrgetter(name)))
    return tuple(fields)


def model_shape(model: BaseModel) -> tuple[int, bool]:
    """The number of keys the JSON that ``model`` was validated from held, and whether every float is finite.

    Keys are the fields that were set (``model_fields_set``) plus the keys of every dict inside
    free-form (``JsonValue``) fields. Instances of one class are looked into a field at a time, so
    a trajectory of many steps costs a few C-level passes, not a Python loop over every field.
    """
    keys = 0
    total = 0.0
    groups: list[list[Any]] = [[model]]
    while groups:
        group = groups.pop()
        keys += sum(map(len, map(_FIELDS_SET, group)))
        model_class: type[BaseModel] = type(group[0])
        for kind, get in _composite_fields(model_class):
            # Empty values (None, 0.0, {}, []) hold no keys and no non-finite float: filtered out.
            if kind == "float":
                total += sum(filter(None, map(get, group)))
            elif kind == "model":
                _add_group(list(filter(None, map(get, group))), groups)
            elif kind == "models":
                _add_group(list(chain.from_iterable(map(get, group))), groups)
            else:
                values = list(filter(None, map(get, group)))
                if values:
                    json_keys, finite = json_shape(values)
                    keys += json_keys
                    if not finite:
                        total = math.nan
    return keys, total - total == 0.0


def _add_group(models: list[Any], groups: list[list[Any]]) -> None:
    if not models:
        return
    classes = set(map(type, models))
    if len(classes) == 1:
        groups.append(models)
        return
    for cls in classes:
        groups.append([m for m in models if type(m) is cls])


def json_shape(values: Iterable[Any]) -> tuple[int, bool]:
    """The number of dict keys in parsed JSON values, and whether every float in them is finite."""
    keys = 0
    total = 0.0
    frontier = list(values)
    while frontier:
        # One level at a time, with C-level filters: no Python step per value.
        dicts = list(filter(_is_dict, frontier))
        total += sum(filter(_is_float, frontier))
        keys += sum(map(len, dicts))
        frontier = list(chain(chain.from_iterable(map(dict.values, dicts)), *filter(_is_list, frontier)))
    return keys, total - total == 0.0


_is_dict = dict.__instancecheck__
_is_list = list.__instancecheck__
_is_float = float.__instancecheck__


# -- the exact check -----------------------------------------------------------------------------


class _Found(Exception):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Found
    return result


def _constant(token: str) -> Any:
    raise _Found


def _float(token: str) -> float:
    value = float(token)
    if value - value != 0.0:
        raise _Found
    return value


def has_problem(text: bytes | str) -> bool:
    """Whether a JSON text repeats a key or holds a number that is not finite (exact, at C speed)."""
    try:
        json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float)
    except _Found:
        return True
    except (ValueError, RecursionError):  # not JSON at all: whoever parses it says why
        return False
    return False


_TOKEN = re.compile(
    rb"""
    (?P<string>"[^"\\]*(?:\\.[^"\\]*)*")
    |(?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
    |(?P<constant>-?Infinity|NaN)
    |(?P<punct>[{}\[\],:])
    |(?P<word>true|false|null)
    |(?P<space>[ \t\r\n]+)
    """,
    re.VERBOSE,
)


class _Frame:
    __slots__ = ("expect_key", "index", "is_object", "key", "keys")

    def __init__(self, is_object: bool) -> None:
        self.is_object = is_object
        self.keys: set[str] = set()
        self.key: str | None = None
        self.index = 0
        self.expect_key = is_object


def find_problem(text: bytes, *, prefix: str = "") -> JsonProblem | None:
    """The first repeated key or non-finite number in a JSON text, with its field and line.

    Reads tokens up to the first problem, or up to what is not JSON (``None`` then: the parser
    says what is wrong). Slow (a regular expression per token): run it on texts known to be bad.

    Args:
        text: The JSON text (UTF-8).
        prefix: Dotted path of the text inside its file (a record's position), put before fields.
    """
    stack: list[_Frame] = []
    pos, end = 0, len(text)
    if text.startswith(b"\xef\xbb\xbf"):
        pos = 3
    while pos < end:
        match = _TOKEN.match(text, pos)
        if match is None:
            return None
        kind, token = match.lastgroup, match.group()
        top = stack[-1] if stack else None
        if kind == "string" and top is not None and top.is_object and top.expect_key:
            try:
                key = json.loads(token)
            except ValueError:
                return None
            if key in top.keys:
                where = _path(stack, prefix, key)
                return JsonProblem(
                    f"duplicate key {key!r}: the object repeats it, and a reader would keep only its "
                    "last value; remove one",
                    where,
                    _line(text, match.start()),
                )
            top.keys.add(key)
            top.key = key
            top.expect_key = False
        elif kind == "constant" or (kind == "number" and not _finite(token)):
            shown = token.decode()
            if len(shown) > 24:
                shown = shown[:10] + "…" + shown[-10:]
            return JsonProblem(
                f"non-finite number {shown}: JSON numbers must be finite, and this one would be read "
                "as null; write it as a string or leave the field out",
                _path(stack, prefix, None),
                _line(text, match.start()),
            )
        elif kind == "punct":
            if token in b"{[":
                stack.append(_Frame(token == b"{"))
            elif token in b"}]":
                if not stack:
                    return None
                stack.pop()
            elif token == b"," and top is not None:
                if top.is_object:
                    top.expect_key = True
                else:
                    top.index += 1
        pos = match.end()
    return None


def _finite(token: bytes) -> bool:
    if b"." not in token and b"e" not in token and b"E" not in token:
        return True  # an integer: exact at any size
    return math.isfinite(float(token))


def _path(stack: list[_Frame], prefix: str, last: str | None) -> str:
    parts = [prefix] if prefix else []
    for frame in stack:
        if frame.is_object:
            if frame.key is not None and (frame is not stack[-1] or last is None):
                parts.append(frame.key)
        else:
            parts.append(str(frame.index))
    if last is not None:
        parts.append(last)
    return ".".join(parts)


def _line(text: bytes, pos: int) -> int:
    return text.count(b"\n", 0, pos) + 1
