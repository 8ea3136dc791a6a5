"""Cross-checking the sources the rollouts of one task read.

Rollouts of one task often read the same documents or records. Comparing what they got back
exposes sources that cannot be trusted, which no single rollout can see on its own:

* **duplicated**: a table whose rows repeat, under other labels, the rows of the same table in
  another source (a table reprinted from an earlier issue under new month labels), or whose whole
  content equals another source's. A reprint repeats an *earlier* issue, so of two sources whose
  names carry periods the later one holds the copy; when the content's heading names one source's
  period, that source owns it. Otherwise both are in doubt.
* **mislabelled**: a source asked for one period (``1985-06``, ``June 1985``) returned content
  whose heading names another period and not the one asked for.
* **bad row**: a row breaks an additive relation every other row of its table keeps (a misprinted
  cell); when another source prints the same row, the cells that differ are the suspects.
* **bad total**: a row labelled ``Total`` is not the sum of the rows above it.
* **superseded**: a later issue of the same table prints a row's cell differently: the later
  issue revised it (a preliminary figure, an early estimate), so the earlier cell is in doubt.
  Reprints and misprinted cells take no part.
* **inconsistent**: the same source returned different content to different rollouts (before any
  rollout changed the environment); the minority version is in doubt.

``read_sources`` finds the source reads of each rollout (tool calls and code calls that fetch
something; computations such as ``python_exec`` are not sources); ``find_suspect_sources`` returns
the findings keyed by (rollout id, step).
"""

from __future__ import annotations

import ast
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from memex_audit.aggregator._keys import KeyConfig, call_results, failed_calls
from memex_audit.reading import (
    ParsedTable,
    cell_conflicts,
    memo_by_identity,
    numbers_in_text,
    parse_table,
    row_relation_breaks,
    shifted_copies,
)
from memex_audit.trajectory import Trajectory

MIN_NUMBERS = 4
"""An output needs at least this many numbers to be fingerprinted by its numbers."""

COMPUTE_TOOLS = re.compile(r"python|exec|calculat|comput|eval|code|think", re.IGNORECASE)
"""Tools that compute from what the agent typed rather than fetch: their outputs are not sources."""

_BUILTINS = frozenset(dir(__import__("builtins")))
_MONTHS = "january february march april may june july august september october november december".split()
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_YEAR_MONTH = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)[-_/.](0[1-9]|1[0-2])(?!\d)")


@dataclass(frozen=True)
class SourceRead:
    """One read of a source by a rollout.

    Attributes:
        rollout_id: The rollout.
        step: The step holding the output.
        source: The source's identity: the function and its argument values.
        text: The output.
        fingerprint: The output's numbers (or its normalised text when it has few numbers).
        before_changes: Whether the rollout had changed no state before this read.
        table: The table in the output, when there is one.
    """

    rollout_id: str
    step: int
    source: str
    text: str
    fingerprint: str
    before_changes: bool
    table: ParsedTable | None = None


@dataclass(frozen=True)
class SourceFinding:
    """A source read that should not be trusted, wholly or in some cells.

    Attributes:
        rollout_id: The rollout.
        step: The step holding the output.
        kind: ``duplicated``, ``duplicated_ambiguous``, ``mislabelled``, ``bad_row``, ``bad_total``
            or ``inconsistent``.
        note: What was found, citing the other source and the rollout step that read it.
        severity: From 0 to 1: how much an answer resting on it is discounted.
        values: The suspect cells; ``None`` when the whole output is suspect.
    """

    rollout_id: str
    step: int
    kind: str
    note: str
    severity: float
    values: frozenset[float] | None = None


@memo_by_identity
def read_sources(trajectory: Trajectory, config: KeyConfig | None = None) -> list[SourceRead]:
    """The outputs of ``trajectory`` that came from a nameable source (a tool call or a code call)."""
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
        if step.index in call_of:
            call = call_of[step.index]
            if not cfg.is_read_only(call.name) or COMPUTE_TOOLS.search(call.name):
                continue
            source = source_label(call.name, list(call.arguments.values()))
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
                table=parse_table(text),
            )
        )
    return reads


def source_label(name: str, values: Sequence[object]) -> str:
    """A source's identity, the same for a tool call and a code call with the same values.

    ``read_table(doc_id='TB-1987-09', table='FFO-2')`` and ``read_table('TB-1987-09', 'FFO-2')``
    both give ``read_table('tb-1987-09', 'ffo-2')``.
    """
    parts = [repr(v.casefold().strip()) if isinstance(v, str) else repr(v) for v in values]
    return f"{name}({', '.join(parts)})"


