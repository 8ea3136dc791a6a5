"""Questions over the synthetic bulletins, each with a ground truth computed from the corpus.

A question names the figures it needs (a metric and a month each) and the computation on them. The
computation is Python source (``formula``): the ground truth is that source run on the final,
revised figures; a solver runs the same kind of source on whatever figures it actually read.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from memex_audit.samples._corpus import Corpus
from memex_audit.samples._tables import (
    MONTH_ABBR,
    SPEC_BY_CODE,
    Column,
    Defect,
    Month,
    add_months,
    month_name,
)
from memex_audit.samples._tools import run_code


@dataclass(frozen=True)
class Metric:
    """A figure a question can ask about: a column of one table."""

    key: str
    table: str
    column: Column
    phrase: str
    confusable: Column
    """The neighbouring column a careless reader takes instead (same group, or same heading)."""


def _m(key: str, table: str, col: tuple[str, str], phrase: str, conf: tuple[str, str]) -> Metric:
    return Metric(key, table, Column(*col), phrase, Column(*conf))


_REC, _OUT = "Budget receipts", "Budget outlays"
_IND, _CORP = "Individual income taxes", "Corporation income taxes"
_AMT, _GOV, _PUB = "Amount outstanding", "Held by Government accounts", "Held by the public"
_PDS, _HELD = "Public debt securities", "Held by"

METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        _m("receipts", "FFO-1", (_REC, "Total"), "total budget receipts", (_REC, "On-budget")),
        _m("receipts_on", "FFO-1", (_REC, "On-budget"), "on-budget receipts", (_REC, "Total")),
        _m("receipts_off", "FFO-1", (_REC, "Off-budget"), "off-budget receipts", (_OUT, "Off-budget")),
        _m("outlays", "FFO-1", (_OUT, "Total"), "total budget outlays", (_OUT, "On-budget")),
        _m("outlays_on", "FFO-1", (_OUT, "On-budget"), "on-budget outlays", (_REC, "On-budget")),
        _m("withheld", "FFO-2", (_IND, "Withheld"), "withheld individual income taxes", (_IND, "Net")),
        _m("ind_net", "FFO-2", (_IND, "Net"), "net individual income taxes", (_IND, "Withheld")),
        _m("ind_refunds", "FFO-2", (_IND, "Refunds"), "individual income tax refunds", (_CORP, "Refunds")),
        _m("corp_gross", "FFO-2", (_CORP, "Gross"), "gross corporation income taxes", (_CORP, "Net")),
        _m("corp_refunds", "FFO-2", (_CORP, "Refunds"), "corporation income tax refunds", (_IND, "Refunds")),
        _m("corp_net", "FFO-2", (_CORP, "Net"), "net corporation income taxes", (_CORP, "Gross")),
        _m("debt", "FD-1", (_AMT, "Total"), "total federal debt outstanding", (_AMT, _PDS)),
        _m("debt_pds", "FD-1", (_AMT, _PDS), "public debt securities outstanding", (_PUB, _PDS)),
        _m("gov_pds", "FD-1", (_GOV, _PDS), "public debt securities held by Government accounts", (_GOV, "Total")),
        _m("public", "FD-1", (_PUB, "Total"), "total federal debt held by the public", (_PUB, _PDS)),
        _m("public_pds", "FD-1", (_PUB, _PDS), "public debt securities held by the public", (_AMT, _PDS)),
        _m("ofs_total", "OFS-1", ("Total public debt", "Total"), "total public debt", (_HELD, "Other")),
        _m("fed", "OFS-1", (_HELD, "Federal Reserve banks"), "holdings of Federal Reserve banks", (_HELD, "Commercial banks")),
        _m("banks", "OFS-1", (_HELD, "Commercial banks"), "holdings of commercial banks", (_HELD, "Federal Reserve banks")),
        _m("individuals", "OFS-1", (_HELD, "Individuals"), "holdings of individuals", (_HELD, "Other")),
        _m("foreign", "OFS-1", (_HELD, "Foreign and international"), "holdings of foreign and international investors", (_HELD, "Other")),
    )
}  # fmt: skip

_FLOWS = ("receipts", "receipts_on", "outlays", "outlays_on", "withheld", "ind_net", "corp_gross", "corp_net")
_CHANGES = (*_FLOWS, "ind_refunds", "corp_refunds", "debt", "public", "gov_pds", "foreign")
_DIFFERENCES = (
    ("outlays", "receipts", "By how much did {a} exceed {b} in {m}"),
    ("withheld", "ind_refunds", "By how much did {a} exceed {b} in {m}"),
    ("public_pds", "gov_pds", "By how much did {a} exceed {b} at the end of {m}"),
    ("corp_gross", "corp_refunds", "By how much did {a} exceed {b} in {m}"),
    ("debt_pds", "public_pds", "What was the difference between {a} and {b} at the end of {m}"),
)
_SHARES = (
    ("foreign", "ofs_total", "What share of {b} consisted of {a} at the end of {m}"),
    ("banks", "ofs_total", "What share of {b} consisted of {a} at the end of {m}"),
    ("individuals", "ofs_total", "What share of {b} consisted of {a} at the end of {m}"),
    ("corp_refunds", "corp_gross", "What were {a} as a share of {b} in {m}"),
    ("receipts_off", "receipts", "What share of {b} were {a} in {m}"),
)
_COMBINED = (("banks", "individuals"), ("fed", "foreign"), ("foreign", "banks"), ("fed", "banks"))

Kind = Literal["pct_change", "quarter_total", "cumulative", "difference", "share", "combined_millions"]
Variant = Literal["correct", "no_convert", "rounding"]

_FORMAT_HINT = {
    "pct_change": "Answer as a percentage rounded to one decimal place (e.g. 12.5%).",
    "quarter_total": "Answer in billions of dollars rounded to one decimal place (e.g. 1,234.5).",
    "cumulative": "Answer in millions of dollars (e.g. 3,501).",
    "difference": "Answer in millions of dollars (e.g. 3,501).",
    "share": "Answer as a percentage rounded to one decimal place (e.g. 12.5%).",
    "combined_millions": "Answer in millions of dollars, rounded to the nearest million (e.g. 3,501).",
}


@dataclass(frozen=True)
class Need:
    """One figure a question needs: a metric in a month."""

    metric: Metric
    month: Month

    @property
    def var(self) -> str:
        """A variable name for the figure: ``receipts_feb88``."""
        return f"{self.metric.key}_{MONTH_ABBR[self.month[1] - 1].lower()}{self.month[0] % 100:02d}"


@dataclass(frozen=True)
class Question:
    """A question, the figures it needs, and its ground truth."""

    task_id: str
    kind: Kind
    text: str
    needs: tuple[Need, ...]
    ground_truth: str
    search_query: str

    @property
    def table(self) -> str:
        """The table every needed figure comes from."""
        return self.needs[0].metric.table

    @property
    def converts_units(self) -> bool:
        """Whether the answer is asked in a unit other than the table's."""
        return self.kind in ("quarter_total", "combined_millions")

    def values_code(self, values: Sequence[int | float]) -> str:
        """Assignments binding each need's variable to a value (for running the formula)."""
        return "\n".join(f"{n.var} = {v!r}" for n, v in zip(self.needs, values, strict=True))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def formula(kind: Kind, names: Sequence[str], variant: Variant = "correct") -> list[str]:
    """Python lines that compute ``answer`` (a string) from the variables ``names``.

    ``no_convert`` forgets the unit conversion the question asks for; ``rounding`` rounds an
    intermediate result, which a careful solver would not do.
    """
    if kind == "pct_change":
        a, b = names
        if variant == "rounding":
            return [f"pct = round(({b} - {a}) / {a}, 2) * 100", 'answer = f"{pct:.1f}%"']
        return [f"pct = ({b} - {a}) / {a} * 100", 'answer = f"{pct:.1f}%"']
    if kind == "quarter_total":
        if variant == "rounding":
            terms = " + ".join(f"round({n} / 1000)" for n in names)
            return [f"total = {terms}", 'answer = f"{total:,.1f}"']
        lines = [f"total = {' + '.join(names)}"]
        if variant == "no_convert":
            return [*lines, 'answer = f"{total:,.1f}"']
        return [*lines, 'answer = f"{total / 1000:,.1f}"']
    if kind == "cumulative":
        listed = ", ".join(names)
        if variant == "rounding":
            return [f"total = sum(round(v / 1000, 1) for v in [{listed}])", 'answer = f"{total * 1000:,.0f}"']
        return [f"total = sum([{listed}])", 'answer = f"{total:,}"']
    if kind == "difference":
        a, b = names
        if variant == "rounding":
            return [f"diff = round({a} / 1000, 1) - round({b} / 1000, 1)", 'answer = f"{diff * 1000:,.0f}"']
        return [f"diff = {a} - {b}", 'answer = f"{diff:,}"']
    if kind == "share":
        a, b = names
        if variant == "rounding":
            return [f"share = round({a} / {b}, 2) * 100", 'answer = f"{share:.1f}%"']
        return [f"share = {a} / {b} * 100", 'answer = f"{share:.1f}%"']
    if kind == "combined_millions":
        a, b = names
        if variant == "rounding":
            return [f"combined = (round({a}) + round({b})) * 1000", 'answer = f"{combined:,.0f}"']
        if variant == "no_convert":
            return [f"combined = {a} + {b}", 'answer = f"{combined:,.1f}"']
        return [f"combined = ({a} + {b}) * 1000", 'answer = f"{combined:,.0f}"']
    raise ValueError(kind)


