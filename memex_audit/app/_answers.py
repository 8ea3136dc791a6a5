"""Answers as the best-of-N page compares them: parsed, normalised, labelled and diffed.

Rollouts of structured tasks answer with JSON (``{"name": ..., "arguments": ...}``), several of them
joined by ``"; "``, and a ground truth may be a Python structure or its ``repr``. ``normal_answer``
reads any of these into one canonical text (JSON with sorted keys, strings in lower case, one
value per line when there are several) so equal answers compare equal and a diff lines up on the
fields that differ.
"""

from __future__ import annotations

import ast
import difflib
import string
from collections.abc import Sequence

import orjson

from memex_audit.app._text import shorten
from memex_audit.trajectory import Trajectory

_MAX_PARSE = 200_000
"""Longest text parsed as a Python literal (``ast.literal_eval`` of huge text is slow)."""


def _parse(text: str) -> object | None:
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{(\"'0123456789-tfnTFN":
        return None
    try:
        parsed: object = orjson.loads(stripped)
        return parsed
    except orjson.JSONDecodeError:
        pass
    if len(stripped) <= _MAX_PARSE:
        try:
            literal: object = ast.literal_eval(stripped)
            return literal
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
    if "; " in stripped:
        parts = [_parse(p) for p in stripped.split("; ")]
        if all(p is not None for p in parts):
            return parts
    return None


def _lower(value: object) -> object:
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    if isinstance(value, dict):
        return {str(k): _lower(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lower(v) for v in value]
    return value


def normal_answer(value: object) -> str:
    """The answer as canonical text: parsed when it is JSON or a Python literal (or several joined by
    ``"; "``), strings folded to lower case with whitespace runs as one space, keys sorted, indented;
    plain text folded the same way."""
    parsed = _parse(value) if isinstance(value, str) else value
    if parsed is None:
        return " ".join(str(value or "").split()).casefold() if value is not None else ""
    if isinstance(parsed, str):
        return " ".join(parsed.split()).casefold()
    try:
        return orjson.dumps(
            _lower(parsed), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
        ).decode()
    except TypeError:
        return " ".join(repr(parsed).split()).casefold()


def answer_letter(n: int) -> str:
    """``A``, ``B``, … ``Z``, ``AA``, ``AB``…: the short label of the ``n``-th answer (0-based)."""
    letters = string.ascii_uppercase
    label = ""
    n += 1
    while n:
        n, rem = divmod(n - 1, 26)
        label = letters[rem] + label
    return label


def answer_labels(answers: Sequence[str]) -> dict[str, str]:
    """A short label per distinct normalised answer: the most frequent ``A``, then ``B``… (ties in
    order of first appearance)."""
    counts: dict[str, int] = {}
    for answer in answers:
        counts[answer] = counts.get(answer, 0) + 1
    ordered = sorted(counts, key=lambda a: -counts[a])
    return {answer: answer_letter(n) for n, answer in enumerate(ordered)}


def answer_diff(left: str, right: str, left_name: str, right_name: str) -> str:
    """A unified diff of two normalised answers (empty when they are equal)."""
    if left == right:
        return ""
    lines = difflib.unified_diff(
        left.splitlines(), right.splitlines(), fromfile=left_name, tofile=right_name, lineterm="", n=2
    )
    return "\n".join(lines)


def action_sequence(trajectory: Trajectory, width: int = 90) -> list[tuple[int, str]]:
    """``(step, action)`` for each action the rollout took: a tool call as ``name {arguments}``, or the
    first line of the code a step ran; cut to ``width`` characters."""
    actions: list[tuple[int, str]] = []
    for step in trajectory.steps:
        for call in step.tool_calls:
            args = call.arguments_raw or orjson.dumps(call.arguments, option=orjson.OPT_SORT_KEYS).decode()
            actions.append((step.index, shorten(f"{call.name} {args}", width)))
        if step.code and not step.tool_calls:
            actions.append((step.index, shorten(step.code, width)))
    return actions


def first_divergence(sequences: Sequence[Sequence[str]]) -> int | None:
    """The first position where the sequences differ (one running out counts), ``None`` if equal."""
    if len(sequences) < 2:
        return None
    longest = max(len(s) for s in sequences)
    for n in range(longest):
        values = {s[n] if n < len(s) else None for s in sequences}
        if len(values) > 1:
            return n
    return None