def code_source(code: str) -> str | None:
    """The source a code block reads: its first call whose arguments are all literals.

    Calls of builtins (``print``, ``len``...), of computation helpers and calls without arguments
    are not sources.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node.func)
        if (
            name is None
            or name in _BUILTINS
            or COMPUTE_TOOLS.search(name)
            or not (node.args or node.keywords)
        ):
            continue
        try:
            values: list[object] = [ast.literal_eval(a) for a in node.args]
            values += [ast.literal_eval(k.value) for k in node.keywords if k.arg]
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        return source_label(name, values)
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
    duplicated = _duplicated(reads)
    bad_rows = _bad_rows(reads)
    copies = {(f.rollout_id, f.step) for f in duplicated if f.kind == "duplicated"}
    bad_cells = {v for f in bad_rows if f.values is not None and f.severity >= 1.0 for v in f.values}
    for finding in [
        *duplicated,
        *_mislabelled(reads),
        *bad_rows,
        *_superseded(reads, copies, bad_cells),
        *_bad_totals(reads),
        *_inconsistent(reads),
    ]:
        findings[(finding.rollout_id, finding.step)].append(finding)
    return dict(findings)


def _duplicated(reads: Sequence[SourceRead]) -> list[SourceFinding]:
    out: dict[tuple[str, int], SourceFinding] = {}
    tabled = [r for r in reads if r.table is not None]
    by_source: dict[str, SourceRead] = {}
    for r in tabled:
        by_source.setdefault(r.source, r)
    sources = list(by_source.values())
    for a in sources:
        for b in sources:
            if a.source >= b.source or not _same_title(a, b):
                continue
            assert a.table is not None and b.table is not None
            whole = len(a.table.rows) >= 3 and [r.values for r in a.table.rows] == [
                r.values for r in b.table.rows
            ]
            shifted = shifted_copies(a.table, b.table) or shifted_copies(b.table, a.table)
            if not whole and not shifted:
                continue
            copy, original = _copy_and_original(a, b)
            for r in tabled:
                if copy is not None and r.source == copy.source:
                    note = (
                        f"{copy.source} repeats the rows of {original.source} "
                        f"(read at {original.rollout_id}#{original.step})"
                        + (f" under other labels ({shifted[0][0]} = {shifted[0][1]})" if shifted else "")
                    )
                    out.setdefault(
                        (r.rollout_id, r.step), SourceFinding(r.rollout_id, r.step, "duplicated", note, 1.0)
                    )
                elif copy is None and r.source in (a.source, b.source):
                    other = b if r.source == a.source else a
                    note = f"{r.source} holds the same rows as {other.source} (read at {other.rollout_id}#{other.step})"
                    out.setdefault(
                        (r.rollout_id, r.step),
                        SourceFinding(r.rollout_id, r.step, "duplicated_ambiguous", note, 0.5),
                    )
    return list(out.values())


def _copy_and_original(a: SourceRead, b: SourceRead) -> tuple[SourceRead | None, SourceRead]:
    """Which of two sources with the same rows holds the copy (``None`` when undecidable)."""
    owners = [r for r in (a, b) if _periods_named(r.source, r.text)]
    if len(owners) == 1:
        owner = owners[0]
        return (b if owner is a else a), owner
    pa, pb = _period_key(a.source), _period_key(b.source)
    if pa is not None and pb is not None and pa != pb:
        return (a, b) if pa > pb else (b, a)
    return None, a


def _bad_rows(reads: Sequence[SourceRead]) -> list[SourceFinding]:
    out: list[SourceFinding] = []
    tabled = [r for r in reads if r.table is not None]
    for r in tabled:
        assert r.table is not None
        for broken in row_relation_breaks(r.table):
            others = [
                o.table for o in tabled if o.source != r.source and o.table is not None and _same_title(o, r)
            ]
            conflicts = cell_conflicts(r.table, others, broken.label)
            if conflicts:
                values = frozenset(conflicts)
                note = (
                    f"row '{broken.label}' of {r.source} breaks {broken.relation} by {broken.gap:g}; "
                    f"{', '.join(f'{v:g}' for v in sorted(conflicts))} differs from other sources"
                )
                out.append(SourceFinding(r.rollout_id, r.step, "bad_row", note, 1.0, values))
            else:
                note = f"row '{broken.label}' of {r.source} breaks {broken.relation} by {broken.gap:g}"
                out.append(
                    SourceFinding(r.rollout_id, r.step, "bad_row", note, 0.6, frozenset(broken.values))
                )
    return out


def _superseded(
    reads: Sequence[SourceRead], copies: set[tuple[str, int]], bad_cells: set[float]
) -> list[SourceFinding]:
    """Cells a later issue of the same table prints differently: the later issue revised them.

    Reprinted copies and cells already known to be misprinted take no part: they are not revisions.
    """
    latest: dict[tuple[str, str], tuple[int, SourceRead, tuple[float, ...]]] = {}
    usable = [
        r
        for r in reads
        if r.table is not None and (r.rollout_id, r.step) not in copies and _period_key(r.source) is not None
    ]
    for r in usable:
        assert r.table is not None
        period = _period_key(r.source)
        assert period is not None
        for row in r.table.rows:
            key = (r.table.title.casefold(), _month_of(row.label))
            if key[1] and (key not in latest or period > latest[key][0]):
                latest[key] = (period, r, row.values)
    out: list[SourceFinding] = []
    for r in usable:
        assert r.table is not None
        period = _period_key(r.source)
        revised: set[float] = set()
        examples: list[str] = []
        for row in r.table.rows:
            newest = latest.get((r.table.title.casefold(), _month_of(row.label)))
            if newest is None or newest[0] == period or len(newest[2]) != len(row.values):
                continue
            for old, new in zip(row.values, newest[2], strict=True):
                if old != new and old not in bad_cells and new not in bad_cells:
                    revised.add(old)
                    if len(examples) < 2:
                        examples.append(f"{row.label} {old:g} -> {new:g} in {newest[1].source}")
        if revised:
            note = "figures revised by a later issue (" + "; ".join(examples) + ")"
            out.append(SourceFinding(r.rollout_id, r.step, "superseded", note, 0.7, frozenset(revised)))
    return out


def _month_of(label: str) -> str:
    """A row label's month with its year (``1987 apr``), or ``""`` when the label carries no year."""
    words = label.split()
    return label if len(words) >= 2 and words[0].isdigit() else ""


