"""Cross-checking the sources the rollouts of one task read.

Rollouts of one task often read the same documents or records. Comparing what they got back
exposes sources that cannot be trusted, which no single rollout can see on its own:

* **duplicated**: the same content (the same sequence of numbers) came back under two different
  sources, e.g. an identical table in two bulletins of different dates. When the content names
  the period of only one of them, the others hold a copy; otherwise every copy is in doubt.
* **mislabelled**: a source asked for one period (``1985-06``, ``June 1985``) returned content
  whose heading names another period and not the one asked for.
* **inconsistent**: the same source returned different content to different rollouts (before any
  rollout changed the environment); the minority version is in doubt.
* **totals do not add up**: a table row labelled ``Total`` is not the sum of the rows above it.

``read_sources`` finds the source reads of each rollout; ``find_suspect_sources`` returns the
findings keyed by (rollout id, step).
"""

from __future__ import annotations

import ast
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from memex_audit.aggregator._keys import KeyConfig, call_results, failed_calls
from memex_audit.aggregator._memo import memo_by_identity
from memex_audit.aggregator._normalize import numbers_in_text
from memex_audit.trajectory import Trajectory

MIN_NUMBERS = 4
"""A source output needs at least this many numbers to be fingerprinted by its numbers."""

_BUILTINS = frozenset(dir(__builtins__) if isinstance(__builtins__, dict) else dir(__import__("builtins")))
_MONTHS = "january february march april may june july august september october november december".split()
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_YEAR_MONTH = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)[-_/.](0[1-9]|1[0-2])(?!\d)")


@dataclass(frozen=True)
class SourceRead:
    """One read of a source by a rollout.

    Attributes:
        rollout_id: The rollout.
        step: The step holding the output.
        source: The source's identity: the tool (or function) and its arguments.
        text: The output.
        fingerprint: The output's numbers (or its normalised text when it has few numbers).
        before_changes: Whether the rollout had changed no state before this read.
    """

    rollout_id: str
    step: int
    source: str
    text: str
    fingerprint: str
    before_changes: bool


@dataclass(frozen=True)
class SourceFinding:
    """A source read that should not be trusted.

    Attributes:
        rollout_id: The rollout.
        step: The step holding the output.
        kind: ``duplicated``, ``duplicated_ambiguous``, ``mislabelled``, ``inconsistent`` or ``bad_total``.
        note: What was found, citing the other source or rollout.
        severity: From 0 to 1: how much an answer resting on it is discounted.
    """

    rollout_id: str
    step: int
    kind: str
    note: str
    severity: float


@memo_by_identity
def read_sources(trajectory: Trajectory, config: KeyConfig | None = None) -> list[SourceRead]:
    """The outputs of ``trajectory`` that came from a nameable source (a tool call or a code call)."""
    return _read_sources(trajectory, config)


def _read_sources(trajectory: Trajectory, config: KeyConfig | None) -> list[SourceRead]:
    cfg = config or KeyConfig()
    results = call_results(trajectory)
    call_of = {
        results[(step.index, pos)].index: call
        for step in trajectory.steps
        for pos, call in enumerate(step.tool_calls)
        if (step.index, pos) in results
    }
    failed = failed_calls(trajectory)
    first_change: int | None = None
    for step in trajectory.steps:
        if any(
            not cfg.is_read_only(call.name) and (step.index, pos) not in failed
            for pos, call in enumerate(step.tool_calls)
        ):
            first_change = step.index
            break
    reads: list[SourceRead] = []
    for step in trajectory.steps:
        text = step.output
        if not text or step.error:
            continue
        source: str | None = None
        if step.role == "tool" and step.index in call_of:
            call = call_of[step.index]
            if not cfg.is_read_only(call.name):
                continue
            source = f"{call.name}({_canon(call.arguments)})"
        elif step.code:
            source = code_source(step.code)
        if source is None:
            continue
        fingerprint = fingerprint_text(text)
        if fingerprint is None:
            continue
        reads.append(
            SourceRead(
                rollout_id=trajectory.id,
                step=step.index,
                source=source,
                text=text,
                fingerprint=fingerprint,
                before_changes=first_change is None or step.index < first_change,
            )
        )
    return reads


def code_source(code: str) -> str | None:
    """The source a code block reads: its first call whose arguments are all literals.

    ``t = read_table("bulletin_1985_06", table="FD-1")`` → ``read_table('bulletin_1985_06', table='FD-1')``.
    Calls of builtins (``print``, ``len``...) and calls without arguments are not sources.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node.func)
        if name is None or name in _BUILTINS or not (node.args or node.keywords):
            continue
        try:
            args = [ast.literal_eval(a) for a in node.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in sorted(kwargs.items())]
        return f"{name}({', '.join(parts)})"
    return None


def fingerprint_text(text: str) -> str | None:
    """A fingerprint of an output: its numbers in order, or its normalised text when it has few."""
    numbers = numbers_in_text(text)
    if len(numbers) >= MIN_NUMBERS:
        return "n:" + ",".join(f"{x:.10g}" for x in numbers)
    squashed = " ".join(text.split()).casefold()
    if len(squashed) >= 40:
        return "t:" + squashed
    return None


def find_suspect_sources(reads: Sequence[SourceRead]) -> dict[tuple[str, int], list[SourceFinding]]:
    """Every finding about the source reads of a task's rollouts, keyed by (rollout id, step)."""
    findings: dict[tuple[str, int], list[SourceFinding]] = defaultdict(list)
    for finding in [
        *_duplicated(reads),
        *_mislabelled(reads),
        *_inconsistent(reads),
        *_bad_totals(reads),
    ]:
        findings[(finding.rollout_id, finding.step)].append(finding)
    return dict(findings)