def evaluate(
    kind: Kind, names: Sequence[str], values: Sequence[int | float], variant: Variant = "correct"
) -> str:
    """Run ``formula`` on ``values`` and return ``answer``."""
    bind = "\n".join(f"{n} = {v!r}" for n, v in zip(names, values, strict=True))
    code = bind + "\n" + "\n".join(formula(kind, names, variant)) + "\nprint(answer)"
    return run_code(code, {})


def reformat_answer(answer: str, kind: Kind, rng: random.Random) -> str:
    """The answer in a format the question did not ask for (same number)."""
    if answer.endswith("%"):
        return rng.choice([answer[:-1], answer[:-1] + " percent"])
    bare = answer.replace(",", "")
    unit = "billion" if kind == "quarter_total" else "million"
    options = [f"${answer} {unit}", f"{answer} {unit}"]
    if bare != answer:
        options.append(bare)
    return rng.choice(options)


# -- building questions ----------------------------------------------------------------------------

_PRELIM_MOY = (2, 5, 8, 11)


def _pick_month(
    rng: random.Random, prefer_prelim: bool, first: Month = (1987, 1), last: Month = (1988, 9)
) -> Month:
    span = (last[0] * 12 + last[1]) - (first[0] * 12 + first[1]) + 1
    months = [add_months(first, i) for i in range(span)]
    if prefer_prelim:
        months = [m for m in months if m[1] in _PRELIM_MOY]
    return rng.choice(months)