def _mislabelled(reads: Sequence[SourceRead]) -> list[SourceFinding]:
    out: list[SourceFinding] = []
    for r in reads:
        asked = _periods(r.source)
        if not asked or r.table is None:
            continue  # only documents and tables have a heading; a search lists many periods
        named = _periods(_heading(r.text))
        if not named:
            continue
        asked_years = {p for p in asked if p.isdigit()}
        named_years = {p for p in named if p.isdigit()}
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
        if r.before_changes and r.table is None:
            by_source[r.source].append(r)
    out: list[SourceFinding] = []
    for source, group in by_source.items():
        if len({r.rollout_id for r in group}) < 2:
            continue
        counts = Counter(r.fingerprint for r in group)
        if len(counts) < 2:
            continue
        top, top_count = counts.most_common(1)[0]
        even = list(counts.values()).count(top_count) > 1
        for r in group:
            if even:
                note = f"{source} returned different content to different rollouts"
                out.append(SourceFinding(r.rollout_id, r.step, "inconsistent", note, 0.3))
            elif r.fingerprint != top:
                note = f"{source} returned this to {r.rollout_id} but other content to {top_count} reads"
                out.append(SourceFinding(r.rollout_id, r.step, "inconsistent", note, 0.7))
    return out


_ROW = re.compile(r"^\s*(?P<label>[A-Za-z][^|\d]*?)\s*[|:]?\s*(?P<nums>[-−(]?\$?\d[\d,.\s|()$%−-]*)$")


def _bad_totals(reads: Sequence[SourceRead]) -> list[SourceFinding]:
    out: list[SourceFinding] = []
    for r in reads:
        problem = _total_problem(r.text)
        if problem:
            note, total = problem
            out.append(SourceFinding(r.rollout_id, r.step, "bad_total", note, 0.6, frozenset({total})))
    return out


def _total_problem(text: str) -> tuple[str, float] | None:
    block: list[list[float]] = []
    for line in text.splitlines():
        match = _ROW.match(line)
        if not match:
            if not line.strip():
                block = []
            continue
        label, numbers = match.group("label").strip(), numbers_in_text(match.group("nums"))
        if not numbers:
            continue
        if label.casefold().startswith("total"):
            rows = [nums for nums in block if len(nums) == len(numbers)]
            if len(rows) >= 2:
                for col, total in enumerate(numbers):
                    col_sum = sum(row[col] for row in rows)
                    if not math.isclose(col_sum, total, rel_tol=5e-3, abs_tol=0.51):
                        return (
                            f"row '{label}' gives {total:g} but the {len(rows)} rows above sum to {col_sum:g}",
                            total,
                        )
            block = []
            continue
        block.append(numbers)
    return None


def _same_title(a: SourceRead, b: SourceRead) -> bool:
    ta = a.table.title.casefold() if a.table else ""
    tb = b.table.title.casefold() if b.table else ""
    return ta == tb


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


def _period_key(source: str) -> int | None:
    """Months since year 0 of the period a source's name carries (``tb-1987-09`` → 1987*12+8)."""
    low = source.casefold()
    match = _YEAR_MONTH.search(low)
    if match:
        return int(match.group(1)) * 12 + int(match.group(2)) - 1
    years = _YEAR.findall(low)
    if len(years) == 1:
        months = [i for i, m in enumerate(_MONTHS) if re.search(rf"\b{m}\b", low)]
        return int(years[0]) * 12 + (months[0] if len(months) == 1 else 0)
    return None


def _periods_named(source: str, content: str) -> bool:
    asked = _periods(source)
    if not asked:
        return False
    return asked <= _periods(_heading(content))


def _heading(text: str) -> str:
    """The text above a table's first row (at most 300 characters)."""
    table = parse_table(text)
    if table is None or not table.rows:
        return text[:300]
    lines = []
    for line in text.splitlines():
        parts = [p for p in re.split(r"\s*\|\s*|\s{2,}", line.strip()) if p]
        if len(parts) >= 2 and all(re.fullmatch(r"[-−+(]?\$?\d[\d,]*(\.\d+)?\)?%?", p) for p in parts[1:]):
            break
        lines.append(line)
    return "\n".join(lines)[:300]


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None
