"""A synthetic corpus of Treasury-bulletin-style documents, rebuilt in memory from a seed.

Each quarterly bulletin (March, June, September, December) reports the six months that end the
month before its issue, in a handful of tables with nested column headers. The last month of each
bulletin is *preliminary* (marked ``p``); the next bulletin prints the revised figure (marked
``r``). Some tables have a look-alike: the same headers on another accounting basis, with numbers a
little off. A corpus can also carry defects: a table that repeats the previous bulletin's rows
under new month labels (``duplicated``), or one cell with transposed digits so that its row no
longer adds up (``misprint``).

Values are stored as integers in the table's unit (millions of dollars, or tenths of billions for
tables in billions), so every figure a reader sees has one exact decimal form.
"""

from __future__ import annotations

import random
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

Month = tuple[int, int]
"""A calendar month as ``(year, month)``."""

MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

FIRST_ISSUE: Month = (1986, 3)
LAST_ISSUE: Month = (1989, 3)
WINDOW = 6
"""Months of data each bulletin reports."""


def add_months(month: Month, k: int) -> Month:
    """``month`` shifted by ``k`` months."""
    i = month[0] * 12 + month[1] - 1 + k
    return (i // 12, i % 12 + 1)


def month_label(month: Month) -> str:
    """Short label used for table rows: ``Feb 1988``."""
    return f"{MONTH_ABBR[month[1] - 1]} {month[0]}"


def month_name(month: Month) -> str:
    """Long label used in prose: ``February 1988``."""
    return f"{MONTH_NAMES[month[1] - 1]} {month[0]}"


def doc_id_for(issue: Month) -> str:
    """The document id of the bulletin issued in ``issue``: ``TB-1988-06``."""
    return f"TB-{issue[0]}-{issue[1]:02d}"


@dataclass(frozen=True, order=True)
class Column:
    """A leaf column under a nested header: its group and its own heading."""

    group: str
    sub: str

    @property
    def label(self) -> str:
        """``Budget receipts / Total``."""
        return f"{self.group} / {self.sub}"


Unit = Literal["millions", "billions"]


@dataclass(frozen=True)
class TableSpec:
    """The layout of one kind of table, the same in every bulletin."""

    code: str
    title: str
    unit: Unit
    source_note: str
    groups: tuple[tuple[str, tuple[str, ...]], ...]
    leaves: tuple[int, ...]
    """Positions (in ``columns``) of the columns that are not sums of others."""
    lookalike_of: str | None = None
    note: str | None = None

    @property
    def columns(self) -> tuple[Column, ...]:
        """The leaf columns, left to right."""
        return tuple(Column(g, s) for g, subs in self.groups for s in subs)

    @property
    def decimals(self) -> int:
        """Decimals printed: figures in billions carry one."""
        return 1 if self.unit == "billions" else 0

    def index(self, column: Column) -> int:
        """Position of ``column``; ``KeyError`` when the table has no such column."""
        try:
            return self.columns.index(column)
        except ValueError:
            raise KeyError(f"{self.code} has no column {column.label!r}") from None

    def scale(self, raw: int) -> int | float:
        """A stored integer as the number a reader sees."""
        return raw / 10 if self.decimals else raw

    def fmt(self, raw: int) -> str:
        """A stored integer as printed in the table: ``84,318`` or ``2,351.4``."""
        return f"{raw / 10:,.1f}" if self.decimals else f"{raw:,}"


_FFO1_GROUPS = (
    ("Budget receipts", ("Total", "On-budget", "Off-budget")),
    ("Budget outlays", ("Total", "On-budget", "Off-budget")),
    ("Surplus or deficit (-)", ("Total",)),
)
_FFO2_GROUPS = (
    ("Individual income taxes", ("Withheld", "Other", "Refunds", "Net")),
    ("Corporation income taxes", ("Gross", "Refunds", "Net")),
)
_FD1_GROUPS = (
    ("Amount outstanding", ("Total", "Public debt securities", "Agency securities")),
    ("Held by Government accounts", ("Total", "Public debt securities")),
    ("Held by the public", ("Total", "Public debt securities")),
)
_OFS1_GROUPS = (
    ("Total public debt", ("Total",)),
    (
        "Held by",
        ("Federal Reserve banks", "Commercial banks", "Individuals", "Foreign and international", "Other"),
    ),
)
_MTS = "Monthly Treasury Statement of Receipts and Outlays of the United States Government"
_DTS = "Daily Treasury Statement"
_DTS_NOTE = (
    "Note: Daily Treasury Statement figures are on a cash basis and differ from the "
    "Monthly Treasury Statement figures in table FFO-1."
)

SPECS: tuple[TableSpec, ...] = (
    TableSpec("FFO-1", "Summary of Fiscal Operations", "millions", _MTS, _FFO1_GROUPS, (1, 2, 4, 5)),
    TableSpec(
        "FFO-1D",
        "Summary of Fiscal Operations, Daily Treasury Statement Basis",
        "millions",
        _DTS,
        _FFO1_GROUPS,
        (1, 2, 4, 5),
        lookalike_of="FFO-1",
        note=_DTS_NOTE,
    ),
    TableSpec(
        "FFO-2", "Budget Receipts by Source: Income Taxes", "millions", _MTS, _FFO2_GROUPS, (0, 1, 2, 4, 5)
    ),
    TableSpec(
        "IRS-1",
        "Internal Revenue Collections: Income Taxes",
        "millions",
        "Internal Revenue Service collection reports",
        _FFO2_GROUPS,
        (0, 1, 2, 4, 5),
        lookalike_of="FFO-2",
        note="Note: collections are reported when deposited and differ from budget receipts in FFO-2.",
    ),
    TableSpec(
        "FD-1",
        "Summary of Federal Debt",
        "millions",
        "Monthly Statement of the Public Debt of the United States",
        _FD1_GROUPS,
        (1, 2, 4),
    ),
    TableSpec(
        "FD-1D",
        "Summary of Federal Debt, Daily Treasury Statement Basis",
        "millions",
        _DTS,
        _FD1_GROUPS,
        (1, 2, 4),
        lookalike_of="FD-1",
        note="Note: end-of-day balances; see FD-1 for the Monthly Statement of the Public Debt.",
    ),
    TableSpec(
        "OFS-1",
        "Estimated Ownership of Public Debt Securities",
        "billions",
        "Office of Market Finance estimates",
        _OFS1_GROUPS,
        (1, 2, 3, 4),
    ),
)
SPEC_BY_CODE: dict[str, TableSpec] = {spec.code: spec for spec in SPECS}


def _derive(code: str, leaves: Sequence[int]) -> tuple[int, ...]:
    """A full row from its leaf values: the totals are sums, so each row adds up."""
    if code in ("FFO-1", "FFO-1D"):
        r_on, r_off, o_on, o_off = leaves
        return (r_on + r_off, r_on, r_off, o_on + o_off, o_on, o_off, r_on + r_off - o_on - o_off)
    if code in ("FFO-2", "IRS-1"):
        withheld, other, refunds, gross, c_refunds = leaves
        return (withheld, other, refunds, withheld + other - refunds, gross, c_refunds, gross - c_refunds)
    if code in ("FD-1", "FD-1D"):
        pds, agency, gov_pds, gov_agency = leaves
        gov = gov_pds + gov_agency
        return (pds + agency, pds, agency, gov, gov_pds, pds + agency - gov, pds - gov_pds)
    if code == "OFS-1":
        fed, banks, individuals, foreign, total = leaves
        return (total, fed, banks, individuals, foreign, total - fed - banks - individuals - foreign)
    raise KeyError(code)


def _leaves_of(code: str, row: Sequence[int]) -> tuple[int, ...]:
    """The leaf values ``_derive`` needs to rebuild ``row``."""
    if code in ("FFO-1", "FFO-1D"):
        return (row[1], row[2], row[4], row[5])
    if code in ("FFO-2", "IRS-1"):
        return (row[0], row[1], row[2], row[4], row[5])
    if code in ("FD-1", "FD-1D"):
        return (row[1], row[2], row[4], row[3] - row[4])
    if code == "OFS-1":
        return (row[1], row[2], row[3], row[4], row[0])
    raise KeyError(code)


@dataclass(frozen=True)
class Row:
    """One month of a table as a bulletin printed it."""

    month: Month
    marker: str
    """``p`` (preliminary), ``r`` (revised since the last issue) or empty."""
    values: tuple[int, ...]


@dataclass(frozen=True)
class Defect:
    """A printing error in one table of one bulletin.

    ``duplicated``: the rows repeat the previous bulletin's rows (``copied_from``) under this
    issue's month labels. ``misprint``: one cell (``month``, ``column``) has two digits swapped,
    printed as ``printed`` instead of ``true``, so its row total no longer adds up.
    """

    kind: Literal["duplicated", "misprint"]
    doc_id: str
    table: str
    copied_from: str | None = None
    month: Month | None = None
    column: Column | None = None
    printed: int | None = None
    true: int | None = None


@dataclass(frozen=True)
class Table:
    """One table of one bulletin."""

    spec: TableSpec
    doc_id: str
    rows: tuple[Row, ...]
    defect: Defect | None = None

    @property
    def code(self) -> str:
        return self.spec.code

    @cached_property
    def months(self) -> tuple[Month, ...]:
        return tuple(r.month for r in self.rows)

    def row(self, month: Month) -> Row | None:
        """The row for ``month``, if the table covers it."""
        for r in self.rows:
            if r.month == month:
                return r
        return None

    def raw(self, month: Month, column: Column) -> int:
        """The stored integer printed for ``month`` in ``column`` (``KeyError`` when absent)."""
        r = self.row(month)
        if r is None:
            raise KeyError(f"{self.doc_id} {self.code} has no row for {month_label(month)}")
        return r.values[self.spec.index(column)]

    def cell_text(self, month: Month, column: Column) -> str:
        """The figure as printed: ``84,318``."""
        return self.spec.fmt(self.raw(month, column))

    def row_label(self, position: int, *, first: bool | None = None) -> str:
        """The printed label of a row: the year shows on the first row and on each January."""
        r = self.rows[position]
        abbr = MONTH_ABBR[r.month[1] - 1]
        first = position == 0 if first is None else first
        head = f"{r.month[0]} - " if first or r.month[1] == 1 else " " * 7
        return f"{head}{abbr}{' ' + r.marker if r.marker else ''}"

    def render(self, months: Sequence[Month] | None = None) -> str:
        """The table as text, nested headers included; only ``months`` when given."""
        spec = self.spec
        lines = [
            f"Table {spec.code}. {spec.title}",
            f"[In {spec.unit} of dollars. Source: {spec.source_note}]",
            "",
        ]
        lines.extend(_render_header(spec))
        wanted = None if months is None else set(months)
        shown = 0
        for position, r in enumerate(self.rows):
            if wanted is not None and r.month not in wanted:
                continue
            cells = "".join(spec.fmt(v).rjust(_COL_W) for v in r.values)
            lines.append(self.row_label(position, first=shown == 0).ljust(_LABEL_W) + cells)
            shown += 1
        lines.append("")
        lines.append("p Preliminary.  r Revised.")
        if spec.note:
            lines.append(spec.note)
        return "\n".join(lines)


_LABEL_W = 14
_COL_W = 14


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False) or [""]


