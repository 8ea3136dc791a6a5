"""Checking one rollout's answer against what the rollout itself saw.

* ``answer_support``: does the answer's value occur in a tool output (``present``; a value rounded
  to the answer's precision counts), or follow from two values it saw by one arithmetic step
  (``derived``)? A number that occurs nowhere (e.g. ``3,501`` retyped as ``3531``) is ``unsupported``.
* ``action_support``: were the arguments of every state change seen before the call (in a tool
  output or the user's words), did the user confirm the change in the turn before it, does the
  domain policy allow it under what the rollout saw, and did every failed change get made good?
* ``trouble_steps``: steps with errors, tracebacks or failed checks; ``hit_limit``: a run that
  stopped on a turn, error or budget limit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from memex_audit.aggregator._keys import AnswerKey, KeyConfig
from memex_audit.aggregator._sources import SourceRead, read_sources
from memex_audit.reading import (
    AnswerValue,
    error_line,
    numbers_in_text,
    policy_findings,
    state_changes,
    unrecovered_failures,
)
from memex_audit.trajectory import Trajectory

MAX_DERIVATION_NUMBERS = 80
"""Numbers of one untabulated output tried as operands of a derivation."""
MAX_CROSS_NUMBERS = 150
"""Distinct cells across a rollout's reads tried in pairs when no single read explains the value."""
MAX_ROUTES = 12
"""Routes to the value kept per rollout."""

_LIMIT_REASONS = re.compile(
    r"max_turns|max_steps|too_many_errors|agent_error|budget|timeout|context_length|length|error",
    re.IGNORECASE,
)
_FAILED_CHECK = re.compile(
    r"traceback \(most recent call last\)|\b\w*error\b:|assertionerror|check failed|does not match|"
    r"mismatch|^error\b",
    re.IGNORECASE | re.MULTILINE,
)


_NUMBER_MEMO: dict[tuple[int, str, KeyConfig | None], tuple[Trajectory, Support]] = {}


@dataclass
class Support:
    """How an answer is supported by a rollout's own outputs.

    Attributes:
        kind: ``present``, ``derived``, ``grounded``, ``unsupported`` or ``none``.
        steps: Steps holding the value (or the arguments).
        quotes: For each of ``steps``, a short quote from it.
        missing: Values not found (arguments of state changes that were never seen).
        unconfirmed_steps: State changes made without a confirmation in the user's turn before.
        violations: State changes the domain policy forbids, or whose amounts do not add up.
        violation_steps: The steps of those changes.
        unrecovered_steps: State changes that failed and were never made good.
        note: How the value was derived, when it was.
        routes: Every route found to the value: the step read, the cells used, and whether the
            value is printed as such.
    """

    kind: str
    steps: list[int] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unconfirmed_steps: list[int] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    violation_steps: list[int] = field(default_factory=list)
    unrecovered_steps: list[int] = field(default_factory=list)
    note: str | None = None
    routes: list[tuple[int, frozenset[float], bool]] = field(default_factory=list)


def answer_support(trajectory: Trajectory, key: AnswerKey, config: KeyConfig | None = None) -> Support:
    """Whether the answer of an ``answer`` key occurs in, or follows from, what the rollout read.

    Numbers are traced to the rollout's source reads (not to its own computations): the value
    printed in a source (``present``), or one arithmetic step away from cells it read
    (``derived``): a difference, ratio, percentage or percentage change of two cells, or a sum of
    consecutive cells of a column (quarters, cumulative totals), scaled by 1000 either way. Each
    route is kept with the cells it used, so a verifier can tell whether every route runs through
    a suspect cell.
    """
    value = key.value
    if key.is_none or value is None:
        return Support(kind="none")
    if value.kind == "number":
        memo_key = (id(trajectory), key.label, config)
        hit = _NUMBER_MEMO.get(memo_key)
        if hit is not None and hit[0] is trajectory:
            return hit[1]
        support = _number_support(trajectory, key, value, read_sources(trajectory, config))
        if len(_NUMBER_MEMO) >= 4096:
            _NUMBER_MEMO.clear()
        # keyed by identity and kept with the object, as in ``memo_by_identity``
        _NUMBER_MEMO[memo_key] = (trajectory, support)
        return support
    outputs = [(o.step, o.text) for o in trajectory.tool_outputs() if o.text]
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


def _number_support(
    trajectory: Trajectory, key: AnswerKey, value: AnswerValue, reads: Sequence[SourceRead]
) -> Support:
    targets = _targets(value)
    decimals = _decimals(key.raw or value.text)
    routes: list[tuple[int, frozenset[float], str]] = []
    for read in reads:
        cells = _cells(read)
        for v in cells:
            if any(_same(v, t, decimals) for t in targets):
                routes.append((read.step, frozenset({v}), f"{v:g} printed"))
                break
        if len(routes) < MAX_ROUTES:
            routes += _within(read, cells, targets, decimals)[: MAX_ROUTES - len(routes)]
    if not routes and len(reads) > 1:
        routes = _across(reads, targets, decimals)
    if not routes:
        return Support(kind="unsupported")
    present = [r for r in routes if r[2].endswith("printed")]
    chosen = present or routes
    steps = sorted({step for step, _, _ in chosen})
    return Support(
        kind="present" if present else "derived",
        steps=steps,
        quotes=[
            _quote_number(trajectory, step, next(u for st, u, _ in chosen if st == step)) for step in steps
        ],
        note="; ".join(how for _, _, how in chosen[:3]),
        routes=[(step, used, how.endswith("printed")) for step, used, how in routes],
    )


