"""What a scripted solver sets out to do, and the failure modes that bend it.

A ``Plan`` lists the tables the solver reads and, for each figure the question needs, the table,
row and column it takes the figure from. The correct plan reads the fewest issues that print every
figure in its final form. Each failure mode is a small, realistic change to that plan (another
issue, a look-alike table, the preliminary copy, the neighbouring column, a retyped number...);
running the changed plan against the corpus produces the failure, so its traces are real.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from memex_audit.samples._corpus import Corpus
from memex_audit.samples._questions import Need, Question, Variant
from memex_audit.samples._tables import MONTH_ABBR, SPECS, Column, Table, month_label

CATEGORY_OF_MODE: dict[str, str] = {
    "wrong_bulletin": "source_selection",
    "wrong_table": "source_selection",
    "duplicated_table": "source_selection",
    "corrupted_table": "source_selection",
    "preliminary_value": "interpretation",
    "wrong_column": "interpretation",
    "misread_units": "interpretation",
    "stopped_early": "search_strategy",
    "wandered": "search_strategy",
    "retyped_number": "execution",
    "rounding": "execution",
    "answer_format": "execution",
}

# Errors per category in the OfficeQA audit of Qwen 3.6 27B (MemEx vs Tool Calling): the planted
# failures follow the same mix.
CATEGORY_WEIGHTS: dict[str, dict[str, float]] = {
    "memex": {"source_selection": 32, "interpretation": 28, "search_strategy": 6, "execution": 3},
    "tool_calling": {"source_selection": 45, "interpretation": 38, "search_strategy": 15, "execution": 6},
}
MODE_WEIGHTS: dict[str, dict[str, float]] = {
    "memex": {
        "wrong_bulletin": 1.0,
        "wrong_table": 1.0,
        "preliminary_value": 1.3,
        "wrong_column": 1.0,
        "misread_units": 0.7,
        "stopped_early": 2.0,
        "wandered": 1.0,
        "retyped_number": 0.3,
        "rounding": 1.0,
        "answer_format": 1.0,
    },
    "tool_calling": {
        "wrong_bulletin": 1.0,
        "wrong_table": 1.0,
        "preliminary_value": 1.3,
        "wrong_column": 1.0,
        "misread_units": 0.7,
        "stopped_early": 2.0,
        "wandered": 1.0,
        "retyped_number": 2.0,
        "rounding": 0.7,
        "answer_format": 0.7,
    },
}


@dataclass(frozen=True)
class Pick:
    """Where the solver takes one needed figure from."""

    need: Need
    doc_id: str
    table: str
    column: Column
    row: str
    """The row label it asks for: ``Feb 1988``, or just ``Feb`` when it matches loosely."""


@dataclass
class Plan:
    """The reads, the picks and the computation a solver carries out.

    Attributes:
        reads: ``(doc_id, table)`` pairs, in the order read.
        picks: Where each figure is taken from (fewer than the needs when the solver stops early).
        variant: The computation (``correct``, ``no_convert``, ``rounding``).
        retype: Index of the pick whose number is retyped wrongly into the computation.
        answer_format: Whether the final answer is restated in the wrong format.
        wander: An extra read after the answer was in hand, whose figures replace ``wander_picks``.
        wander_picks: The picks taken from the wander read.
        checked: A read the solver compared against and rejected (its figures are not used).
        mode: The planted failure mode, or ``None`` for a correct rollout.
        target: The ``(doc_id, table)`` read that carries the fault, for modes about a source.
    """

    reads: list[tuple[str, str]]
    picks: list[Pick]
    variant: Variant = "correct"
    retype: int | None = None
    answer_format: bool = False
    wander: tuple[str, str] | None = None
    wander_picks: list[Pick] = field(default_factory=list)
    checked: tuple[str, str] | None = None
    mode: str | None = None
    target: tuple[str, str] | None = None


def _cover(question: Question, corpus: Corpus, needs: list[Need]) -> list[tuple[Table, list[Need]]]:
    """The fewest issues printing every need in final form (greedy; newer issue on ties)."""
    remaining = list(needs)
    chosen: list[tuple[Table, list[Need]]] = []
    while remaining:
        best: tuple[int, int, Table] | None = None
        for order, b in enumerate(corpus.bulletins):
            table = b.tables[question.table]
            covered = sum(1 for n in remaining if table in corpus.final_tables(question.table, n.month))
            if covered and (best is None or (covered, order) > (best[0], best[1])):
                best = (covered, order, table)
        if best is None:
            raise ValueError(f"{question.task_id}: no final source for {[n.var for n in remaining]}")
        table = best[2]
        got = [n for n in remaining if table in corpus.final_tables(question.table, n.month)]
        chosen.append((table, got))
        remaining = [n for n in remaining if n not in got]
    chosen.sort(key=lambda item: corpus.bulletins.index(corpus.bulletin(item[0].doc_id)))
    return chosen


def _picks(table: Table, needs: list[Need], *, code: str | None = None, loose: bool = False) -> list[Pick]:
    return [
        Pick(
            n,
            table.doc_id,
            code or table.code,
            n.metric.column,
            MONTH_ABBR[n.month[1] - 1] if loose else month_label(n.month),
        )
        for n in needs
    ]


def _ordered(question: Question, picks: list[Pick]) -> list[Pick]:
    order = {n: i for i, n in enumerate(question.needs)}
    return sorted(picks, key=lambda p: order[p.need])


def correct_plan(question: Question, corpus: Corpus) -> Plan:
    """Read the fewest issues that print every needed figure in its final, revised form."""
    cover = _cover(question, corpus, list(question.needs))
    picks = [p for table, got in cover for p in _picks(table, got)]
    return Plan([(t.doc_id, t.code) for t, _ in cover], _ordered(question, picks))


def _lookalike(code: str) -> str | None:
    return next((s.code for s in SPECS if s.lookalike_of == code), None)


def faulty_plan(mode: str, question: Question, corpus: Corpus, rng: random.Random) -> Plan | None:
    """The correct plan bent by ``mode``; ``None`` when the mode cannot happen on this question."""
    base = correct_plan(question, corpus)
    cover = _cover(question, corpus, list(question.needs))
    if mode == "wrong_bulletin":
        table, got = rng.choice(cover)
        earlier = corpus.year_earlier(table.doc_id)
        if earlier is None:
            return None
        wrong = earlier.tables[question.table]
        return _swap(question, cover, table, _picks(wrong, got, loose=True), (wrong.doc_id, wrong.code), mode)
    if mode == "wrong_table":
        alt = _lookalike(question.table)
        if alt is None:
            return None
        table, got = rng.choice(cover)
        wrong = corpus.table(table.doc_id, alt)
        return _swap(question, cover, table, _picks(wrong, got), (wrong.doc_id, wrong.code), mode)
    if mode in ("duplicated_table", "corrupted_table"):
        kind = "duplicated" if mode == "duplicated_table" else "misprint"
        for need in question.needs:
            for table in corpus.tables_with(question.table, need.month):
                if table.defect is not None and table.defect.kind == kind:
                    return _read_first(question, corpus, table, mode)
        return None
    if mode == "preliminary_value":
        prelim = [
            t
            for n in question.needs
            if (t := corpus.preliminary_table(question.table, n.month)) is not None and t.defect is None
        ]
        return _read_first(question, corpus, rng.choice(prelim), mode) if prelim else None
    if mode == "wrong_column":
        metrics = sorted({n.metric.key for n in question.needs})
        key = rng.choice(metrics)
        picks = [
            replace(p, column=p.need.metric.confusable) if p.need.metric.key == key else p for p in base.picks
        ]
        return replace(base, picks=picks, mode=mode)
    if mode == "misread_units":
        return replace(base, variant="no_convert", mode=mode) if question.converts_units else None
    if mode == "stopped_early":
        if question.kind not in ("cumulative", "quarter_total") or len(cover) < 2:
            return None
        dropped = min(cover, key=lambda c: len(c[1]))
        kept = [c for c in cover if c is not dropped]
        picks = [p for table, got in kept for p in _picks(table, got)]
        return Plan([(t.doc_id, t.code) for t, _ in kept], _ordered(question, picks), mode=mode)
    if mode == "wandered":
        table, got = rng.choice(cover)
        alt = _lookalike(question.table)
        options: list[Table] = []
        if alt is not None:
            options.append(corpus.table(table.doc_id, alt))
        for n in got:
            p = corpus.preliminary_table(question.table, n.month)
            if p is not None and p.defect is None and p not in options:
                options.append(p)
        if not options:
            return None
        extra = rng.choice(options)
        switched = [n for n in got if n.month in extra.months]
        return replace(
            base,
            wander=(extra.doc_id, extra.code),
            wander_picks=_picks(extra, switched),
            mode=mode,
            target=(extra.doc_id, extra.code),
        )
    if mode == "retyped_number":
        return replace(base, retype=rng.randrange(len(base.picks)), mode=mode)
    if mode == "rounding":
        return replace(base, variant="rounding", mode=mode)
    if mode == "answer_format":
        return replace(base, answer_format=True, mode=mode)
    raise ValueError(f"unknown failure mode {mode!r}")


def _swap(
    question: Question,
    cover: list[tuple[Table, list[Need]]],
    old: Table,
    new_picks: list[Pick],
    target: tuple[str, str],
    mode: str,
) -> Plan:
    reads = [target if t is old else (t.doc_id, t.code) for t, _ in cover]
    picks = [p for t, got in cover if t is not old for p in _picks(t, got)] + new_picks
    return Plan(reads, _ordered(question, picks), mode=mode, target=target)


def _read_first(question: Question, corpus: Corpus, table: Table, mode: str) -> Plan:
    """Take every need ``table`` prints from it, the rest from final sources."""
    got = [n for n in question.needs if n.month in table.months]
    rest = [n for n in question.needs if n not in got]
    cover = _cover(question, corpus, rest) if rest else []
    reads = [(table.doc_id, table.code)] + [(t.doc_id, t.code) for t, _ in cover]
    picks = _picks(table, got) + [p for t, g in cover for p in _picks(t, g)]
    return Plan(reads, _ordered(question, picks), mode=mode, target=(table.doc_id, table.code))


def mode_order(harness: str, rng: random.Random) -> list[str]:
    """Failure modes to try, most wanted first: a category drawn by the audit's weights, then the rest."""
    categories = dict(CATEGORY_WEIGHTS[harness])
    weights = MODE_WEIGHTS[harness]
    order: list[str] = []
    while categories:
        names = list(categories)
        category = rng.choices(names, weights=[categories[n] for n in names])[0]
        del categories[category]
        modes = [m for m, c in CATEGORY_OF_MODE.items() if c == category and m in weights]
        while modes:
            mode = rng.choices(modes, weights=[weights[m] for m in modes])[0]
            modes.remove(mode)
            order.append(mode)
    return order