def _finish(
    corpus: Corpus, task_id: str, kind: Kind, text: str, needs: Sequence[Need], query_extra: str
) -> Question:
    values = [corpus.true_value(n.metric.table, n.month, n.metric.column) for n in needs]
    names = [n.var for n in needs]
    truth = evaluate(kind, names, values)
    spec = SPEC_BY_CODE[needs[0].metric.table]
    query = f"{spec.title} {needs[0].metric.phrase} {query_extra}"
    return Question(task_id, kind, f"{text} {_FORMAT_HINT[kind]}", tuple(needs), truth, query)


def make_question(corpus: Corpus, task_id: str, kind: Kind, rng: random.Random) -> Question:
    """A random question of ``kind`` whose figures all exist (revised) in the corpus."""
    prelim = rng.random() < 0.6
    if kind == "pct_change":
        metric = METRICS[rng.choice(_CHANGES)]
        m2 = _pick_month(rng, prelim, first=(1987, 7))
        m1 = add_months(m2, -rng.choice([1, 2, 3, 4, 6, 12]))
        text = (
            f"According to the Treasury Bulletins, by what percentage did {metric.phrase} change from "
            f"{month_name(m1)} to {month_name(m2)}, using the final revised figures?"
        )
        return _finish(
            corpus,
            task_id,
            kind,
            text,
            [Need(metric, m1), Need(metric, m2)],
            f"{month_name(m1)} {month_name(m2)}",
        )
    if kind == "quarter_total":
        metric = METRICS[rng.choice(_FLOWS)]
        year = rng.choice([1987, 1988])
        q = rng.choice([1, 2] if year == 1988 else [1, 2, 3, 4])
        months = [(year, 3 * (q - 1) + i) for i in (1, 2, 3)]
        ordinal = ("first", "second", "third", "fourth")[q - 1]
        text = (
            f"What were {metric.phrase} in total over the {ordinal} quarter of calendar year {year} "
            f"({month_name(months[0]).split()[0]} through {month_name(months[2])}), using the final revised "
            "monthly figures from the Treasury Bulletins?"
        )
        return _finish(
            corpus,
            task_id,
            kind,
            text,
            [Need(metric, m) for m in months],
            " ".join(month_name(m) for m in months),
        )
    if kind == "cumulative":
        metric = METRICS[rng.choice(_FLOWS)]
        fy = rng.choice([1987, 1988])
        start = (fy - 1, 10)
        months = [add_months(start, i) for i in range(rng.choice([5, 6, 7, 8]))]
        text = (
            f"What were cumulative {metric.phrase} for fiscal year {fy} through {month_name(months[-1])} "
            f"(that is, {month_name(start)} through {month_name(months[-1])}), summing the final revised "
            "monthly figures in the Treasury Bulletins?"
        )
        return _finish(
            corpus,
            task_id,
            kind,
            text,
            [Need(metric, m) for m in months],
            f"fiscal year {fy} {month_name(start)} {month_name(months[-1])}",
        )
    if kind == "difference":
        a, b, template = rng.choice(_DIFFERENCES)
        month = _pick_month(rng, prelim)
        ma, mb = METRICS[a], METRICS[b]
        text = (
            "According to the Treasury Bulletins' final revised figures, "
            + _lower_first(template).format(a=ma.phrase, b=mb.phrase, m=month_name(month))
            + "?"
        )
        return _finish(
            corpus,
            task_id,
            kind,
            text,
            [Need(ma, month), Need(mb, month)],
            f"{mb.phrase} {month_name(month)}",
        )
    if kind == "share":
        a, b, template = rng.choice(_SHARES)
        month = _pick_month(rng, prelim)
        ma, mb = METRICS[a], METRICS[b]
        text = (
            template.format(a=ma.phrase, b=mb.phrase, m=month_name(month))
            + ", according to the final revised Treasury Bulletin figures?"
        )
        return _finish(
            corpus,
            task_id,
            kind,
            text,
            [Need(ma, month), Need(mb, month)],
            f"{mb.phrase} {month_name(month)}",
        )
    a, b = rng.choice(_COMBINED)
    month = _pick_month(rng, prelim)
    ma, mb = METRICS[a], METRICS[b]
    text = (
        f"What were the combined {ma.phrase.removeprefix('holdings of ')} and {mb.phrase.removeprefix('holdings of ')} "
        f"holdings of public debt securities at the end of {month_name(month)}, in millions of dollars, "
        "according to the final revised Treasury Bulletin estimates?"
    )
    return _finish(
        corpus, task_id, kind, text, [Need(ma, month), Need(mb, month)], f"{mb.phrase} {month_name(month)}"
    )