def _cells(read: SourceRead) -> list[float]:
    if read.table is not None:
        return [v for row in read.table.rows for v in row.values]
    # untabulated text (search hits, JSON records): years and small integers are labels and
    # identifiers far more often than quantities
    return [v for v in numbers_in_text(read.text) if not _label_like(v)][:MAX_DERIVATION_NUMBERS]


def _label_like(v: float) -> bool:
    return v.is_integer() and (abs(v) < 100 or 1800 <= abs(v) <= 2100)


def _within(
    read: SourceRead, cells: list[float], targets: list[float], decimals: int | None
) -> list[tuple[int, frozenset[float], str]]:
    found: list[tuple[int, frozenset[float], str]] = []
    if read.table is not None:
        width = read.table.width
        rows = [r.values for r in read.table.rows if len(r.values) == width]
        columns = [[row[c] for row in rows] for c in range(width)]
        for column in columns:
            for i in range(len(column)):
                for j in range(i + 2, len(column) + 1):
                    run = column[i:j]
                    if _hits(sum(run), targets, decimals, scaled=True):
                        found.append((read.step, frozenset(run), f"sum of {len(run)} cells"))
        pairs = [(a, b) for column in columns for a in column for b in column if a != b]
        pairs += [(a, b) for row in rows for a in row for b in row if a != b]
    else:
        pairs = [(a, b) for a in cells for b in cells if a != b]
    for a, b in pairs:
        how = _pair_hit(a, b, targets, decimals)
        if how:
            found.append((read.step, frozenset({a, b}), how))
        if len(found) >= MAX_ROUTES:
            break
    return found


def _across(
    reads: Sequence[SourceRead], targets: list[float], decimals: int | None
) -> list[tuple[int, frozenset[float], str]]:
    pool: dict[float, int] = {}
    for read in reads:
        for v in _cells(read):
            pool.setdefault(v, read.step)
            if len(pool) >= MAX_CROSS_NUMBERS:
                break
    found: list[tuple[int, frozenset[float], str]] = []
    for a, sa in pool.items():
        for b, sb in pool.items():
            if a == b:
                continue
            how = _pair_hit(a, b, targets, decimals)
            if how:
                found.append((sa, frozenset({a, b}), how))
                if sb != sa:
                    found.append((sb, frozenset({a, b}), how))
                if len(found) >= MAX_ROUTES:
                    return found
    return found


def _pair_hit(a: float, b: float, targets: list[float], decimals: int | None) -> str | None:
    if _hits(a + b, targets, decimals, scaled=True):
        return f"{a:g} + {b:g}"
    if _hits(a - b, targets, decimals, scaled=True):
        return f"{a:g} - {b:g}"
    if b != 0:
        if _hits((a - b) / b * 100, targets, decimals):
            return f"({a:g} - {b:g}) / {b:g} x 100"
        if _hits(a / b * 100, targets, decimals):
            return f"{a:g} / {b:g} x 100"
    return None


def _hits(result: float, targets: list[float], decimals: int | None, *, scaled: bool = False) -> bool:
    candidates = (result, result / 1000, result * 1000) if scaled else (result,)
    return any(_same(c, t, decimals) for c in candidates for t in targets)


def action_support(trajectory: Trajectory, key: AnswerKey) -> Support:
    """Whether the state changes of an ``actions`` key were grounded, confirmed, allowed and carried out.

    Read through ``reading._actions`` (and the trajectory's domain pack, when one claims it):
    identifiers never seen before the call (``missing``), changes made without the user agreeing in
    the turn before (``unconfirmed_steps``), changes the policy forbids under conditions the
    rollout saw, or whose amounts do not add up (``violations``), and failed changes never made
    good (``unrecovered_steps``).
    """
    if key.kind != "actions":
        return Support(kind="none")
    changes = state_changes(trajectory)
    made = [c for c in changes if not c.failed]
    findings = policy_findings(trajectory)
    unrecovered = [c.step for c in unrecovered_failures(trajectory)]
    if not made and not findings and not unrecovered:
        return Support(kind="grounded")
    missing = [f"{c.name}: {v!r} (step {c.step})" for c in made for v in c.unseen]
    cited = [c.step for c in made]
    return Support(
        kind="unsupported" if missing else "grounded",
        steps=cited,
        quotes=[_call_quote(trajectory, s) for s in cited],
        missing=missing,
        unconfirmed_steps=[c.step for c in made if not c.confirmed],
        violations=[f"step {f.step} {f.tool}: {f.detail}" for f in findings],
        violation_steps=sorted({f.step for f in findings}),
        unrecovered_steps=unrecovered,
    )


def trouble_steps(trajectory: Trajectory) -> list[int]:
    """Steps whose result is an error by its structure (``memex_audit.reading.error_line``), and code
    steps whose printed output reports a failed check (a traceback, ``check failed``, a mismatch)."""
    found: list[int] = []
    for step in trajectory.steps:
        if (step.role == "tool" and error_line(step) is not None) or (
            step.code and step.output and (step.error or _FAILED_CHECK.search(step.output[:2000]))
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


def _quote_number(trajectory: Trajectory, step: int, used: frozenset[float]) -> str:
    text = trajectory.steps[step].output or ""
    for line in text.splitlines():
        numbers = set(numbers_in_text(line))
        if numbers & used:
            return line.strip()[:160]
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