def _render_header(spec: TableSpec) -> list[str]:
    group_cells: list[tuple[int, list[str], bool]] = []
    for group, subs in spec.groups:
        span = _COL_W * len(subs)
        group_cells.append((span, _wrap(group, span - 2), len(subs) > 1))
    sub_cells = [_wrap(sub, _COL_W - 1) for _, subs in spec.groups for sub in subs]
    g_height = max(len(c[1]) for c in group_cells)
    s_height = max(len(c) for c in sub_cells)
    lines: list[str] = []
    for i in range(g_height):
        line = " " * _LABEL_W
        for span, wrapped, _multi in group_cells:
            pad = g_height - len(wrapped)
            text = wrapped[i - pad] if i >= pad else ""
            line += text.center(span)
        lines.append(line.rstrip())
    rule = " " * _LABEL_W
    for span, _wrapped, multi in group_cells:
        rule += (" " + "-" * (span - 2) + " ") if multi else " " * span
    lines.append(rule.rstrip())
    for i in range(s_height):
        label = "Period" if i == s_height - 1 else ""
        line = label.ljust(_LABEL_W)
        for wrapped in sub_cells:
            pad = s_height - len(wrapped)
            text = wrapped[i - pad] if i >= pad else ""
            line += text.rjust(_COL_W - 1) + " "
        lines.append(line.rstrip())
    lines.append("-" * (_LABEL_W - 2) + "  " + " ".join("-" * (_COL_W - 1) for _ in sub_cells))
    return lines