def make_trap_question(corpus: Corpus, task_id: str, defect: Defect, rng: random.Random) -> Question:
    """A question whose natural source is the defective table of ``defect``.

    The months asked are the first two rows of the defective table: the newest issue that prints
    them, and also printed (correctly) in the issue before.
    """
    table = corpus.table(defect.doc_id, defect.table)
    first, second = table.months[0], table.months[1]
    candidates = [m for m in METRICS.values() if m.table == defect.table]
    if defect.kind == "misprint":
        assert defect.month is not None
        metric = next(m for m in candidates if m.column == defect.column)
        other = second if defect.month == first else first
        m1, m2 = sorted([defect.month, other])
        text = (
            f"According to the Treasury Bulletins, by what percentage did {metric.phrase} change from "
            f"{month_name(m1)} to {month_name(m2)}, using the final revised figures?"
        )
        return _finish(
            corpus,
            task_id,
            "pct_change",
            text,
            [Need(metric, m1), Need(metric, m2)],
            f"{month_name(m1)} {month_name(m2)}",
        )
    kinds: list[Kind] = ["pct_change"]
    if any(METRICS[a].table == defect.table for a, _, _ in _DIFFERENCES):
        kinds.append("difference")
    if any(METRICS[a].table == defect.table for a, _, _ in _SHARES):
        kinds.append("share")
    kind = rng.choice(kinds)
    if kind == "pct_change":
        metric = rng.choice([m for m in candidates if m.key in _CHANGES] or candidates)
        text = (
            f"According to the Treasury Bulletins, by what percentage did {metric.phrase} change from "
            f"{month_name(first)} to {month_name(second)}, using the final revised figures?"
        )
        return _finish(
            corpus,
            task_id,
            kind,
            text,
            [Need(metric, first), Need(metric, second)],
            f"{month_name(first)} {month_name(second)}",
        )
    month = rng.choice([first, second])
    pairs = _DIFFERENCES if kind == "difference" else _SHARES
    options = [(a, b, t) for a, b, t in pairs if METRICS[a].table == defect.table]
    a, b, template = rng.choice(options)
    ma, mb = METRICS[a], METRICS[b]
    if kind == "difference":
        text = (
            "According to the Treasury Bulletins' final revised figures, "
            + _lower_first(template).format(a=ma.phrase, b=mb.phrase, m=month_name(month))
            + "?"
        )
    else:
        text = (
            template.format(a=ma.phrase, b=mb.phrase, m=month_name(month))
            + ", according to the final revised Treasury Bulletin figures?"
        )
    return _finish(
        corpus, task_id, kind, text, [Need(ma, month), Need(mb, month)], f"{mb.phrase} {month_name(month)}"
    )
