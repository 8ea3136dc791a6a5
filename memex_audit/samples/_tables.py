"""Tables of the synthetic bulletins: months, nested column headers, rows, defects, rendering.

Values are stored as integers in the table's unit (millions of dollars, or tenths of billions for
tables in billions), so every figure a reader sees has one exact decimal form.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
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
