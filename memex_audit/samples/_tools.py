"""The tools the sample solvers call: ``search``, ``open_document``, ``read_table``, ``python_exec``.

They run against a ``Corpus``. A MemEx-style solver gets them as Python functions whose results
stay objects in its namespace (``read_table`` returns a ``TableView``); a tool-calling solver gets
their results as text (``str()`` of the same objects).
"""

from __future__ import annotations

import contextlib
import io
import re
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from memex_audit.samples._corpus import Corpus
from memex_audit.samples._tables import MONTH_ABBR, MONTH_NAMES, Column, Month, Table, month_label, month_name


@dataclass(frozen=True)
class SearchHit:
    """One table of one bulletin that matches a search."""

    doc_id: str
    table: str
    title: str
    bulletin: str
    period: str
    score: int

    def __str__(self) -> str:
        return f"{self.doc_id} | {self.table} | {self.title} | {self.bulletin} | rows {self.period}"


_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset({"the", "of", "in", "and", "by", "to", "for", "a", "on", "from", "what", "was", "were"})


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


_MONTH_YEAR = re.compile(r"\b(" + "|".join(MONTH_NAMES) + r")\s+(\d{4})\b")


def _months_named(text: str) -> list[Month]:
    return [(int(year), MONTH_NAMES.index(name) + 1) for name, year in _MONTH_YEAR.findall(text)]


def parse_row_label(label: str) -> tuple[int, int | None]:
    """``"Feb 1988"`` -> ``(2, 1988)``; ``"Feb"`` -> ``(2, None)`` (matched loosely)."""
    parts = label.split()
    if not parts or parts[0][:3].title() not in MONTH_ABBR:
        raise KeyError(f"not a month label: {label!r} (use e.g. 'Feb 1988')")
    moy = MONTH_ABBR.index(parts[0][:3].title()) + 1
    year = int(parts[1]) if len(parts) > 1 else None
    return moy, year


def match_month(table: Table, label: str) -> Month:
    """The month of ``table`` a row label names; a bare month name takes the first such row."""
    moy, year = parse_row_label(label)
    for month in table.months:
        if month[1] == moy and (year is None or month[0] == year):
            return month
    raise KeyError(f"{table.doc_id} {table.code} has no row {label!r}; rows: {', '.join(_labels(table))}")


def _labels(table: Table) -> list[str]:
    return [month_label(m) for m in table.months]


class TableView:
    """A table as ``read_table`` returns it: print it, or take values by row and column.

    Example:
        ``t = read_table("TB-1988-06", "FFO-1"); t.value("Feb 1988", "Budget receipts", "Total")``
    """

    def __init__(self, table: Table) -> None:
        self._table = table

    @property
    def doc_id(self) -> str:
        return self._table.doc_id

    @property
    def code(self) -> str:
        return self._table.code

    @property
    def unit(self) -> str:
        return self._table.spec.unit

    @property
    def rows(self) -> list[str]:
        """Row labels: ``["Dec 1987", "Jan 1988", ...]``."""
        return _labels(self._table)

    @property
    def columns(self) -> list[str]:
        """Column labels: ``["Budget receipts / Total", ...]``."""
        return [c.label for c in self._table.spec.columns]

    def value(self, row: str, group: str, sub: str = "Total") -> int | float:
        """The figure in ``row`` under ``group`` / ``sub``, in the table's unit."""
        month = match_month(self._table, row)
        return self._table.spec.scale(self._table.raw(month, Column(group, sub)))

    def select(self, rows: Sequence[str]) -> str:
        """The table printed with only ``rows``."""
        return self._table.render([match_month(self._table, r) for r in rows])

    def __str__(self) -> str:
        return self._table.render()

    def __repr__(self) -> str:
        return f"<TableView {self.doc_id} {self.code}: {len(self._table.rows)} rows, in {self.unit}>"


class Toolbox:
    """The solver tools over one corpus."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self._index: list[tuple[Table, str, str, frozenset[str]]] = []
        for b in corpus.bulletins:
            for table in b.tables.values():
                spec = table.spec
                text = " ".join(
                    [spec.code, spec.title, spec.unit, b.title]
                    + [c.group + " " + c.sub for c in spec.columns]
                    + [f"{month_label(m)} {month_name(m)}" for m in table.months]
                )
                self._index.append((table, b.title, b.period, frozenset(_words(text))))

    def search(self, query: str, k: int = 6) -> list[SearchHit]:
        """The ``k`` tables whose title, headers, issue and rows share the most words with ``query``."""
        terms = _words(query)
        wanted = _months_named(query)
        scored: list[tuple[int, int, SearchHit]] = []
        for order, (table, bulletin, period, words) in enumerate(self._index):
            score = sum(1 for term in terms if term in words)
            # A month and year the query names, printed as a row, counts for more than loose words.
            score += 3 * sum(1 for month in wanted if month in table.months)
            if score:
                hit = SearchHit(table.doc_id, table.code, table.spec.title, bulletin, period, score)
                scored.append((-score, -order, hit))
        scored.sort(key=lambda item: (item[0], item[1]))
        return [hit for _, _, hit in scored[:k]]

    def open_document(self, doc_id: str) -> str:
        """A bulletin's front matter and table of contents."""
        return self.corpus.bulletin(doc_id).contents()

    def read_table(self, doc_id: str, table: str) -> TableView:
        """One table of one bulletin."""
        return TableView(self.corpus.table(doc_id, table))

    @staticmethod
    def python_exec(code: str) -> str:
        """Run ``code`` in a fresh namespace; what it printed, or the error it raised."""
        return run_code(code, {})

    def namespace(self) -> dict[str, Any]:
        """The names a MemEx-style solver's code sees."""
        return {"search": self.search, "open_document": self.open_document, "read_table": self.read_table}


_TOOLBOXES: dict[int, Toolbox] = {}


def toolbox_for(corpus: Corpus) -> Toolbox:
    """The toolbox over ``corpus``, built once (its search index takes a moment)."""
    tools = _TOOLBOXES.get(id(corpus))
    if tools is None or tools.corpus is not corpus:
        tools = _TOOLBOXES[id(corpus)] = Toolbox(corpus)
    return tools


def run_code(code: str, namespace: dict[str, Any]) -> str:
    """Execute ``code`` in ``namespace``; its stdout, followed by a traceback's last line on error."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            exec(compile(code, "<cell>", "exec"), namespace)
        except Exception as exc:
            last = traceback.format_exception_only(type(exc), exc)[-1].strip()
            print(f"Traceback (most recent call last):\n  ...\n{last}")
    return buffer.getvalue().rstrip("\n")
