"""The human label of a planted failure: category, the step where it happens, and quoted evidence.

Built after the rollout ran, from the facts the solver recorded on the way (which step read which
table, which step computed, what it typed), so every quote is checked to be in the step it cites.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from memex_audit.samples._corpus import Corpus
from memex_audit.samples._plans import CATEGORY_OF_MODE, Pick, Plan
from memex_audit.samples._questions import Question
from memex_audit.samples._tables import Table, month_label
from memex_audit.samples._tools import match_month
from memex_audit.trajectory import HumanLabel


@dataclass
class RunFacts:
    """Where things happened in the recorded steps, for the label's evidence."""

    read_call: dict[tuple[str, str], int] = field(default_factory=dict)
    read_output: dict[tuple[str, str], int] = field(default_factory=dict)
    compute: list[int] = field(default_factory=list)
    compute_output: list[int] = field(default_factory=list)
    pick_lines: dict[int, str] = field(default_factory=dict)
    formula_lines: list[str] = field(default_factory=list)
    retyped: tuple[str, str] | None = None
    used_lines: list[str] = field(default_factory=list)
    final: int = -1


def cell_text(table: Table, pick: Pick) -> str:
    """The figure a pick reads, as the table prints it."""
    return table.cell_text(match_month(table, pick.row), pick.column)


def planted_label(
    plan: Plan, q: Question, corpus: Corpus, f: RunFacts, final_answer: str | None
) -> HumanLabel:
    """The label of the failure ``plan.mode`` planted, with evidence taken from the recorded ``f``."""
    mode = plan.mode
    assert mode is not None
    evidence: list[tuple[int, str]] = []
    if mode in (
        "wrong_bulletin",
        "wrong_table",
        "preliminary_value",
        "duplicated_table",
        "corrupted_table",
    ):
        assert plan.target is not None
        doc_id, code = plan.target
        table = corpus.table(doc_id, code)
        title = corpus.bulletin(doc_id).title
        step, out = f.read_call[plan.target], f.read_output[plan.target]
        picks = [p for p in plan.picks if (p.doc_id, p.table) == plan.target]
        evidence.append((step, code if mode == "wrong_table" else doc_id))
        first = picks[0]
        shown = cell_text(table, first)
        true = corpus.true_value(q.table, first.need.month, first.need.metric.column)
        true_text = table.spec.fmt(round(true * 10) if table.spec.decimals else int(true))
        if mode == "wrong_bulletin":
            wrong_month = match_month(table, first.row)
            reason = (
                f"Read {code} from the {title}, which covers {corpus.bulletin(doc_id).period}, and took its "
                f"{month_label(wrong_month)} row ({shown}) for {month_label(first.need.month)} "
                f"(final figure {true_text})."
            )
        elif mode == "wrong_table":
            reason = (
                f"Used the look-alike table {code} ({table.spec.title}) instead of {q.table}: "
                f"{month_label(first.need.month)} reads {shown} there, {true_text} in {q.table}."
            )
            evidence.append((out, table.spec.title))
        elif mode == "preliminary_value":
            p = next(p for p in picks if (r := table.row(p.need.month)) is not None and r.marker == "p")
            row_label = table.row_label(table.months.index(p.need.month)).split(" - ")[-1].strip()
            evidence.append((out, row_label))
            final = corpus.true_value(q.table, p.need.month, p.need.metric.column)
            reason = (
                f"Took {p.need.metric.phrase} for {month_label(p.need.month)} from the {title}, where it "
                f"is preliminary (p) at {cell_text(table, p)}; the next issue revises it to "
                f"{table.spec.fmt(round(final * 10) if table.spec.decimals else int(final))}."
            )
        else:
            row = table.row(first.need.month)
            assert row is not None and table.defect is not None
            cells = " ".join(table.spec.fmt(v) for v in row.values[:3])
            evidence.append((out, cells))
            if mode == "duplicated_table":
                older = corpus.bulletin(table.defect.copied_from or "").title
                reason = (
                    f"Read {code} from the {title}, a duplicated table that repeats the {older}'s rows under "
                    f"new month labels; {month_label(first.need.month)} shows {shown} instead of {true_text}."
                )
            else:
                reason = (
                    f"Read {code} from the {title}, where the {month_label(first.need.month)} row has a "
                    f"misprinted cell and does not add up; used {shown} instead of {true_text}."
                )
        faulty = step
    elif mode == "wrong_column":
        faulty = f.compute[0]
        index = next(i for i, p in enumerate(plan.picks) if p.column != p.need.metric.column)
        pick = plan.picks[index]
        table = corpus.table(pick.doc_id, pick.table)
        evidence.append((faulty, f.pick_lines[index]))
        evidence.append((f.read_output[(pick.doc_id, pick.table)], cell_text(table, pick)))
        reason = (
            f"Took {pick.column.label} ({cell_text(table, pick)}) for {pick.need.metric.phrase} "
            f"({pick.need.metric.column.label}) in {month_label(pick.need.month)}."
        )
    elif mode == "misread_units":
        faulty = f.compute[0]
        fmt_part = f.formula_lines[-1].split('f"', 1)[-1].rstrip('"')
        evidence.append((faulty, fmt_part))
        target_unit = "billions" if q.kind == "quarter_total" else "millions"
        reason = f"The table is in {corpus.table(plan.picks[0].doc_id, q.table).spec.unit} of dollars; the answer was asked in {target_unit} but the figure was never converted."
    elif mode == "stopped_early":
        faulty = f.compute[0]
        evidence.append((faulty, f.formula_lines[0]))
        missing = [n for n in q.needs if n not in {p.need for p in plan.picks}]
        reason = (
            f"Summed only {len(plan.picks)} of the {len(q.needs)} months; never opened an issue with "
            f"{', '.join(month_label(n.month) for n in missing)}."
        )
    elif mode == "wandered":
        assert plan.wander is not None
        faulty = f.read_call[plan.wander]
        evidence.append((faulty, plan.wander[1] if plan.wander[1] != q.table else plan.wander[0]))
        evidence.append((f.compute_output[0], q.ground_truth))
        reason = (
            f"Had computed {q.ground_truth} from the right table, then kept browsing ({plan.wander[1]} in "
            f"{plan.wander[0]}) and switched to its figures."
        )
    elif mode == "retyped_number":
        assert f.retyped is not None and plan.retype is not None
        faulty = f.compute[0]
        pick = plan.picks[plan.retype]
        shown, typed = f.retyped
        evidence.append((f.read_output[(pick.doc_id, pick.table)], shown))
        evidence.append((faulty, f.pick_lines[plan.retype]))
        reason = f"The table shows {shown} for {month_label(pick.need.month)}; it was retyped as {typed} in the computation."
    elif mode == "rounding":
        faulty = f.compute[0]
        evidence.append((faulty, f.formula_lines[0]))
        reason = "Rounded an intermediate result before the final computation, which changes the answer's last digit."
    elif mode == "answer_format":
        faulty = f.final
        evidence.append((f.compute_output[-1], q.ground_truth))
        evidence.append((faulty, final_answer or ""))
        reason = f"Computed {q.ground_truth} but answered {final_answer!r}, not in the format the question asked for."
    else:
        raise ValueError(mode)
    return HumanLabel(
        taxonomy="memex",
        category=CATEGORY_OF_MODE[mode],
        faulty_step=faulty,
        reason=reason,
        annotator="synthetic-generator",
        metadata={"mode": mode, "evidence": [{"step": s, "quote": t} for s, t in evidence]},
    )
