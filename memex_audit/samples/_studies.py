"""The two sample studies: OfficeQA-style audits and best-of-N aggregation.

``officeqa``: 32 questions, 6 rollouts each (3 MemEx-style, 3 Tool-Calling-style). Whether a
rollout fails, and how, is drawn from its own seeded generator: a per-question difficulty sets the
chance of failure (higher for Tool Calling), and the failure category follows the mix of the
OfficeQA audit. A failure mode that happens not to change the answer is replaced by the next one.

``best_of_n``: 24 questions, 8 rollouts each, over a copy of the corpus with printing errors. Some
questions are traps: their natural source is a duplicated or misprinted table, and a chosen number
of rollouts read it (most of them, for the majority-wrong cases); the others read the other issue,
some after noticing the defect in the raw table. The remaining questions fail the ordinary way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from memex_audit.errors import MemexAuditError
from memex_audit.samples._corpus import Corpus, build_corpus
from memex_audit.samples._plans import Plan, correct_plan, faulty_plan, mode_order
from memex_audit.samples._questions import METRICS, Kind, Question, make_question, make_trap_question
from memex_audit.samples._solvers import Harness, RolloutSpec, run_rollout
from memex_audit.samples._tables import SPEC_BY_CODE, Defect, month_label
from memex_audit.trajectory import Trajectory

OFFICEQA_KINDS: tuple[tuple[Kind, int], ...] = (
    ("pct_change", 8),
    ("quarter_total", 6),
    ("difference", 6),
    ("cumulative", 5),
    ("share", 4),
    ("combined_millions", 3),
)
FAIL_BASE: dict[str, float] = {"memex": 0.2, "tool_calling": 0.33}
FAIL_SLOPE: dict[str, float] = {"memex": 0.5, "tool_calling": 0.6}
_TRAP_TABLES = ("FFO-1", "FFO-2", "FD-1", "OFS-1")


@dataclass
class Study:
    """One study: its name, corpus, questions and rollouts (grouped by task, in order)."""

    name: str
    corpus: Corpus
    questions: list[Question]
    rollouts: dict[str, list[Trajectory]]


class GenerationError(MemexAuditError):
    """The generator's own check failed: a correct plan did not reproduce the ground truth."""


def _rollout(
    spec: RolloutSpec, question: Question, corpus: Corpus, plans: list[Plan], key: str
) -> Trajectory:
    """The first plan that fails as intended; a correct rollout when none does (or none is given)."""
    for plan in plans:
        traj = run_rollout(spec, question, corpus, plan, random.Random(f"{key}:{plan.mode}"))
        if not traj.outcome.correct:
            return traj
    traj = run_rollout(
        spec, question, corpus, correct_plan(question, corpus), random.Random(f"{key}:correct")
    )
    if not traj.outcome.correct:
        raise GenerationError(
            f"{spec.trajectory_id}: the correct plan answered {traj.final_answer!r}, "
            f"ground truth {question.ground_truth!r}"
        )
    return traj


def _fault_plans(harness: str, question: Question, corpus: Corpus, rng: random.Random) -> list[Plan]:
    plans = []
    for mode in mode_order(harness, rng):
        plan = faulty_plan(mode, question, corpus, rng)
        if plan is not None:
            plans.append(plan)
    return plans