@dataclass(frozen=True)
class Bulletin:
    """One issue of the bulletin: its id, issue month and tables (in table-of-contents order)."""

    doc_id: str
    issue: Month
    tables: dict[str, Table]

    @property
    def title(self) -> str:
        return f"Treasury Bulletin, {month_name(self.issue)}"

    @cached_property
    def months(self) -> tuple[Month, ...]:
        """The months this issue reports."""
        return tuple(add_months(self.issue, -WINDOW + i) for i in range(WINDOW))

    @property
    def period(self) -> str:
        first, last = self.months[0], self.months[-1]
        return f"{month_label(first)} - {month_label(last)}"

    def contents(self) -> str:
        """The issue's front matter and table of contents, as ``open_document`` shows it."""
        lines = [
            self.title,
            f"Document {self.doc_id}. Monthly data for {self.period}.",
            "Figures for the latest month are preliminary (p) and are revised (r) in the next issue.",
            "",
            "Contents:",
        ]
        for table in self.tables.values():
            spec = table.spec
            lines.append(f"  {spec.code:<7} {spec.title} [in {spec.unit} of dollars]")
        return "\n".join(lines)


@dataclass
class Corpus:
    """All bulletins, plus the true monthly figures behind them.

    Attributes:
        seed: The seed the corpus was built from.
        bulletins: The issues, oldest first.
        truth: The final (revised) row of each table for each month: ``truth[code][month]``.
        defects: The printing errors the corpus carries.
    """

    seed: int
    bulletins: list[Bulletin]
    truth: dict[str, dict[Month, tuple[int, ...]]]
    defects: list[Defect] = field(default_factory=list)
    _final: dict[tuple[str, Month], list[Table]] = field(default_factory=dict, init=False, repr=False)

    def bulletin(self, doc_id: str) -> Bulletin:
        for b in self.bulletins:
            if b.doc_id == doc_id:
                return b
        raise KeyError(f"no document {doc_id!r}")

    def table(self, doc_id: str, code: str) -> Table:
        try:
            return self.bulletin(doc_id).tables[code]
        except KeyError:
            raise KeyError(f"document {doc_id} has no table {code!r}") from None

    def true_raw(self, code: str, month: Month, column: Column) -> int:
        """The final figure for ``month`` in ``column`` of table ``code``, as a stored integer."""
        return self.truth[code][month][SPEC_BY_CODE[code].index(column)]

    def true_value(self, code: str, month: Month, column: Column) -> int | float:
        """The final figure as a reader sees it."""
        return SPEC_BY_CODE[code].scale(self.true_raw(code, month, column))

    def tables_with(self, code: str, month: Month) -> list[Table]:
        """Every printed copy of table ``code`` that has a row for ``month``, oldest issue first."""
        return [b.tables[code] for b in self.bulletins if code in b.tables and month in b.months]

    def final_tables(self, code: str, month: Month) -> list[Table]:
        """The copies that print the final figure for ``month`` (not preliminary, not defective)."""
        key = (code, month)
        if key not in self._final:
            self._final[key] = self._final_tables(code, month)
        return self._final[key]

    def _final_tables(self, code: str, month: Month) -> list[Table]:
        return [
            t
            for t in self.tables_with(code, month)
            if t.defect is None and (r := t.row(month)) is not None and r.marker != "p"
        ]

    def preliminary_table(self, code: str, month: Month) -> Table | None:
        """The copy where ``month`` is the preliminary last row, if any."""
        for t in self.tables_with(code, month):
            r = t.row(month)
            if r is not None and r.marker == "p":
                return t
        return None

    def previous(self, table: Table) -> Table | None:
        """The same table in the issue before ``table``'s."""
        for i, b in enumerate(self.bulletins):
            if b.doc_id == table.doc_id:
                return self.bulletins[i - 1].tables.get(table.code) if i > 0 else None
        return None

    def year_earlier(self, doc_id: str) -> Bulletin | None:
        """The issue published twelve months before ``doc_id``."""
        issue = self.bulletin(doc_id).issue
        target = doc_id_for((issue[0] - 1, issue[1]))
        for b in self.bulletins:
            if b.doc_id == target:
                return b
        return None

    def with_defects(self, defects: Sequence[Defect]) -> Corpus:
        """A copy of the corpus whose tables carry ``defects`` (truth unchanged)."""
        bulletins = [Bulletin(b.doc_id, b.issue, dict(b.tables)) for b in self.bulletins]
        out = Corpus(self.seed, bulletins, self.truth, [*self.defects, *defects])
        for defect in defects:
            clean = out.table(defect.doc_id, defect.table)
            if defect.kind == "duplicated":
                source = out.table(defect.copied_from or "", defect.table)
                rows = tuple(
                    Row(r.month, r.marker, s.values) for r, s in zip(clean.rows, source.rows, strict=True)
                )
            else:
                assert defect.month is not None and defect.column is not None and defect.printed is not None
                pos = clean.spec.index(defect.column)
                rows = tuple(
                    Row(r.month, r.marker, (*r.values[:pos], defect.printed, *r.values[pos + 1 :]))
                    if r.month == defect.month
                    else r
                    for r in clean.rows
                )
            out.bulletin(defect.doc_id).tables[defect.table] = Table(clean.spec, clean.doc_id, rows, defect)
        return out

    def dump_text(self) -> dict[str, str]:
        """Every bulletin as one text file (contents, then each table), keyed by file name."""
        files: dict[str, str] = {}
        for b in self.bulletins:
            parts = [b.contents()] + [t.render() for t in b.tables.values()]
            files[f"{b.doc_id}.txt"] = "\n\n\n".join(parts) + "\n"
        return files


