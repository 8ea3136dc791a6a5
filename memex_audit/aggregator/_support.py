"""Checking one rollout's answer against what the rollout itself saw.

* ``answer_support``: does the answer's value occur in a tool output (``present``; a value rounded
  to the answer's precision counts), or follow from two values it saw by one arithmetic step
  (``derived``)? A number that occurs nowhere (e.g. ``3,501`` retyped as ``3531``) is ``unsupported``.
* ``action_support``: were the arguments of every state change seen before the call (in a tool
  output or the user's words), and did the user confirm the change in the turn before it?
* ``trouble_steps``: steps with errors, tracebacks or failed checks; ``hit_limit``: a run that
  stopped on a turn, error or budget limit.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field

from pydantic import JsonValue

from memex_audit.aggregator._keys import AnswerKey
from memex_audit.aggregator._normalize import AnswerValue, numbers_in_text
from memex_audit.trajectory import Trajectory

MAX_DERIVATION_NUMBERS = 40
"""Distinct values from a rollout's outputs tried as operands of a derivation (pairs: ~800)."""

_LIMIT_REASONS = re.compile(
    r"max_turns|max_steps|too_many_errors|agent_error|budget|timeout|context_length|length|error",
    re.IGNORECASE,
)
_FAILED_CHECK = re.compile(
    r"traceback \(most recent call last\)|\b\w*error\b:|assertionerror|check failed|does not match|"
    r"mismatch|^error\b",
    re.IGNORECASE | re.MULTILINE,
)
_IDENTIFIER = re.compile(r"(?=[\w-]*[a-z])(?=[\w-]*\d)[\w-]{3,}", re.IGNORECASE)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(t[\d:.]+)?", re.IGNORECASE)
_CONFIRM = re.compile(
    r"\b(yes|yeah|yep|yup|confirm\w*|proceed|go ahead|please do|sure|correct|that's right|"
    r"sounds good|ok|okay|do it|absolutely|please)\b",
    re.IGNORECASE,
)


@dataclass
class Support:
    """How an answer is supported by a rollout's own outputs.

    Attributes:
        kind: ``present``, ``derived``, ``grounded``, ``unsupported`` or ``none``.
        steps: Steps holding the value (or the arguments).
        quotes: For each of ``steps``, a short quote from it.
        missing: Values not found (arguments of state changes that were never seen).
        unconfirmed_steps: State changes made without a confirmation in the user's turn before.
        note: How the value was derived, when it was.
    """

    kind: str
    steps: list[int] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unconfirmed_steps: list[int] = field(default_factory=list)
    note: str | None = None


def answer_support(trajectory: Trajectory, key: AnswerKey) -> Support:
    """Whether the answer of an ``answer`` key occurs in, or follows from, the rollout's outputs."""
    value = key.value
    if key.is_none or value is None:
        return Support(kind="none")
    outputs = [(o.step, o.text) for o in trajectory.tool_outputs() if o.text]
    if value.kind == "number":
        targets = _targets(value)
        decimals = _decimals(key.raw or value.text)
        present: list[int] = []
        quotes: list[str] = []
        pool: list[tuple[float, int]] = []
        for step, text in outputs:
            for match_value, quote in _numbers_with_quotes(text):
                pool.append((match_value, step))
                if step not in present and any(_same(match_value, t, decimals) for t in targets):
                    present.append(step)
                    quotes.append(quote)
        if present:
            return Support(kind="present", steps=present, quotes=quotes)
        derivation = _derive(targets, pool, decimals)
        if derivation is not None:
            steps, note = derivation
            return Support(
                kind="derived", steps=steps, quotes=[_quote_number(trajectory, s) for s in steps], note=note
            )
        return Support(kind="unsupported")
    needle = value.text if value.kind == "text" else None
    items = [i.text for i in value.items] if value.kind == "list" else [needle] if needle else []
    hits: list[int] = []
    hit_quotes: list[str] = []
    for step, text in outputs:
        low = " ".join(text.split()).casefold()
        if items and all(item and item in low for item in items):
            hits.append(step)
            hit_quotes.append(_quote_around(text, items[0]))
    return Support(kind="present", steps=hits, quotes=hit_quotes) if hits else Support(kind="unsupported")


