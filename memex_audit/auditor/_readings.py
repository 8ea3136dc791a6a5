"""Signals about the values a trajectory read from tabular tool outputs, against its siblings'.

Tool outputs often print tables: one row per line, a label, then figures. Comparing what a failed
trajectory read with what its correct siblings read shows failures of reading rather than of
reasoning: a figure taken from a row marked preliminary (``p``) when a revised one exists, the
neighbouring column of the right row, a table whose rows repeat another table's figures under other
labels, or a table with one figure whose digits are swapped against every other copy of that row.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from memex_audit.auditor._scope import is_observation, observation_text
from memex_audit.auditor._signal import STRENGTH, Signal
from memex_audit.reading import (
    NumberMention,
    TextCache,
    find_numbers,
    is_retyping,
    looks_like_year,
    parsed_code,
    per_steps,
    source_segment,
)
from memex_audit.trajectory import Step, Trajectory

_PRELIM = re.compile(
    r"^\s*(?P<label>(?:\d{4}\s*-\s*)?[A-Za-z][\w .]*?)\s+(?:p|\(p\)|prelim\w*\.?)\s+(?=[$\d(-])",
    re.IGNORECASE,
)
_MIN_FIGURES = 3
_LETTER = re.compile(r"[A-Za-z]")
_LISTING = re.compile(
    r"^\s*(?:[dlcbps-][rwxsStT-]{9}[@+.]?\s|total\s+\d+\s*$|\d+\s+[dlcbps-][rwxsStT-]{9}\s)"
)
"""Lines of a directory listing (``ls -l``: permissions, links, owner, size, date, name): not a table."""


@dataclass(frozen=True)
class Row:
    """One printed table row: its step, the whole line, its label, and its figures as written.

    ``key`` is the label without a year section or revision flag (``1986 - Oct``, ``Oct r`` →
    ``Oct``), worked out once with the row.
    """

    step: int
    line: str
    label: str
    figures: tuple[str, ...]
    values: tuple[float, ...]
    preliminary: bool
    key: str


_PrintedRow = tuple[str, str, tuple[str, ...], tuple[float, ...], bool, str]
"""A row as printed, without its step: line, label, figures, values, preliminary, key."""


def table_rows(trajectory: Trajectory) -> tuple[Row, ...]:
    """Every line of every tool output that looks like a table row (a label, then three or more figures)."""
    return _table_rows(trajectory)


@per_steps
def _table_rows(trajectory: Trajectory) -> tuple[Row, ...]:
    rows: list[Row] = []
    for step in trajectory.steps:
        if is_observation(step):
            rows.extend(Row(step.index, *printed) for printed in _printed_rows(observation_text(step)))
    return tuple(rows)


def _find_printed_rows(text: str) -> tuple[_PrintedRow, ...]:
    rows = []
    for line, line_start, found in _lines_with_figures(text):
        if "|" in line or _LISTING.match(line):
            continue
        if any(m.percent and m.text[-2] in _LINE_BREAKS for m in found):
            # "12" at the end of the line and "%" opening the next read as "12\n%" in the whole text
            found, line_start = find_numbers(line), 0
        numbers = [n for n in found if not looks_like_year(n)]
        if len(numbers) < _MIN_FIGURES:
            continue
        label = line[: numbers[0].start - line_start].strip()
        if not _LETTER.search(label):
            continue
        rows.append(
            (
                line.strip(),
                label,
                tuple(n.text for n in numbers),
                tuple(n.value for n in numbers),
                bool(_PRELIM.match(line)),
                _month_label(label),
            )
        )
    return tuple(rows)


_printed_rows = TextCache(_find_printed_rows, max_chars=16 << 20)
"""The table rows of one output text: every audit of a task reads its siblings' outputs again."""

_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
"""The characters ``str.splitlines`` breaks lines at."""
_OTHER_BREAKS = _LINE_BREAKS[1:]
"""The characters ``str.splitlines`` breaks lines at, but ``\\n``."""