# -- building -----------------------------------------------------------------------------------

_SeriesFn = Callable[[random.Random, int, int], tuple[int, ...]]


def _season(moy: int, table: dict[int, float], default: float = 1.0) -> float:
    return table.get(moy, default)


def _ffo1_leaves(rng: random.Random, t: int, moy: int) -> tuple[int, ...]:
    growth = 1 + 0.006 * t
    r_on = 52000 * growth * _season(moy, {4: 1.48, 1: 1.12, 6: 1.18, 9: 1.16, 12: 1.17}, 0.9)
    r_off = 19400 * growth * _season(moy, {4: 1.12, 1: 1.05}, 0.97)
    o_on = 70500 * (1 + 0.004 * t) * _season(moy, {10: 1.05, 6: 0.95})
    o_off = 16400 * (1 + 0.003 * t)
    return tuple(round(v * rng.uniform(0.95, 1.05)) for v in (r_on, r_off, o_on, o_off))


def _ffo2_leaves(rng: random.Random, t: int, moy: int) -> tuple[int, ...]:
    growth = 1 + 0.005 * t
    withheld = 29200 * growth * _season(moy, {1: 1.1, 12: 1.08}, 1.0)
    other = 3900 * _season(moy, {4: 6.4, 1: 2.3, 6: 2.2, 9: 2.1}, 1.0)
    refunds = 2900 * _season(moy, {3: 4.1, 4: 4.4, 5: 2.6, 2: 2.0}, 1.0)
    gross = 4100 * growth * _season(moy, {3: 3.7, 6: 3.9, 9: 3.8, 12: 4.0}, 1.0)
    c_refunds = 2300 * rng.uniform(0.7, 1.5)
    return tuple(round(v * rng.uniform(0.95, 1.05)) for v in (withheld, other, refunds, gross, c_refunds))