def action_support(trajectory: Trajectory, key: AnswerKey) -> Support:
    """Whether each state change of an ``actions`` key used values seen before it and was confirmed."""
    if key.kind != "actions":
        return Support(kind="none")
    if not key.actions:
        return Support(kind="grounded")
    missing: list[str] = []
    unconfirmed: list[int] = []
    cited: list[int] = []
    for action in key.actions:
        step = action.step if action.step is not None else len(trajectory.steps)
        seen = " ".join(
            " ".join((s.output or s.text or "").split()).casefold()
            for s in trajectory.steps[:step]
            if s.role in ("tool", "user") or s.output
        )
        for value in _identifiers(action.arguments):
            if value not in seen:
                missing.append(f"{action.name}: {value!r} (step {step})")
        last_user = next(
            (s for s in reversed(trajectory.steps[:step]) if s.role == "user" and (s.text or "").strip()),
            None,
        )
        if last_user is None or not _CONFIRM.search(last_user.text or ""):
            unconfirmed.append(step)
        cited.append(step)
    return Support(
        kind="unsupported" if missing else "grounded",
        steps=cited,
        quotes=[_call_quote(trajectory, s) for s in cited],
        missing=missing,
        unconfirmed_steps=unconfirmed,
    )


def trouble_steps(trajectory: Trajectory) -> list[int]:
    """Steps that report an error, a traceback or a failed check."""
    found: list[int] = []
    for step in trajectory.steps:
        if step.error or (
            step.output and (step.role == "tool" or step.code) and _FAILED_CHECK.search(step.output[:2000])
        ):
            found.append(step.index)
    return found


def hit_limit(trajectory: Trajectory) -> str | None:
    """The reason a run stopped on a limit or an error, when its metadata records one."""
    for field_name in ("stop_reason", "termination_reason", "exit_status", "finish_reason"):
        reason = trajectory.metadata.get(field_name)
        if isinstance(reason, str) and _LIMIT_REASONS.search(reason):
            return reason
    return None


def _targets(value: AnswerValue) -> list[float]:
    out = [v for v in (value.number, value.mantissa) if v is not None]
    if value.unit == "%" and value.number is not None:
        out.append(value.number / 100)
    for v in list(out):
        out.append(-v)
    return list(dict.fromkeys(out))


def _decimals(text: str) -> int | None:
    match = re.search(r"\d(?:[\d,]*)(?:\.(\d+))?", text)
    if not match:
        return None
    return len(match.group(1)) if match.group(1) else 0


def _same(x: float, target: float, decimals: int | None) -> bool:
    if math.isclose(x, target, rel_tol=1e-9, abs_tol=1e-12):
        return True
    if decimals is not None and decimals <= 6:
        return round(x, decimals) == round(target, decimals) and abs(x - target) < 10.0**-decimals
    return False


def _numbers_with_quotes(text: str) -> list[tuple[float, str]]:
    out: list[tuple[float, str]] = []
    for line in text.splitlines():
        for value in numbers_in_text(line):
            out.append((value, line.strip()[:160]))
    return out


def _derive(
    targets: list[float], pool: list[tuple[float, int]], decimals: int | None
) -> tuple[list[int], str] | None:
    distinct: dict[float, int] = {}
    for value, step in pool:
        if value != 0 and value not in distinct:
            distinct[value] = step
        if len(distinct) >= MAX_DERIVATION_NUMBERS:
            break
    items = list(distinct.items())
    for (a, sa), (b, sb) in itertools.permutations(items, 2):
        candidates = {
            f"{a:g} + {b:g}": a + b,
            f"{a:g} - {b:g}": a - b,
            f"{a:g} / {b:g}": a / b,
            f"({a:g} - {b:g}) / {b:g} x 100": (a - b) / b * 100,
            f"{a:g} / {b:g} x 100": a / b * 100,
        }
        for how, result in candidates.items():
            if any(_same(result, t, decimals) for t in targets):
                return sorted({sa, sb}), how
    return None


def _identifiers(arguments: dict[str, JsonValue]) -> list[str]:
    """Identifier-like argument values (letters and digits: ids, codes, flight numbers).

    Enumerations (``round_trip``), dates and amounts are left out: users say them in their own
    words ("May 20") and agents compute amounts, so their absence from earlier text proves nothing.
    """
    out: list[str] = []

    def walk(value: JsonValue) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and _IDENTIFIER.fullmatch(value) and not _DATE.fullmatch(value):
            out.append(value)

    walk(arguments)
    return out


def _quote_number(trajectory: Trajectory, step: int) -> str:
    text = trajectory.steps[step].output or ""
    for line in text.splitlines():
        if re.search(r"\d", line):
            return line.strip()[:160]
    return text.strip()[:160]


def _quote_around(text: str, needle: str) -> str:
    low = text.casefold()
    at = low.find(needle)
    if at < 0:
        return text.strip()[:160]
    return text[max(0, at - 40) : at + len(needle) + 40].strip()


def _call_quote(trajectory: Trajectory, step: int) -> str:
    if step >= len(trajectory.steps):
        return ""
    for call in trajectory.steps[step].tool_calls:
        return call.name
    return (trajectory.steps[step].text or "")[:80]