def _lines_with_figures(text: str) -> Iterator[tuple[str, int, Sequence[NumberMention]]]:
    """The lines of ``text`` that hold at least ``_MIN_FIGURES`` numbers, with the offset of each and
    its numbers (offsets in ``text``), found with one pass over the whole text rather than one per
    line (most lines of an output hold fewer)."""
    mentions = find_numbers(text)
    if len(mentions) < _MIN_FIGURES:
        return
    starts = [m.start for m in mentions]
    if not any(c in text for c in _OTHER_BREAKS):
        # Lines end at "\n" alone: only the lines where numbers start are looked at, each found
        # around its first number (no number starts at a line break).
        first, count = 0, len(mentions)
        while first < count:
            start = starts[first]
            line_start = text.rfind("\n", 0, start) + 1
            line_end = text.find("\n", start)
            if line_end < 0:
                line_end = len(text)
            last = bisect.bisect_left(starts, line_end, lo=first)
            if last - first >= _MIN_FIGURES:
                yield text[line_start:line_end], line_start, mentions[first:last]
            first = last
        return
    offset = first = 0
    for line, raw in zip(text.splitlines(), text.splitlines(keepends=True), strict=True):
        line_start = offset
        offset += len(raw)
        last = bisect.bisect_left(starts, offset, lo=first)
        if last - first >= _MIN_FIGURES:
            yield line, line_start, mentions[first:last]
        first = last


@per_steps
def _action_numbers(trajectory: Trajectory) -> dict[float, tuple[int, ...]]:
    """Numbers (three digits or more, not years) written in actions, with the steps that wrote them in
    order."""
    found: dict[float, list[int]] = {}
    for step in trajectory.steps:
        for value in _step_action_numbers(step):
            found.setdefault(value, []).append(step.index)
    return {value: tuple(steps) for value, steps in found.items()}


def _step_action_numbers(step: Step) -> tuple[float, ...]:
    code, calls = step.code, step.tool_calls
    if not (code or calls) or (not code and is_observation(step)):
        return ()  # nothing written (most steps): no text to read
    text = "\n".join([code or "", *(str(c.arguments) for c in calls)])
    if not _THREE_DIGITS.search(text):
        return ()  # no number of three digits or more is written here
    return tuple(m.value for m in find_numbers(text) if len(m.digits) >= 3 and not looks_like_year(m))


_THREE_DIGITS = re.compile(r"\d[.,]?\d[.,]?\d")
"""Three digits as a number writes them (at most a separator or a decimal point between two): a
number of three digits or more holds them."""


def _first_use(uses: dict[float, tuple[int, ...]], value: float, after: int) -> int | None:
    """The first step after ``after`` whose action wrote ``value``, from ``_action_numbers``."""
    steps = uses.get(value)
    return next((index for index in steps if index > after), None) if steps else None


@dataclass(frozen=True)
class Pick:
    """A value a code block took from an object by row label: ``t1.value('Feb 1987', 'Gross')``."""

    step: int
    source: tuple[str, ...]
    label: str
    fields: tuple[str, ...]
    text: str


@per_steps
def code_picks(trajectory: Trajectory) -> tuple[Pick, ...]:
    """Values code took by label from objects that came out of calls with string arguments."""
    sources: dict[str, tuple[str, ...]] = {}
    picks: list[Pick] = []
    for step in trajectory.steps:
        if not step.code:
            continue
        reading = _code_reading(step.code)
        if reading is None:
            continue
        assigned, calls = reading
        sources.update(assigned)
        for owner, strings, segment in calls:
            if owner in sources:
                picks.append(Pick(step.index, sources[owner], strings[0], strings[1:], segment))
    return tuple(picks)


_CodeReading = tuple[tuple[tuple[str, tuple[str, ...]], ...], tuple[tuple[str, tuple[str, ...], str], ...]]
"""What one code block offers ``code_picks``: names assigned from calls with string arguments (name,
arguments), then method calls with string arguments on a name (owner, arguments, source text), each
in ``ast.walk`` order."""


def _read_code(code: str) -> _CodeReading | None:
    if "(" not in code or ("'" not in code and '"' not in code):
        return None  # no call, or no string to call with: nothing to read (most shell commands)
    tree = parsed_code(code)
    if tree is None:
        return None
    lines = code.splitlines()
    assigned: list[tuple[str, tuple[str, ...]]] = []
    calls: list[tuple[str, tuple[str, ...], str]] = []
    for node in _walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
                continue
            strings = _strings(node.args)
            if strings:
                calls.append((func.value.id, strings, source_segment(lines, node) or strings[0]))
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                args = _strings(node.value.args)
                if args:
                    assigned.append((target.id, args))
    return tuple(assigned), tuple(calls)


