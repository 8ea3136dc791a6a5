"""Reading the tables in tool outputs, and checking them for printing errors.

A table row is a line whose leading label is followed only by numeric cells (cells separated by
two or more spaces or by ``|``). Labels that carry no year inherit the year of the row above
(``1987 - Mar`` then ``Apr`` reads as ``1987 apr``); flags such as ``r`` (revised) and ``p``
(preliminary) are dropped from labels.

``row_relation_breaks`` finds rows that break an additive relation every other row of the table
keeps (``Net = Withheld + Other - Refunds``, ``Total = A + B + C``): the signature of a misprinted
cell. ``shifted_copies`` finds rows of one table whose values appear in another table under a
different label: the signature of a table reprinted from an earlier issue under new labels.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from memex_audit.aggregator._normalize import numbers_in_text

_CELL = re.compile(r"^[-−+(]?\$?\d[\d,]*(\.\d+)?\)?%?$|^[-−]?\.\d+%?$")
_SPLIT = re.compile(r"\s*\|\s*|\s{2,}")
_YEAR_IN_LABEL = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_FLAGS = {"r", "p", "e", "(r)", "(p)", "*"}
MAX_RELATION_TERMS = 6
"""Largest number of other columns an additive relation may combine."""


@dataclass(frozen=True)
class TableRow:
    """One row: its label (normalised, year carried) and its numeric cells."""

    label: str
    values: tuple[float, ...]
    decimals: int


@dataclass(frozen=True)
class ParsedTable:
    """The rows of a table found in a text, with the title line above them."""

    title: str
    rows: tuple[TableRow, ...]

    @property
    def width(self) -> int:
        """The most common number of cells in a row."""
        counts: dict[int, int] = {}
        for row in self.rows:
            counts[len(row.values)] = counts.get(len(row.values), 0) + 1
        return max(counts, key=lambda k: (counts[k], k)) if counts else 0


@dataclass(frozen=True)
class RowBreak:
    """A row that breaks a relation the other rows keep."""

    label: str
    values: tuple[float, ...]
    relation: str
    gap: float


def parse_table(text: str) -> ParsedTable | None:
    """The first block of table rows in ``text`` (at least two rows), or ``None``."""
    rows: list[TableRow] = []
    title = ""
    year: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not title and not _looks_like_row(stripped):
            title = stripped
        parts = [p for p in _SPLIT.split(stripped) if p]
        if len(parts) < 2:
            continue
        cells = [p for p in parts if _CELL.match(p.replace(" ", ""))]
        label_parts = parts[: len(parts) - len(cells)] if cells else parts
        if not cells or len(label_parts) != len(parts) - len(cells) or parts[len(label_parts) :] != cells:
            continue
        if len(label_parts) > 1:
            continue
        label = label_parts[0] if label_parts else ""
        if not label or (label[0].isdigit() and not _YEAR_IN_LABEL.match(label)):
            continue
        found_year = _YEAR_IN_LABEL.search(label)
        if found_year:
            year = found_year.group(1)
        key = " ".join(w for w in re.split(r"[\s\-–]+", label.casefold()) if w and w not in _FLAGS)
        if year and not found_year:
            key = f"{year} {key}"
        values = tuple(v for cell in cells for v in numbers_in_text(cell))
        if len(values) != len(cells):
            continue
        decimals = max((len(c.split(".")[1].rstrip("%)")) if "." in c else 0) for c in cells)
        rows.append(TableRow(label=key, values=values, decimals=decimals))
    if len(rows) < 2:
        return None
    return ParsedTable(title=title, rows=tuple(rows))


def row_relation_breaks(table: ParsedTable) -> list[RowBreak]:
    """Rows breaking an additive relation between columns that every other row keeps.

    A relation ``column j = sum of s_i * column i`` (``s_i`` in +1/-1, at most
    ``MAX_RELATION_TERMS`` terms) must hold, within rounding, in at least three rows and in all but
    one row of the table; that one row is returned. The smallest relations are tried first.
    """
    width = table.width
    rows = [r for r in table.rows if len(r.values) == width]
    if width < 3 or len(rows) < 4:
        return []
    breaks: dict[str, RowBreak] = {}
    for target in range(width):
        others = [c for c in range(width) if c != target]
        for size in range(2, min(MAX_RELATION_TERMS, len(others)) + 1):
            for columns in itertools.combinations(others, size):
                for signs in itertools.product((1, -1), repeat=size):
                    if signs[0] == -1 and all(s == -1 for s in signs):
                        continue
                    misses = [r for r in rows if not _holds(r, target, columns, signs)]
                    if len(misses) == 1 and len(rows) - 1 >= 3:
                        row = misses[0]
                        gap = row.values[target] - sum(
                            s * row.values[c] for c, s in zip(columns, signs, strict=True)
                        )
                        terms = " ".join(
                            f"{'+' if s > 0 else '-'} c{c + 1}" for c, s in zip(columns, signs, strict=True)
                        )
                        breaks.setdefault(
                            row.label,
                            RowBreak(row.label, row.values, f"c{target + 1} = {terms.lstrip('+ ')}", gap),
                        )
            if breaks:
                return list(breaks.values())
    return list(breaks.values())


def shifted_copies(copy: ParsedTable, original: ParsedTable, min_cells: int = 3) -> list[tuple[str, str]]:
    """Rows of ``copy`` whose values appear in ``original`` under another label, as (copy label, original label)."""
    by_values: dict[tuple[float, ...], str] = {}
    for row in original.rows:
        if len(row.values) >= min_cells:
            by_values.setdefault(row.values, row.label)
    pairs = []
    for row in copy.rows:
        label = by_values.get(row.values)
        if label is not None and label != row.label:
            pairs.append((row.label, label))
    return pairs


def cell_conflicts(table: ParsedTable, others: Sequence[ParsedTable], label: str) -> set[float]:
    """Values of the row ``label`` in ``table`` that differ from the same cell in every other table."""
    mine = next((r for r in table.rows if r.label == label), None)
    if mine is None:
        return set()
    theirs = [r for t in others for r in t.rows if r.label == label and len(r.values) == len(mine.values)]
    if not theirs:
        return set()
    return {
        v
        for i, v in enumerate(mine.values)
        if all(not math.isclose(v, r.values[i], rel_tol=1e-9, abs_tol=1e-9) for r in theirs)
    }


def _holds(row: TableRow, target: int, columns: Sequence[int], signs: Sequence[int]) -> bool:
    total = sum(s * row.values[c] for c, s in zip(columns, signs, strict=True))
    tolerance = 0.5 * 10.0 ** (-row.decimals) * (len(columns) + 1) + 1e-9
    return abs(row.values[target] - total) <= tolerance


def _looks_like_row(line: str) -> bool:
    parts = [p for p in _SPLIT.split(line) if p]
    return len(parts) >= 2 and _CELL.match(parts[-1].replace(" ", "")) is not None
