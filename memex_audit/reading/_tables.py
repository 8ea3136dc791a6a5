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

import functools
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from memex_audit.reading._answers import numbers_in_text

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


@functools.lru_cache(maxsize=4096)
def row_relation_breaks(table: ParsedTable) -> tuple[RowBreak, ...]:
    """Rows breaking an additive relation between columns that every other row keeps.

    A relation ``column j = sum of s_i * column i`` (``s_i`` in +1/-1, at most
    ``MAX_RELATION_TERMS`` terms) must hold, within rounding, in at least three rows and in all but
    one row of the table; that one row is returned. The smallest relations are tried first.
    """
    width = table.width
    rows = [r for r in table.rows if len(r.values) == width]
    if width < 3 or len(rows) < 4:
        return ()
    matrix = np.array([r.values for r in rows], dtype=float)
    decimals = np.array([r.decimals for r in rows], dtype=float)
    relations, terms = _relations(width)
    residual = np.abs(matrix @ relations.T)
    tolerance = 0.5 * (10.0**-decimals)[:, None] * (terms[None, :] + 1) + 1e-9
    misses = residual > tolerance
    candidates = np.flatnonzero(misses.sum(axis=0) == 1)
    if candidates.size == 0:
        return ()
    smallest = terms[candidates].min()
    breaks: dict[str, RowBreak] = {}
    for c in candidates[terms[candidates] == smallest]:
        row = rows[int(np.flatnonzero(misses[:, c])[0])]
        vector = relations[c]
        target = int(np.flatnonzero(vector == 1)[0])
        parts = [
            f"{'-' if vector[i] > 0 else '+'} c{i + 1}" for i in range(width) if i != target and vector[i]
        ]
        gap = float(matrix[rows.index(row)] @ vector)
        breaks.setdefault(
            row.label, RowBreak(row.label, row.values, f"c{target + 1} = {' '.join(parts).lstrip('+ ')}", gap)
        )
    return tuple(breaks.values())


@functools.lru_cache(maxsize=16)
def _relations(width: int) -> tuple[np.ndarray, np.ndarray]:
    """Every relation vector (+1 on the target, -s_i on its terms) and its number of terms."""
    vectors: list[list[float]] = []
    terms: list[int] = []
    for target in range(width):
        others = [c for c in range(width) if c != target]
        for size in range(2, min(MAX_RELATION_TERMS, len(others)) + 1):
            for columns in itertools.combinations(others, size):
                for signs in itertools.product((1, -1), repeat=size):
                    if all(sign == -1 for sign in signs):
                        continue
                    vector = [0.0] * width
                    vector[target] = 1.0
                    for column, sign in zip(columns, signs, strict=True):
                        vector[column] = -float(sign)
                    vectors.append(vector)
                    terms.append(size)
    return np.array(vectors), np.array(terms)


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


def _looks_like_row(line: str) -> bool:
    parts = [p for p in _SPLIT.split(line) if p]
    return len(parts) >= 2 and _CELL.match(parts[-1].replace(" ", "")) is not None