def _fd1_leaves(rng: random.Random, t: int, moy: int) -> tuple[int, ...]:
    pds = 2_011_000 + 17_600 * t + rng.randint(-4000, 4000)
    agency = 3_900 - 12 * t + rng.randint(-60, 60)
    gov_pds = 395_000 + 6_100 * t + rng.randint(-2500, 2500) + (9000 if moy in (6, 12) else 0)
    gov_agency = 160 + rng.randint(-25, 25)
    return (pds, agency, gov_pds, gov_agency)


def _ofs1_leaves(rng: random.Random, t: int, moy: int, pds: int) -> tuple[int, ...]:
    total = round(pds / 100)  # millions -> tenths of billions
    fed = round(1980 + 9.5 * t + rng.randint(-30, 30))
    banks = round(1970 + 1.5 * t + rng.randint(-40, 40))
    individuals = round(930 + 6.2 * t + rng.randint(-12, 12))
    foreign = round(2140 + 14.0 * t + rng.randint(-50, 50))
    return (fed, banks, individuals, foreign, total)


def _perturb(
    code: str, rng: random.Random, leaves: Sequence[int], low: float, high: float
) -> tuple[int, ...]:
    """Leaves moved by a relative amount in ``[low, high]`` with a random sign (the OFS total stays)."""
    out = []
    for i, v in enumerate(leaves):
        if code == "OFS-1" and i == len(leaves) - 1:
            out.append(v)
            continue
        sign = 1 if rng.random() < 0.5 else -1
        out.append(round(v * (1 + sign * rng.uniform(low, high))))
    return tuple(out)