_code_reading = TextCache(_read_code, max_chars=4 << 20)
"""The ``code_picks`` reading of one code block: every audit of a task reads its siblings' code again."""


def _strings(args: list[ast.expr]) -> tuple[str, ...]:
    return tuple(a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str))


def _walk(tree: ast.AST) -> list[ast.AST]:
    """The nodes of ``tree`` that may be or hold a call or an assignment, in ``ast.walk`` order
    (breadth first), without its generator and deque. Names, constants and their contexts are left
    out: leaving out nodes with no call or assignment below them keeps the order of the others."""
    nodes = [tree]
    for node in nodes:  # the list grows while it is read: a queue
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, ast.AST):
                if type(value) not in _LEAVES:
                    nodes.append(value)
            elif isinstance(value, list):
                nodes.extend(
                    item for item in value if isinstance(item, ast.AST) and type(item) not in _LEAVES
                )
    return nodes


_LEAVES = frozenset({ast.Name, ast.Constant, ast.Load, ast.Store, ast.Del})


def _correct(siblings: Sequence[Trajectory], target: Trajectory) -> list[Trajectory]:
    return [s for s in siblings if s.success is True and s.id != target.id]


def _signal(kind: str, step: Step, quote: str, detail: str) -> Signal:
    return Signal(
        kind=kind, step=step.index, quote=quote, agent=step.agent, detail=detail, strength=STRENGTH[kind]
    )


def _prelim_quote(row: Row) -> str:
    match = _PRELIM.match(row.line)
    return match.group(0).strip() if match else row.label


def detect_preliminary(trajectory: Trajectory, siblings: Sequence[Trajectory]) -> list[Signal]:
    """A figure from a row marked preliminary was used (copied into a later call, or picked by its label
    from that table when the correct siblings took the same row from another source)."""
    rows = list(table_rows(trajectory))
    if not any(r.preliminary for r in rows):
        return []  # both findings start from a row marked preliminary: no action or pick is read
    final_values = {v for r in rows if not r.preliminary for v in r.values}
    uses = _action_numbers(trajectory)
    for row in (r for r in rows if r.preliminary):
        for figure, value in zip(row.figures, row.values, strict=True):
            used = _first_use(uses, value, row.step)
            if used is not None and value not in final_values:
                step = trajectory.steps[row.step]
                return [
                    _signal(
                        "preliminary_value",
                        step,
                        _prelim_quote(row),
                        f"{figure} is marked preliminary ({_prelim_quote(row)}) at step {row.step} and was used at step {used}",
                    )
                ]
    correct_picks = {(p.source, p.label) for s in _correct(siblings, trajectory) for p in code_picks(s)}
    correct_labels = {label for _, label in correct_picks}
    if not correct_labels:
        return []  # every pick would be passed over: the code is not read
    for pick in code_picks(trajectory):
        if (pick.source, pick.label) in correct_picks or pick.label not in correct_labels:
            continue
        head = pick.label.split()[0]
        for row in rows:
            if row.preliminary and row.step <= pick.step and re.search(rf"\b{re.escape(head)}\b", row.label):
                step = trajectory.steps[row.step]
                return [
                    _signal(
                        "preliminary_value",
                        step,
                        _prelim_quote(row),
                        f"{pick.label!r} was taken from {'/'.join(pick.source)}, where it is preliminary ({_prelim_quote(row)}); the correct rollouts took it from another issue",
                    )
                ]
    return []


