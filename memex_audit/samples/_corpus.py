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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from memex_audit.samples._tables import (
    SPEC_BY_CODE,
    SPECS,
    WINDOW,
    Column,
    Defect,
    Month,
    Row,
    Table,
    add_months,
    doc_id_for,
    month_label,
    month_name,
)

FIRST_ISSUE: Month = (1986, 3)
LAST_ISSUE: Month = (1989, 3)


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
