"""The sample folder's README files, rendered from templates and the generated data's own counts."""

from __future__ import annotations

from collections import Counter
from importlib import resources
from string import Template
from typing import TYPE_CHECKING

from memex_audit.samples._plans import CATEGORY_OF_MODE
from memex_audit.samples._record import EPOCH, MODEL, PRICES_PER_MTOK
from memex_audit.samples._studies import describe_defect
from memex_audit.samples._tables import month_name
from memex_audit.trajectory import Trajectory

if TYPE_CHECKING:
    from memex_audit.samples._generate import SampleSet

_CATEGORIES = ("source_selection", "interpretation", "search_strategy", "execution")
_HARNESSES = ("memex", "tool_calling")


def _template(name: str) -> Template:
    return Template(resources.files("memex_audit.samples").joinpath("templates", name).read_text("utf-8"))


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _mode(t: Trajectory) -> str:
    return str(t.labels[0].metadata.get("mode")) if t.labels else ""


def majority_answer(trajs: list[Trajectory]) -> str | None:
    """The most common final answer (the first seen among ties)."""
    votes = Counter(t.final_answer for t in trajs if t.final_answer is not None)
    return votes.most_common(1)[0][0] if votes else None


def render_readme(samples: SampleSet, picks: dict[str, list[Trajectory]]) -> str:
    """The folder README: how the data was made, and its counts."""
    all_trajs = samples.trajectories()
    outcome_rows = []
    for study in samples.studies:
        trajs = [t for ts in study.rollouts.values() for t in ts]
        for harness in _HARNESSES:
            mine = [t for t in trajs if t.harness == harness]
            failed = sum(t.failed for t in mine)
            outcome_rows.append(
                [
                    study.name,
                    harness,
                    str(len(mine)),
                    str(len(mine) - failed),
                    str(failed),
                    f"{failed / len(mine):.0%}",
                ]
            )
        failed = sum(t.failed for t in trajs)
        outcome_rows.append(
            [
                f"**{study.name}**",
                "all",
                str(len(trajs)),
                str(len(trajs) - failed),
                str(failed),
                f"{failed / len(trajs):.0%}",
            ]
        )
    oqa = [t for ts in samples.officeqa.rollouts.values() for t in ts]
    oqa_failed = [t for t in oqa if t.failed]
    cat_rows = []
    for category in _CATEGORIES:
        counts = [
            sum(1 for t in oqa_failed if t.harness == h and t.labels[0].category == category)
            for h in _HARNESSES
        ]
        cat_rows.append([category, *map(str, counts), str(sum(counts))])
    totals = [sum(1 for t in oqa_failed if t.harness == h) for h in _HARNESSES]
    cat_rows.append(["total", *map(str, totals), str(sum(totals))])
    grounding = sum(1 for t in oqa_failed if t.labels[0].category in ("source_selection", "interpretation"))
    all_failed = [t for t in all_trajs if t.failed]
    modes = Counter(_mode(t) for t in all_failed)
    mode_rows = [
        [CATEGORY_OF_MODE[m], m, str(sum(1 for t in oqa_failed if _mode(t) == m)),
         str(sum(1 for ts in samples.best_of_n.rollouts.values() for t in ts if t.failed and _mode(t) == m))]
        for m in CATEGORY_OF_MODE
        if modes[m]
    ]  # fmt: skip
    bon_rows = []
    majority_right = 0
    for task_id, trajs in samples.best_of_n.rollouts.items():
        majority = majority_answer(trajs)
        truth = trajs[0].ground_truth
        right = majority == truth
        majority_right += right
        trap = Counter(_mode(t) for t in trajs if _mode(t) in ("duplicated_table", "corrupted_table"))
        bon_rows.append(
            [
                task_id,
                str(truth),
                f"{sum(t.success is True for t in trajs)}/8",
                str(majority),
                "right" if right else "**wrong**",
                ", ".join(f"{n} read a {m.replace('_', ' ')}" for m, n in sorted(trap.items())) or "",
            ]
        )
    n_bon = len(samples.best_of_n.rollouts)
    cost_rows = []
    for study in samples.studies:
        for harness in _HARNESSES:
            mine = [t for ts in study.rollouts.values() for t in ts if t.harness == harness]
            steps = sum(len(t.steps) for t in mine) / len(mine)
            tokens = sum(t.usage.total_tokens for t in mine) / len(mine)
            cost = sum(t.usage.cost_usd or 0.0 for t in mine) / len(mine)
            seconds = sum(sum(s.duration_s or 0.0 for s in t.steps) for t in mine) / len(mine)
            cost_rows.append(
                [study.name, harness, f"{steps:.1f}", f"{tokens:,.0f}", f"${cost:.4f}", f"{seconds:.1f} s"]
            )
    price_in, price_cached, price_out = PRICES_PER_MTOK[MODEL]
    bulletins = samples.officeqa.corpus.bulletins
    return _template("README.md").substitute(
        seed=samples.seed,
        n_bulletins=len(bulletins),
        first_issue=month_name(bulletins[0].issue),
        last_issue=month_name(bulletins[-1].issue),
        price_in=f"${price_in:.2f}",
        price_cached=f"${price_cached:.2f}",
        price_out=f"${price_out:.2f}",
        epoch=EPOCH.strftime("%Y-%m-%d %H:%M UTC"),
        model=MODEL,
        total=len(all_trajs),
        tasks=len(samples.officeqa.rollouts) + n_bon,
        outcome_table=_table(["study", "harness", "rollouts", "correct", "failed", "failed %"], outcome_rows),
        category_table=_table(["axis", "MemEx", "Tool Calling", "total"], cat_rows),
        grounding=f"{grounding} of {len(oqa_failed)} ({grounding / len(oqa_failed):.0%})",
        mode_table=_table(["axis", "sub-mode", "officeqa", "best_of_n"], mode_rows),
        bon_summary=(
            f"{n_bon} tasks, 8 rollouts each (odd rollouts MemEx-style, even ones Tool-Calling-style). "
            f"Majority vote picks the ground truth on {majority_right} tasks and a wrong answer on "
            f"{n_bon - majority_right}: on most of those, several rollouts read a duplicated or misprinted "
            "table, and the rollouts that answered right say why in their steps."
        ),
        defects="\n".join(f"- {describe_defect(d)}" for d in samples.best_of_n.corpus.defects),
        bon_table=_table(
            ["task", "ground truth", "correct", "majority answer", "majority", "trap"], bon_rows
        ),
        cost_table=_table(
            ["study", "harness", "steps / rollout", "tokens / rollout", "cost / rollout", "time / rollout"],
            cost_rows,
        ),
        n_mixed=sum(len(v) for v in picks.values()),
    )


def render_mixed_readme(picks: dict[str, list[Trajectory]]) -> str:
    """The README of ``mixed_formats/``."""
    suffix = {"openai_chat": "openai", "anthropic": "anthropic"}
    lines = []
    for fmt, trajs in picks.items():
        for t in trajs:
            outcome = "correct" if t.success else "failed"
            lines.append(
                f"- `{fmt}/{t.id}.json`: copy of `{t.id}` ({t.metadata.get('study')}, {outcome}), id `{t.id}.{suffix[fmt]}`"
            )
    return _template("mixed_formats.md").substitute(files="\n".join(lines))