def officeqa_study(seed: int, corpus: Corpus | None = None, n_questions: int = 32) -> Study:
    """The OfficeQA-style study: ``n_questions`` questions, 3 MemEx + 3 Tool-Calling rollouts each."""
    corpus = corpus or build_corpus(seed)
    kinds = [kind for kind, count in OFFICEQA_KINDS for _ in range(count)]
    random.Random(f"{seed}:officeqa:kinds").shuffle(kinds)
    questions: list[Question] = []
    rollouts: dict[str, list[Trajectory]] = {}
    for i in range(n_questions):
        task_id = f"officeqa-{i + 1:03d}"
        q_rng = random.Random(f"{seed}:{task_id}:question")
        q = make_question(corpus, task_id, kinds[i % len(kinds)], q_rng)
        while any(q.text == other.text for other in questions):
            q = make_question(corpus, task_id, kinds[i % len(kinds)], q_rng)
        questions.append(q)
        difficulty = random.Random(f"{seed}:{task_id}:difficulty").random()
        trajs = []
        for k in range(6):
            harness: Harness = "memex" if k < 3 else "tool_calling"
            short = "memex" if k < 3 else "tc"
            spec = RolloutSpec(
                f"{task_id}-{short}-{k % 3 + 1}", task_id, "officeqa", k % 3 + 1, harness, seed, i % 9
            )
            key = f"{seed}:{task_id}:{k}"
            rng = random.Random(key)
            p_fail = FAIL_BASE[harness] + FAIL_SLOPE[harness] * difficulty
            plans = _fault_plans(harness, q, corpus, rng) if rng.random() < p_fail else []
            trajs.append(_rollout(spec, q, corpus, plans, key))
        rollouts[task_id] = trajs
    return Study("officeqa", corpus, questions, rollouts)


def choose_defects(
    corpus: Corpus, rng: random.Random, duplicated: int = 5, misprints: int = 3
) -> list[Defect]:
    """Printing errors to plant: whole tables repeating the previous issue, and misprinted cells."""
    slots = [
        (b.doc_id, code)
        for i, b in enumerate(corpus.bulletins)
        if i > 0 and (1987, 1) <= b.months[0] <= (1988, 6)
        for code in _TRAP_TABLES
    ]
    rng.shuffle(slots)
    order = [b.doc_id for b in corpus.bulletins]
    chosen: list[tuple[str, str]] = []
    for doc_id, code in slots:
        # Two defective copies of one table in neighbouring issues would leave no clean copy.
        near = {
            (order[j], code)
            for j in range(order.index(doc_id) - 1, order.index(doc_id) + 2)
            if 0 <= j < len(order)
        }
        if not near & set(chosen):
            chosen.append((doc_id, code))
        if len(chosen) == duplicated + misprints:
            break
    defects: list[Defect] = []
    for n, (doc_id, code) in enumerate(chosen):
        table = corpus.table(doc_id, code)
        if n < duplicated:
            previous = corpus.previous(table)
            assert previous is not None
            defects.append(Defect("duplicated", doc_id, code, copied_from=previous.doc_id))
            continue
        spec = SPEC_BY_CODE[code]
        columns = [
            m.column for m in METRICS.values() if m.table == code and spec.index(m.column) in spec.leaves
        ]
        column = rng.choice(sorted(columns))
        month = table.months[rng.choice([0, 1])]
        true = table.raw(month, column)
        defects.append(
            Defect(
                "misprint", doc_id, code, month=month, column=column, printed=_transpose(true, rng), true=true
            )
        )
    return defects