def _duplicated(reads: Sequence[SourceRead]) -> list[SourceFinding]:
    sources_by_print: dict[str, set[str]] = defaultdict(set)
    for r in reads:
        if r.fingerprint.startswith("n:"):
            sources_by_print[r.fingerprint].add(r.source)
    out: list[SourceFinding] = []
    for r in reads:
        sources = sources_by_print.get(r.fingerprint, set())
        if len(sources) < 2:
            continue
        others = sorted(sources - {r.source})
        owners = [s for s in sorted(sources) if _periods_named(s, r.text)]
        if len(owners) == 1 and owners[0] == r.source:
            continue  # this source's own period heads the content: the others hold the copy
        if len(owners) == 1:
            out.append(
                SourceFinding(
                    r.rollout_id,
                    r.step,
                    "duplicated",
                    f"content identical to {owners[0]}, whose period it names; {r.source} holds a copy",
                    1.0,
                )
            )
        else:
            out.append(
                SourceFinding(
                    r.rollout_id,
                    r.step,
                    "duplicated_ambiguous",
                    f"content identical to {', '.join(others)} under a different source",
                    0.5,
                )
            )
    return out


def _mislabelled(reads: Sequence[SourceRead]) -> list[SourceFinding]:
    out: list[SourceFinding] = []
    for r in reads:
        asked = _periods(r.source)
        if not asked:
            continue
        head = r.text[:300].casefold()
        named = _periods(head)
        if not named:
            continue
        asked_years = {p for p in asked if len(p) == 4}
        named_years = {p for p in named if len(p) == 4}
        asked_months = {p for p in asked if not p.isdigit()}
        named_months = {p for p in named if not p.isdigit()}
        wrong_year = bool(asked_years and named_years and not asked_years & named_years)
        wrong_month = bool(asked_months and named_months and not asked_months & named_months)
        if wrong_year or wrong_month:
            out.append(
                SourceFinding(
                    r.rollout_id,
                    r.step,
                    "mislabelled",
                    f"asked {r.source} but the heading names {', '.join(sorted(named))}",
                    1.0,
                )
            )
    return out


def _inconsistent(reads: Sequence[SourceRead]) -> list[SourceFinding]:
    by_source: dict[str, list[SourceRead]] = defaultdict(list)
    for r in reads:
        if r.before_changes:
            by_source[r.source].append(r)
    out: list[SourceFinding] = []
    for source, group in by_source.items():
        rollouts = {r.rollout_id for r in group}
        if len(rollouts) < 2:
            continue
        counts = Counter(r.fingerprint for r in group)
        if len(counts) < 2:
            continue
        top, top_count = counts.most_common(1)[0]
        if list(counts.values()).count(top_count) > 1:
            for r in group:
                out.append(
                    SourceFinding(
                        r.rollout_id,
                        r.step,
                        "inconsistent",
                        f"{source} returned different content to rollouts",
                        0.3,
                    )
                )
            continue
        for r in group:
            if r.fingerprint != top:
                out.append(
                    SourceFinding(
                        r.rollout_id,
                        r.step,
                        "inconsistent",
                        f"{source} returned this to {r.rollout_id} but other content to {top_count} reads",
                        0.7,
                    )
                )
    return out


_ROW = re.compile(r"^\s*(?P<label>[A-Za-z][^|\d]*?)\s*[|:]?\s*(?P<nums>[-−(]?\$?\d[\d,.\s|()$%−-]*)$")


def _bad_totals(reads: Sequence[SourceRead]) -> list[SourceFinding]:
    out: list[SourceFinding] = []
    seen: set[tuple[str, int]] = set()
    for r in reads:
        if (r.rollout_id, r.step) in seen:
            continue
        seen.add((r.rollout_id, r.step))
        problem = _total_problem(r.text)
        if problem:
            out.append(SourceFinding(r.rollout_id, r.step, "bad_total", problem, 0.6))
    return out


def _total_problem(text: str) -> str | None:
    block: list[tuple[str, list[float]]] = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if "|" in line else None
        if cells and len(cells) >= 2:
            label, numbers = cells[0], [v for c in cells[1:] for v in numbers_in_text(c)]
        else:
            match = _ROW.match(line)
            if not match:
                if not line.strip():
                    block = []
                continue
            label, numbers = match.group("label"), numbers_in_text(match.group("nums"))
        if not numbers or not label or label[0].isdigit():
            block = [] if not numbers else block
            continue
        if label.casefold().startswith("total"):
            rows = [nums for _, nums in block if len(nums) == len(numbers)]
            if len(rows) >= 2:
                for col, total in enumerate(numbers):
                    col_sum = sum(row[col] for row in rows)
                    if not math.isclose(col_sum, total, rel_tol=5e-3, abs_tol=0.51):
                        return (
                            f"row '{label}' gives {total:g} but the {len(rows)} rows above sum to {col_sum:g}"
                        )
            block = []
            continue
        block.append((label, numbers))
    return None


def _periods(text: str) -> set[str]:
    low = text.casefold()
    found: set[str] = set(_YEAR.findall(low))
    for year, month in _YEAR_MONTH.findall(low):
        found.add(year)
        found.add(_MONTHS[int(month) - 1])
    for month in _MONTHS:
        if re.search(rf"\b{month}\b", low):
            found.add(month)
    return found


def _periods_named(source: str, content: str) -> bool:
    asked = _periods(source)
    if not asked:
        return False
    head = _periods(content[:300])
    return asked <= head


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _canon(arguments: object) -> str:
    return orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS).decode()
