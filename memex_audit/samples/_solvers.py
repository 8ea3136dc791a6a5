"""Scripted solvers that carry out a ``Plan`` with the real tools and record what happened.

The MemEx-style solver writes code blocks that call the tools as Python functions, keeps the tables
as objects and takes figures with ``TableView.value``; each step holds the code and what it
printed. The Tool-Calling-style solver issues JSON tool calls, reads the tables as text, and
transcribes the figures it needs into a ``python_exec`` call, the way a tool-calling agent must.
Both really run against the corpus: answers are whatever the executed code printed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from memex_audit.samples._corpus import Corpus
from memex_audit.samples._labels import RunFacts, cell_text, planted_label
from memex_audit.samples._plans import Pick, Plan
from memex_audit.samples._questions import Question, formula, reformat_answer
from memex_audit.samples._record import MODEL, Recorder
from memex_audit.samples._tables import month_label
from memex_audit.samples._tools import run_code, toolbox_for
from memex_audit.trajectory import HumanLabel, Outcome, ToolCall, Trajectory

Harness = Literal["memex", "tool_calling"]

_KIND_PHRASE = {
    "pct_change": "percentage change",
    "quarter_total": "quarterly total in billions",
    "cumulative": "fiscal-year-to-date total",
    "difference": "difference",
    "share": "share",
    "combined_millions": "combined holdings in millions",
}


@cache
def solver_prompt(harness: Harness) -> str:
    """The system prompt of a sample solver (kept in ``samples/prompts``)."""
    return (
        resources.files("memex_audit.samples").joinpath("prompts", f"{harness}_solver.md").read_text("utf-8")
    )


@dataclass(frozen=True)
class RolloutSpec:
    """Who this rollout is: ids, study, harness, and the seed it was drawn from."""

    trajectory_id: str
    task_id: str
    study: str
    rollout: int
    harness: Harness
    seed: int
    day_offset: int = 0


def retype_number(shown: str, rng: random.Random) -> str:
    """A number as a hurried transcription gets it wrong: one digit changed or two swapped."""
    digits = shown.replace(",", "")
    places = [i for i, ch in enumerate(digits) if ch.isdigit() and i > 0]
    for _ in range(50):
        i = rng.choice(places)
        chars = list(digits)
        if rng.random() < 0.4 and i + 1 < len(chars) and chars[i + 1].isdigit() and chars[i] != chars[i + 1]:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        else:
            neighbour = chars[i - 1] if chars[i - 1].isdigit() else "5"
            chars[i] = neighbour if neighbour != chars[i] else str((int(chars[i]) + rng.randint(1, 8)) % 10)
        typed = "".join(chars)
        if typed != digits:
            return typed
    return digits + "1"


def _months_text(picks: list[Pick]) -> str:
    months = sorted({p.need.month for p in picks})
    if len(months) > 2:
        return f"{month_label(months[0])} through {month_label(months[-1])}"
    return " and ".join(month_label(m) for m in months)


def _rows(picks: list[Pick]) -> list[str]:
    """The distinct row labels the picks ask for, in order."""
    return list(dict.fromkeys(p.row for p in picks))


class _Run:
    """One rollout in progress: the recorder, the plan, the facts gathered on the way."""

    def __init__(self, spec: RolloutSpec, question: Question, corpus: Corpus, plan: Plan, rng: random.Random):
        self.spec, self.question, self.corpus, self.plan, self.rng = spec, question, corpus, plan, rng
        self.tools = toolbox_for(corpus)
        self.rec = Recorder(rng, day_offset=spec.day_offset)
        self.facts = RunFacts()
        self.rec.message("system", solver_prompt(spec.harness))
        self.rec.message("user", question.text)

    # -- narration ---------------------------------------------------------------------------

    def search_text(self) -> str:
        q = self.question
        phrases = sorted({n.metric.phrase for n in q.needs})
        options = [
            f"I need {' and '.join(phrases)} for {_months_text([Pick(n, '', '', n.metric.column, '') for n in q.needs])}. "
            "Let me find which bulletin tables report them.",
            f"First, locate the tables that report {' and '.join(phrases)}.",
        ]
        return self.rng.choice(options)

    def read_text(self, key: tuple[str, str], picks: list[Pick]) -> str:
        doc_id, code = key
        bulletin = self.corpus.bulletin(doc_id)
        table = bulletin.tables[code]
        if self.plan.checked is not None:
            return (
                f"{bulletin.title} prints {code} for {bulletin.period}. Reading it in full so I can compare "
                "issues that print the same months."
            )
        if self.plan.mode == "wrong_bulletin" and key == self.plan.target:
            return f"{bulletin.title} has the {', '.join(_rows(picks))} rows in {code}; reading it."
        if self.plan.mode == "wrong_table" and key == self.plan.target:
            return f"{table.spec.title} ({code}) in {bulletin.title} has the columns I need."
        if self.plan.mode in ("duplicated_table", "corrupted_table") and key == self.plan.target:
            return f"{bulletin.title} is the latest issue that prints {_months_text(picks)}; reading {code}."
        if self.plan.mode == "preliminary_value" and key == self.plan.target:
            return f"{bulletin.title} covers {bulletin.period}, which includes {_months_text(picks)}."
        return self.rng.choice(
            [
                f"{bulletin.title} reports {bulletin.period}; its {code} table has {_months_text(picks)}.",
                f"Reading {code} from {bulletin.title} for {_months_text(picks)}.",
            ]
        )

    def compute_text(self) -> str:
        plan, q = self.plan, self.question
        if plan.checked is not None:
            return self.checked_note()
        if plan.mode == "stopped_early":
            return f"The tables I have give {_months_text(plan.picks)}; summing those months."
        return f"Now compute the {_KIND_PHRASE[q.kind]} from these figures."

    def checked_note(self) -> str:
        assert self.plan.checked is not None
        bad = self.corpus.table(*self.plan.checked)
        defect = bad.defect
        newer = self.corpus.bulletin(bad.doc_id).title
        if defect is not None and defect.kind == "duplicated" and defect.copied_from:
            older = self.corpus.bulletin(defect.copied_from).title
            label = month_label(bad.months[0])
            cells = " ".join(bad.spec.fmt(v) for v in bad.rows[0].values[:3])
            return (
                f"The {bad.code} table in the {newer} repeats the rows of the {older} under new month "
                f"labels ({label}: {cells} is the {older}'s first row), and it disagrees with the months the "
                "two issues share. That copy looks duplicated, so I take the figures from the other issue."
            )
        if defect is not None and defect.column is not None and defect.month is not None:
            return (
                f"In the {newer}, the {month_label(defect.month)} row of {bad.code} does not add up "
                f"({defect.column.label} is printed as {bad.spec.fmt(defect.printed or 0)}); the other issue's "
                "row is consistent, so I use that one."
            )
        return "The two issues disagree; using the consistent one."

    def wander_text(self) -> str:
        assert self.plan.wander is not None
        doc_id, code = self.plan.wander
        title = self.corpus.table(doc_id, code).spec.title
        return f"Before answering, let me cross-check against {title} ({code}) in the {self.corpus.bulletin(doc_id).title}."

    def rewander_text(self) -> str:
        assert self.plan.wander is not None
        doc_id, code = self.plan.wander
        months = _months_text(self.plan.wander_picks)
        table = self.corpus.table(doc_id, code)
        if table.spec.lookalike_of is not None:
            return f"{code} gives slightly different figures for {months}; it is the more detailed daily basis, so I'll recompute with those."
        return f"The {self.corpus.bulletin(doc_id).title} prints different figures for {months}; recomputing with them."

    # -- result --------------------------------------------------------------------------------

    def label(self, final_answer: str | None) -> HumanLabel:
        return planted_label(self.plan, self.question, self.corpus, self.facts, final_answer)

    def trajectory(self, final_answer: str | None, submitted: str | None) -> Trajectory:
        q, spec = self.question, self.spec
        correct = final_answer == q.ground_truth
        labels = [self.label(final_answer)] if self.plan.mode is not None and not correct else []
        return Trajectory(
            id=spec.trajectory_id,
            task_id=spec.task_id,
            question=q.text,
            ground_truth=q.ground_truth,
            final_answer=final_answer,
            submitted=submitted,
            outcome=Outcome(
                correct=correct, score=1.0 if correct else 0.0, details={"grader": "strict_match"}
            ),
            harness=spec.harness,
            model=MODEL,
            steps=self.rec.steps,
            usage=self.rec.total_usage(),
            labels=labels,
            metadata={
                "study": spec.study,
                "rollout": spec.rollout,
                "synthetic": True,
                "generator": "memex_audit.samples",
                "seed": spec.seed,
                "corpus": "synthetic Treasury bulletins",
            },
        )

    def picks_by_read(self) -> dict[tuple[str, str], list[Pick]]:
        out: dict[tuple[str, str], list[Pick]] = {key: [] for key in self.plan.reads}
        for p in self.plan.picks:
            out.setdefault((p.doc_id, p.table), []).append(p)
        return out


def run_rollout(
    spec: RolloutSpec, question: Question, corpus: Corpus, plan: Plan, rng: random.Random
) -> Trajectory:
    """Carry out ``plan`` as the solver of ``spec.harness`` and record the rollout."""
    run = _Run(spec, question, corpus, plan, rng)
    return _run_memex(run) if spec.harness == "memex" else _run_tool_calling(run)


# -- MemEx-style -------------------------------------------------------------------------------


def _run_memex(run: _Run) -> Trajectory:
    plan, q, rec, rng, facts = run.plan, run.question, run.rec, run.rng, run.facts
    ns = run.tools.namespace()
    submitted: list[str] = []

    def submit(value: object) -> None:
        submitted.append(str(value))
        print(f"submitted: {value!r}")

    ns["submit"] = submit
    code = f"hits = search({q.search_query!r})\nfor h in hits[:4]:\n    print(h)"
    rec.assistant(
        text=run.search_text(), code=code, output=run_code(code, ns), tool_s=rec.tool_seconds("search")
    )
    if rng.random() < 0.2:
        doc = plan.reads[0][0]
        code = f"print(open_document({doc!r}))"
        rec.assistant(
            text=f"Check what the {run.corpus.bulletin(doc).title} contains.",
            code=code,
            output=run_code(code, ns),
        )

    by_read = run.picks_by_read()
    names = {key: f"t{i + 1}" for i, key in enumerate(plan.reads)}
    # MemEx prints only the rows it needs, unless it has a reason to look at the whole table.
    whole = (
        plan.checked is not None
        or plan.mode in ("duplicated_table", "corrupted_table")
        or rng.random() < 0.15
    )
    blocks: list[tuple[list[tuple[str, str]], str, str]] = []
    for key in plan.reads:
        picks = by_read.get(key, [])
        show = (
            f"print({names[key]})" if whole or not picks else f"print({names[key]}.select({_rows(picks)!r}))"
        )
        blocks.append(
            ([key], f"{names[key]} = read_table({key[0]!r}, {key[1]!r})\n{show}", run.read_text(key, picks))
        )
    if len(blocks) > 1 and plan.checked is None and rng.random() < 0.4:
        blocks = [
            (
                [k for b in blocks for k in b[0]],
                "\n".join(b[1] for b in blocks),
                "Load the tables I need in one go.",
            )
        ]
    for keys, code, text in blocks:
        step = rec.assistant(
            text=text, code=code, output=run_code(code, ns), tool_s=rec.tool_seconds("read_table")
        )
        for key in keys:
            facts.read_call[key] = facts.read_output[key] = step

    lines: list[str] = []
    for i, p in enumerate(plan.picks):
        table = run.corpus.table(p.doc_id, p.table)
        if plan.retype == i:
            shown = cell_text(table, p)
            typed = retype_number(shown, rng)
            facts.retyped = (shown, typed)
            line = f"{p.need.var} = {typed}  # {month_label(p.need.month)}, from the table above"
        else:
            line = f"{p.need.var} = {names[(p.doc_id, p.table)]}.value({p.row!r}, {p.column.group!r}, {p.column.sub!r})"
        facts.pick_lines[i] = line
        lines.append(line)
    facts.formula_lines = formula(q.kind, [p.need.var for p in plan.picks], plan.variant)
    code = "\n".join([*lines, *facts.formula_lines, "print(answer)"])
    step = rec.assistant(text=run.compute_text(), code=code, output=run_code(code, ns))
    facts.compute.append(step)
    facts.compute_output.append(step)

    if plan.wander is not None:
        key = plan.wander
        name = f"t{len(names) + 1}"
        code = (
            f"{name} = read_table({key[0]!r}, {key[1]!r})\nprint({name}.select({_rows(plan.wander_picks)!r}))"
        )
        step = rec.assistant(
            text=run.wander_text(),
            code=code,
            output=run_code(code, ns),
            tool_s=rec.tool_seconds("read_table"),
        )
        facts.read_call[key] = facts.read_output[key] = step
        rebind = [
            f"{p.need.var} = {name}.value({p.row!r}, {p.column.group!r}, {p.column.sub!r})"
            for p in plan.wander_picks
        ]
        code = "\n".join([*rebind, *facts.formula_lines, "print(answer)"])
        step = rec.assistant(text=run.rewander_text(), code=code, output=run_code(code, ns))
        facts.compute_output.append(step)

    answer = str(ns.get("answer", ""))
    if plan.answer_format:
        typed_answer = reformat_answer(answer, q.kind, rng)
        code = f"submit({typed_answer!r})"
        text = f"The answer is {typed_answer}."
    else:
        code = "submit(answer)"
        text = rng.choice([f"The answer is {answer}.", f"{answer}. Submitting."])
    facts.final = rec.assistant(text=text, code=code, output=run_code(code, ns), thinking=(10, 80))
    final = submitted[0] if submitted else None
    return run.trajectory(final, final)


# -- Tool-Calling-style ------------------------------------------------------------------------


def _call(rng: random.Random, name: str, **arguments: str) -> ToolCall:
    return ToolCall(id=f"call_{rng.getrandbits(40):010x}", name=name, arguments=dict(arguments))


def _run_tool_calling(run: _Run) -> Trajectory:
    plan, q, rec, rng, facts, tools = run.plan, run.question, run.rec, run.rng, run.facts, run.tools

    def use(text: str | None, calls: list[ToolCall]) -> list[int]:
        outputs: list[tuple[ToolCall, str, float]] = []
        for call in calls:
            args = call.arguments
            if call.name == "search":
                out = "\n".join(str(h) for h in tools.search(str(args["query"])))
            elif call.name == "open_document":
                out = tools.open_document(str(args["doc_id"]))
            elif call.name == "read_table":
                out = str(tools.read_table(str(args["doc_id"]), str(args["table"])))
            else:
                out = tools.python_exec(str(args["code"]))
            outputs.append((call, out, rec.tool_seconds(call.name)))
        # Transcribing figures between calls takes the tool-calling model more thinking per turn.
        steps = [rec.assistant(text=text, tool_calls=calls, thinking=(60, 520))]
        for call, out, seconds in outputs:
            assert call.id is not None
            steps.append(rec.tool(call.id, call.name, out, seconds=seconds))
        return steps

    use(run.search_text(), [_call(rng, "search", query=q.search_query)])
    if rng.random() < 0.45:
        doc = plan.reads[0][0]
        use(
            f"Let me see what the {run.corpus.bulletin(doc).title} contains.",
            [_call(rng, "open_document", doc_id=doc)],
        )

    by_read = run.picks_by_read()
    groups: list[list[tuple[str, str]]] = [[key] for key in plan.reads]
    if len(groups) > 1 and plan.checked is None and rng.random() < 0.35:
        groups = [list(plan.reads)]
    for keys in groups:
        calls = [_call(rng, "read_table", doc_id=k[0], table=k[1]) for k in keys]
        text = run.read_text(keys[0], by_read.get(keys[0], [])) if len(keys) == 1 else "Reading both tables."
        steps = use(text, calls)
        for j, key in enumerate(keys):
            facts.read_call[key] = steps[0]
            facts.read_output[key] = steps[1 + j]

    def literals(picks: list[Pick], first: bool) -> list[str]:
        lines = []
        for i, p in enumerate(picks):
            shown = cell_text(run.corpus.table(p.doc_id, p.table), p)
            typed = shown.replace(",", "")
            if first and plan.retype == i:
                typed = retype_number(shown, rng)
                facts.retyped = (shown, typed)
            line = f"{p.need.var} = {typed}"
            if first:
                facts.pick_lines[i] = line
            lines.append(line)
        facts.used_lines = lines
        return lines

    facts.formula_lines = formula(q.kind, [p.need.var for p in plan.picks], plan.variant)
    code = "\n".join([*literals(plan.picks, True), *facts.formula_lines, "print(answer)"])
    steps = use(run.compute_text(), [_call(rng, "python_exec", code=code)])
    facts.compute.append(steps[0])
    facts.compute_output.append(steps[1])
    answer = rec.steps[steps[1]].output or ""

    if plan.wander is not None:
        key = plan.wander
        steps = use(run.wander_text(), [_call(rng, "read_table", doc_id=key[0], table=key[1])])
        facts.read_call[key], facts.read_output[key] = steps[0], steps[1]
        switched = {p.need for p in plan.wander_picks}
        merged = [
            next(w for w in plan.wander_picks if w.need == p.need) if p.need in switched else p
            for p in plan.picks
        ]
        code = "\n".join([*literals(merged, False), *facts.formula_lines, "print(answer)"])
        steps = use(run.rewander_text(), [_call(rng, "python_exec", code=code)])
        facts.compute_output.append(steps[1])
        answer = rec.steps[steps[1]].output or ""

    final = reformat_answer(answer, q.kind, rng) if plan.answer_format else answer
    used = [line.split(" = ", 1)[1] for line in facts.used_lines]
    values = ", ".join(
        f"{month_label(p.need.month)} {p.need.metric.phrase}: {value}"
        for p, value in zip(plan.picks[:4], used, strict=False)
    )
    text = f"From the tables ({values}{', ...' if len(plan.picks) > 4 else ''}), the {_KIND_PHRASE[q.kind]} is {final}.\n\nFinal answer: {final}"
    facts.final = rec.assistant(text=text, thinking=(20, 160))
    return run.trajectory(final, None)