def build_corpus(seed: int) -> Corpus:
    """Build the clean corpus (no defects) for ``seed``; the same seed gives the same corpus."""
    rng = random.Random(f"corpus:{seed}")
    issues: list[Month] = []
    issue = FIRST_ISSUE
    while issue <= LAST_ISSUE:
        issues.append(issue)
        issue = add_months(issue, 3)
    first_month = add_months(FIRST_ISSUE, -WINDOW)
    months = [add_months(first_month, i) for i in range(_month_span(first_month, issues[-1]))]

    truth_leaves: dict[str, dict[Month, tuple[int, ...]]] = {s.code: {} for s in SPECS}
    for t, month in enumerate(months):
        moy = month[1]
        truth_leaves["FFO-1"][month] = _ffo1_leaves(rng, t, moy)
        truth_leaves["FFO-2"][month] = _ffo2_leaves(rng, t, moy)
        fd = _fd1_leaves(rng, t, moy)
        truth_leaves["FD-1"][month] = fd
        truth_leaves["OFS-1"][month] = _ofs1_leaves(rng, t, moy, fd[0])
        for spec in SPECS:
            if spec.lookalike_of is not None:
                base = truth_leaves[spec.lookalike_of][month]
                low, high = (0.0005, 0.004) if spec.code == "FD-1D" else (0.006, 0.035)
                truth_leaves[spec.code][month] = _perturb(spec.code, rng, base, low, high)

    truth = {
        code: {m: _derive(code, leaves) for m, leaves in by_month.items()}
        for code, by_month in truth_leaves.items()
    }
    bulletins: list[Bulletin] = []
    for issue in issues:
        doc_id = doc_id_for(issue)
        window = [add_months(issue, -WINDOW + i) for i in range(WINDOW)]
        tables: dict[str, Table] = {}
        for spec in SPECS:
            rows: list[Row] = []
            for position, month in enumerate(window):
                values = truth[spec.code][month]
                marker = ""
                if position == WINDOW - 1:
                    marker = "p"
                    low, high = (0.001, 0.006) if spec.code.startswith("FD") else (0.004, 0.025)
                    prelim = _perturb(spec.code, rng, _leaves_of(spec.code, values), low, high)
                    values = _derive(spec.code, prelim)
                elif position == WINDOW - 4:
                    marker = "r"
                rows.append(Row(month, marker, values))
            tables[spec.code] = Table(spec, doc_id, tuple(rows))
        bulletins.append(Bulletin(doc_id, issue, tables))
    return Corpus(seed, bulletins, truth)


def _month_span(first: Month, last_issue: Month) -> int:
    return (last_issue[0] * 12 + last_issue[1]) - (first[0] * 12 + first[1])