def detect_wrong_field(trajectory: Trajectory, siblings: Sequence[Trajectory]) -> list[Signal]:
    """The right row of the right source, but another column than the correct siblings took."""
    correct = _correct(siblings, trajectory)
    by_row: dict[tuple[tuple[str, ...], str], set[tuple[str, ...]]] = {}
    for sibling in correct:
        for pick in code_picks(sibling):
            by_row.setdefault((pick.source, pick.label), set()).add(pick.fields)
    for pick in code_picks(trajectory) if by_row else ():  # no row to compare with: code not read
        wanted = by_row.get((pick.source, pick.label))
        if wanted and pick.fields not in wanted:
            differing = next((f for f in pick.fields if all(f not in w for w in wanted)), None)
            step = trajectory.steps[pick.step]
            quote = differing if differing and step.contains(differing) else pick.text
            if step.contains(quote):
                expected = ", ".join("/".join(w) for w in sorted(wanted))
                return [
                    _signal(
                        "wrong_field",
                        step,
                        quote,
                        f"{pick.text} reads {'/'.join(pick.fields)} where the correct rollouts read {expected}",
                    )
                ]
    sibling_uses: dict[str, set[int]] = {}
    for sibling in correct:
        for line, used_columns in _used_columns(sibling).items():
            sibling_uses.setdefault(line, set()).update(used_columns)
    if not sibling_uses:
        return []  # no row of the trajectory is compared: its actions are not read
    uses = _action_numbers(trajectory)
    for row in table_rows(trajectory):
        columns = sibling_uses.get(row.line)
        if not columns:
            continue
        for column, (figure, value) in enumerate(zip(row.figures, row.values, strict=True)):
            used = _first_use(uses, value, row.step)
            if used is not None and column not in columns:
                use_step = trajectory.steps[used]
                quote = next(
                    (m.text for m in find_numbers(use_step.searchable_text()) if m.value == value), figure
                )
                if use_step.contains(quote):
                    return [
                        _signal(
                            "wrong_field",
                            use_step,
                            quote,
                            f"{figure} is column {column + 1} of the row {row.label!r} (step {row.step}); the correct rollouts used column(s) {', '.join(str(c + 1) for c in sorted(columns))}",
                        )
                    ]
    return []


@per_steps
def _used_columns(trajectory: Trajectory) -> dict[str, frozenset[int]]:
    """The columns of each printed row (by its line) whose figure a later action used: what
    ``detect_wrong_field`` asks of every correct sibling, for every audit of its task."""
    uses = _action_numbers(trajectory)
    used: dict[str, set[int]] = {}
    for row in table_rows(trajectory):
        for column, value in enumerate(row.values):
            if _first_use(uses, value, row.step) is not None:
                used.setdefault(row.line, set()).add(column)
    return {line: frozenset(columns) for line, columns in used.items()}


def detect_bad_copy(trajectory: Trajectory, siblings: Sequence[Trajectory]) -> list[Signal]:
    """The trajectory read a defective copy of the data: rows that repeat other rows' figures under
    other labels (a duplicated table), or a row equal to another copy but for two swapped digits."""
    others = [row for s in siblings if s.id != trajectory.id for row in table_rows(s)]
    mine = list(table_rows(trajectory))
    labels_by_figures: dict[tuple[str, ...], set[str]] = {}
    for row in [*others, *mine]:
        labels_by_figures.setdefault(row.figures, set()).add(row.key)
    for row in mine:
        if len(labels_by_figures.get(row.figures, ())) > 1:
            step = trajectory.steps[row.step]
            quote = row.line[:160]
            if step.contains(quote):
                others_labels = ", ".join(sorted(labels_by_figures[row.figures] - {row.key}))
                return [
                    _signal(
                        "duplicated_source",
                        step,
                        quote,
                        f"the row {row.label!r} at step {row.step} repeats the figures printed elsewhere as {others_labels}: a duplicated table",
                    )
                ]
    correct_rows: dict[tuple[str, int], list[Row]] = {}
    for s in _correct(siblings, trajectory):
        for other in table_rows(s):
            correct_rows.setdefault((other.key, len(other.figures)), []).append(other)
    for row in mine:
        for other in correct_rows.get((row.key, len(row.figures)), []):
            diffs = [(a, b) for a, b in zip(row.figures, other.figures, strict=True) if a != b]
            if len(diffs) == 1 and is_retyping(find_numbers(diffs[0][1])[0], find_numbers(diffs[0][0])[0]):
                step = trajectory.steps[row.step]
                return [
                    _signal(
                        "corrupted_source",
                        step,
                        diffs[0][0],
                        f"{diffs[0][0]} in the row {row.label!r} (step {row.step}) reads {diffs[0][1]} in every other copy: a misprint",
                    )
                ]
    return []


def _month_label(label: str) -> str:
    """A row label without a leading year section (``1986 - Oct``) or a trailing revision flag."""
    label = _YEAR_SECTION.sub("", label.strip())
    return _REVISION_FLAG.sub("", label)


_YEAR_SECTION = re.compile(r"^\d{4}\s*-\s*")
_REVISION_FLAG = re.compile(r"\s+(?:p|r|\(p\)|\(r\))$")