def _transpose(value: int, rng: random.Random) -> int:
    digits = str(value)
    options = [i for i in range(1, len(digits) - 1) if digits[i] != digits[i + 1]]
    if not options:
        # No two distinct adjacent digits to swap (e.g. 7000): misprint one inner digit instead.
        i = min(max(1, len(digits) // 2), len(digits) - 1)
        return int(digits[:i] + str((int(digits[i]) + 1) % 10) + digits[i + 1 :])
    i = rng.choice(options)
    return int(digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :])


def best_of_n_study(seed: int, clean: Corpus | None = None, n_questions: int = 24) -> Study:
    """The best-of-N study: ``n_questions`` questions, 8 rollouts each, over a corpus with defects."""
    clean = clean or build_corpus(seed)
    rng = random.Random(f"{seed}:best_of_n")
    defects = choose_defects(clean, rng)
    corpus = clean.with_defects(defects)
    duplicated = [d for d in defects if d.kind == "duplicated"]
    misprints = [d for d in defects if d.kind == "misprint"]
    # (defect, how many of the 8 rollouts read it); None for an ordinary question.
    traps: list[tuple[Defect, int] | None] = [(d, rng.choice([5, 6, 6, 7])) for d in duplicated]
    traps.append((duplicated[0], 6))
    traps += [(d, rng.choice([5, 6])) for d in misprints[:2]]
    traps += [(duplicated[1], rng.choice([2, 3])), (misprints[2], rng.choice([2, 3]))]
    traps += [None] * (n_questions - len(traps))
    rng.shuffle(traps)
    kinds = [kind for kind, count in OFFICEQA_KINDS for _ in range(count)]
    rng.shuffle(kinds)

    questions: list[Question] = []
    rollouts: dict[str, list[Trajectory]] = {}
    for i, trap in enumerate(traps[:n_questions]):
        task_id = f"bon-{i + 1:03d}"
        q_rng = random.Random(f"{seed}:{task_id}:question")
        if trap:
            q = make_trap_question(corpus, task_id, trap[0], q_rng)
        else:
            q = _answerable(corpus, task_id, kinds[i % len(kinds)], q_rng, questions)
        questions.append(q)
        difficulty = random.Random(f"{seed}:{task_id}:difficulty").random()
        bad = set(random.Random(f"{seed}:{task_id}:bad").sample(range(8), trap[1])) if trap else set()
        trajs = []
        for k in range(8):
            harness: Harness = "memex" if k % 2 == 0 else "tool_calling"
            spec = RolloutSpec(f"{task_id}-r{k + 1}", task_id, "best_of_n", k + 1, harness, seed, 10 + i % 7)
            key = f"{seed}:{task_id}:{k}"
            r_rng = random.Random(key)
            plans: list[Plan] = []
            if trap is not None:
                defect = trap[0]
                mode = "duplicated_table" if defect.kind == "duplicated" else "corrupted_table"
                if k in bad:
                    plan = faulty_plan(mode, q, corpus, r_rng)
                    assert plan is not None
                    plans = [plan]
                elif k == min(set(range(8)) - bad) or r_rng.random() < 0.5:
                    # At least one rollout notices the defect in the raw table and says so.
                    trajs.append(_checked(spec, q, corpus, (defect.doc_id, defect.table), key))
                    continue
            elif r_rng.random() < 0.08 + 0.5 * difficulty * (1.2 if harness == "tool_calling" else 1.0):
                plans = _fault_plans(harness, q, corpus, r_rng)
            trajs.append(_rollout(spec, q, corpus, plans, key))
        rollouts[task_id] = trajs
    return Study("best_of_n", corpus, questions, rollouts)


def _answerable(
    corpus: Corpus, task_id: str, kind: Kind, rng: random.Random, asked: list[Question]
) -> Question:
    """A new question whose every figure has a clean, final copy somewhere in the corpus."""
    while True:
        q = make_question(corpus, task_id, kind, rng)
        fresh = all(q.text != other.text for other in asked)
        if fresh and all(corpus.final_tables(q.table, n.month) for n in q.needs):
            return q


def _checked(
    spec: RolloutSpec, q: Question, corpus: Corpus, defective: tuple[str, str], key: str
) -> Trajectory:
    """A rollout that reads the defective table too, notices the defect, and answers from the good copy."""
    plan = correct_plan(q, corpus)
    plan.reads = [defective, *[r for r in plan.reads if r != defective]]
    plan.checked = defective
    traj = run_rollout(spec, q, corpus, plan, random.Random(f"{key}:checked"))
    if not traj.outcome.correct:
        raise GenerationError(f"{spec.trajectory_id}: checked plan answered {traj.final_answer!r}")
    return traj


def describe_defect(defect: Defect) -> str:
    """One line naming a planted printing error."""
    if defect.kind == "duplicated":
        return f"{defect.doc_id} {defect.table}: rows repeat {defect.copied_from}'s under new month labels"
    assert defect.month is not None and defect.column is not None
    spec = SPEC_BY_CODE[defect.table]
    return (
        f"{defect.doc_id} {defect.table}: {month_label(defect.month)} {defect.column.label} printed "
        f"{spec.fmt(defect.printed or 0)} instead of {spec.fmt(defect.true or 0)} (row does not add up)"
    )
