"""Polars queries the web app needs beyond the audit and aggregate summaries.

* ``trajectory_table``: one row per rollout with its outcome label, study, ground truth and the first
  human label it carries (faulty agent, step, category, reason).
* ``failure_frame``: the audit rows (``audit_frame``) joined with the rollouts they audited, plus one
  row per rollout that was not audited (``correct``, ``ungraded``, ``not audited``), so a breakdown
  can show failure categories beside the share of correct rollouts, as the MemEx write-up does.
  Each row also says where its faulty step sits in the run (``position``: early, middle, late) and
  whether the verdict agrees with the rollout's human label (``agreement``).
* ``FailureFilter`` / ``filter_failures`` / ``filter_options``: the failure page's filters.
* ``group_table``: the breakdown with one row per group and one column per category.
* ``usage_by`` / ``outcome_totals``: trajectories, failure rate, tokens and cost by model and harness.
* ``policy_cases`` / ``rollout_votes``: best-of-N per task: a policy's choice against majority vote
  (rescues and harms) and each rollout's answer, votes and whether it was chosen.
* ``scaling_long``: the accuracy-vs-N table in long form for plotting.
* ``natural_key``: task ids in numeric order (``task/2`` before ``task/10``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Literal

import orjson
import polars as pl

from memex_audit.aggregator import AggregateTaskResult
from memex_audit.trajectory import Trajectory, trajectories_frame

Outcome = Literal["correct", "failed", "ungraded"]

NOT_AUDITED = "not audited"
"""Category of a failed rollout that no audit run classified."""

OUTCOME_CATEGORIES = ("correct", "ungraded", NOT_AUDITED)
"""Categories of the rows that are not audit verdicts."""

FAILURE_COLUMNS = pl.Schema(
    {
        "run": pl.String(),
        "trajectory_id": pl.String(),
        "task_id": pl.String(),
        "study": pl.String(),
        "file": pl.String(),
        "harness": pl.String(),
        "model": pl.String(),
        "outcome": pl.String(),
        "taxonomy": pl.String(),
        "primary": pl.String(),
        "secondary": pl.String(),
        "faulty_step": pl.Int64(),
        "faulty_agent": pl.String(),
        "confidence": pl.Float64(),
        "evidence": pl.Int64(),
        "policy": pl.String(),
        "cost_usd": pl.Float64(),
        "n_steps": pl.Int64(),
        "position": pl.String(),
        "label_agent": pl.String(),
        "label_step": pl.Int64(),
        "agreement": pl.String(),
    }
)
"""Columns of ``failure_frame``; ``primary`` is the category and ``policy`` the audit's producer."""

POSITIONS = ("early", "middle", "late")
"""Where a faulty step sits in its run: the first, second or last third of the steps."""
NO_STEP = "no step"
"""``position`` of a row without a faulty step (or whose run's length is unknown)."""
AGREES, DISAGREES, NO_LABEL = "agrees", "disagrees", "no label"
"""``agreement`` values: the verdict's faulty agent and step against the rollout's human label."""


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def outcome_of(success: bool | None) -> Outcome:
    """``correct``, ``failed`` or ``ungraded`` for a rollout's ``success``."""
    return "ungraded" if success is None else ("correct" if success else "failed")


def trajectory_table(trajectories: Iterable[Trajectory]) -> pl.DataFrame:
    """``trajectories_frame`` plus ``outcome``, ``study`` (``metadata["study"]``), ``ground_truth`` as
    text, the source ``line``/``position``, the row's position in ``trajectories`` (``row``), the
    first human label (``label_agent``, ``label_step``, ``label_category``, ``label_reason``) and the
    agents that took part (``agents``, comma-separated)."""
    items = list(trajectories)
    base = trajectories_frame(items)
    labels = [t.labels[0] if t.labels else None for t in items]
    extra = pl.DataFrame(
        {
            "row": list(range(len(items))),
            "outcome": [outcome_of(t.success) for t in items],
            "study": [_text(t.metadata.get("study")) for t in items],
            "ground_truth": [_text(t.ground_truth) for t in items],
            "line": [t.source.line if t.source else None for t in items],
            "position": [t.source.position if t.source else None for t in items],
            "label_agent": [lb.faulty_agent if lb else None for lb in labels],
            "label_step": [lb.faulty_step if lb else None for lb in labels],
            "label_category": [lb.category if lb else None for lb in labels],
            "label_reason": [lb.reason if lb else None for lb in labels],
            "agents": [", ".join(t.agents) or None for t in items],
        },
        schema={
            "row": pl.Int64,
            "outcome": pl.String,
            "study": pl.String,
            "ground_truth": pl.String,
            "line": pl.Int64,
            "position": pl.Int64,
            "label_agent": pl.String,
            "label_step": pl.Int64,
            "label_category": pl.String,
            "label_reason": pl.String,
            "agents": pl.String,
        },
    )
    return pl.concat([base, extra], how="horizontal")


def _position(step: pl.Expr, n_steps: pl.Expr) -> pl.Expr:
    third = (
        pl.when(step.is_null() | n_steps.is_null() | (n_steps <= 0)).then(None).otherwise(3 * step // n_steps)
    )
    return (
        pl.when(third.is_null())
        .then(pl.lit(NO_STEP))
        .when(third <= 0)
        .then(pl.lit(POSITIONS[0]))
        .when(third == 1)
        .then(pl.lit(POSITIONS[1]))
        .otherwise(pl.lit(POSITIONS[2]))
    )


def _agreement() -> pl.Expr:
    """The verdict's faulty agent and step against the human label (agents compared without case)."""
    has_label = pl.col("label_agent").is_not_null() | pl.col("label_step").is_not_null()
    agent_off = pl.col("label_agent").is_not_null() & (
        pl.col("faulty_agent").str.to_lowercase().fill_null("") != pl.col("label_agent").str.to_lowercase()
    )
    step_off = pl.col("label_step").is_not_null() & (
        pl.col("faulty_step").fill_null(-1) != pl.col("label_step")
    )
    return (
        pl.when(~has_label | (pl.col("outcome") != "failed") | pl.col("run").is_null())
        .then(pl.lit(NO_LABEL))
        .when(agent_off | step_off)
        .then(pl.lit(DISAGREES))
        .otherwise(pl.lit(AGREES))
    )


def failure_frame(audits: pl.DataFrame, trajectories: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per audit verdict, and one per rollout no audit covers (see the module docstring).

    Args:
        audits: ``audit_frame`` rows, with a ``run`` column naming the audit run.
        trajectories: ``trajectory_table`` of the rollouts the runs read, when they could be loaded.
    """
    verdicts = audits.select(
        pl.col("run").cast(pl.String),
        "trajectory_id",
        "task_id",
        "file",
        "harness",
        "model",
        pl.lit("failed").alias("outcome"),
        "taxonomy",
        "primary",
        pl.col("secondary").list.join(", ").alias("secondary"),
        "faulty_step",
        "faulty_agent",
        "confidence",
        "evidence",
        pl.col("producer").alias("policy"),
        "cost_usd",
    )
    info_columns = ["study", "n_steps", "label_agent", "label_step"]
    if trajectories is None or trajectories.height == 0:
        verdicts = verdicts.with_columns(
            pl.lit(None, pl.String).alias("study"),
            pl.lit(None, pl.Int64).alias("n_steps"),
            pl.lit(None, pl.String).alias("label_agent"),
            pl.lit(None, pl.Int64).alias("label_step"),
        )
        others = None
    else:
        info = trajectories.unique("trajectory_id", keep="first").select("trajectory_id", *info_columns)
        verdicts = verdicts.join(info, on="trajectory_id", how="left")
        others = trajectories.join(
            audits.select("trajectory_id").unique(), on="trajectory_id", how="anti"
        ).select(
            pl.lit(None, pl.String).alias("run"),
            "trajectory_id",
            "task_id",
            "file",
            pl.col("harness").fill_null("?"),
            pl.col("model").fill_null("?"),
            "outcome",
            pl.lit(None, pl.String).alias("taxonomy"),
            pl.when(pl.col("outcome") == "failed")
            .then(pl.lit(NOT_AUDITED))
            .otherwise(pl.col("outcome"))
            .alias("primary"),
            pl.lit(None, pl.String).alias("secondary"),
            pl.lit(None, pl.Int64).alias("faulty_step"),
            pl.lit(None, pl.String).alias("faulty_agent"),
            pl.lit(None, pl.Float64).alias("confidence"),
            pl.lit(None, pl.Int64).alias("evidence"),
            pl.lit(None, pl.String).alias("policy"),
            pl.lit(None, pl.Float64).alias("cost_usd"),
            *info_columns,
        )
    frames = [verdicts] if others is None else [verdicts, others]
    rows = pl.concat(
        [f.cast({k: v for k, v in FAILURE_COLUMNS.items() if k in f.columns}) for f in frames],
        how="diagonal_relaxed",
    )
    return (
        rows.with_columns(
            _position(pl.col("faulty_step"), pl.col("n_steps")).alias("position"),
            _agreement().alias("agreement"),
        )
        .select(FAILURE_COLUMNS.names())
        .cast(dict(FAILURE_COLUMNS))  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class FailureFilter:
    """The failure page's filters: each field holds the values to keep (empty keeps everything).

    ``taxonomy`` and ``policy`` only restrict audit verdicts: the rows that are not verdicts (correct,
    ungraded, not audited) have neither and pass those two filters.
    """

    taxonomy: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    model: tuple[str, ...] = ()
    harness: tuple[str, ...] = ()
    task_id: tuple[str, ...] = ()
    outcome: tuple[str, ...] = ()
    policy: tuple[str, ...] = ()
    agreement: tuple[str, ...] = ()


_FILTER_COLUMNS = {"category": "primary"}
_VERDICT_ONLY = {"taxonomy", "policy"}


def filter_failures(frame: pl.DataFrame, flt: FailureFilter) -> pl.DataFrame:
    """The rows of ``failure_frame`` that pass ``flt``."""
    conditions = []
    for item in fields(flt):
        values: tuple[str, ...] = getattr(flt, item.name)
        if not values:
            continue
        column = pl.col(_FILTER_COLUMNS.get(item.name, item.name))
        condition = column.is_in(list(values))
        if item.name in _VERDICT_ONLY:
            condition = condition | column.is_null()
        conditions.append(condition)
    return frame.filter(*conditions) if conditions else frame


def filter_options(frame: pl.DataFrame) -> dict[str, list[str]]:
    """For each filter of ``FailureFilter``, the values present in ``frame`` (sorted)."""
    options = {}
    for item in fields(FailureFilter):
        column = _FILTER_COLUMNS.get(item.name, item.name)
        options[item.name] = sorted(frame.get_column(column).drop_nulls().unique().to_list())
    return options


def group_table(
    frame: pl.DataFrame, by: str, categories: Sequence[str], *, percent: bool = False
) -> pl.DataFrame:
    """One row per value of ``by`` (largest first): its rows, then one column per category in
    ``categories`` order holding the count (or, with ``percent``, the share of the group in %)."""
    keyed = frame.with_columns(pl.col(by).cast(pl.String).fill_null("?"))
    counts = keyed.group_by(by, "primary").len()
    totals = keyed.group_by(by).len().rename({"len": "rows"})
    present = [c for c in categories if c in set(counts.get_column("primary").to_list())]
    wide = counts.pivot(on="primary", index=by, values="len") if counts.height else pl.DataFrame({by: []})
    for category in present:
        if category not in wide.columns:
            wide = wide.with_columns(pl.lit(0).alias(category))
    table = totals.join(wide.select(by, *present), on=by, how="left").with_columns(
        [pl.col(c).fill_null(0) for c in present]
    )
    if percent:
        table = table.with_columns([(100.0 * pl.col(c) / pl.col("rows")).round(1).alias(c) for c in present])
    return table.sort(["rows", by], descending=[True, False]).select(by, "rows", *present)


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key that orders the digit runs of ``text`` as numbers (``t/2`` before ``t/10``)."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(text) if part)


_DIGITS = re.compile(r"(\d+)")


def outcome_totals(table: pl.DataFrame) -> dict[str, float | int]:
    """Trajectories, tasks, correct / failed / ungraded counts and the failure rate over graded ones."""
    counts = dict(table.group_by("outcome").len().iter_rows())
    correct, failed = int(counts.get("correct", 0)), int(counts.get("failed", 0))
    graded = correct + failed
    return {
        "trajectories": table.height,
        "tasks": table.get_column("task_id").n_unique() if table.height else 0,
        "correct": correct,
        "failed": failed,
        "ungraded": int(counts.get("ungraded", 0)),
        "failure_rate": failed / graded if graded else 0.0,
    }


def usage_by(table: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """Per group of ``by`` (e.g. model, harness): trajectories, failed, failure rate, tokens and cost.

    The failure rate is over graded rollouts; cost sums the known costs (``None`` when none is known).
    """
    keys = [pl.col(c).fill_null("?") for c in by]
    return (
        table.group_by(keys)
        .agg(
            pl.len().alias("trajectories"),
            (pl.col("outcome") == "failed").sum().alias("failed"),
            (pl.col("outcome") != "ungraded").sum().alias("graded"),
            pl.col("n_steps").mean().alias("mean_steps"),
            pl.col("input_tokens").sum().alias("input_tokens"),
            pl.col("output_tokens").sum().alias("output_tokens"),
            pl.col("cost_usd").sum().alias("cost_usd"),
            pl.col("cost_usd").is_not_null().any().alias("_cost_known"),
        )
        .with_columns(
            pl.when(pl.col("graded") > 0)
            .then(pl.col("failed") / pl.col("graded"))
            .otherwise(None)
            .alias("failure_rate"),
            (pl.col("input_tokens") + pl.col("output_tokens")).alias("total_tokens"),
            pl.when(pl.col("_cost_known")).then(pl.col("cost_usd")).otherwise(None).alias("cost_usd"),
        )
        .drop("_cost_known", "graded")
        .sort(list(by))
    )


# -- best of N ----------------------------------------------------------------------------------------

_CASE_SCHEMA = {
    "task_id": pl.String,
    "n_rollouts": pl.Int64,
    "answer": pl.String,
    "majority_answer": pl.String,
    "correct": pl.Float64,
    "majority_correct": pl.Float64,
    "case": pl.String,
}


def _case(policy_ok: float | None, majority_ok: float | None) -> str:
    if policy_ok is None or majority_ok is None:
        return "ungraded"
    if policy_ok >= 0.5 > majority_ok:
        return "rescue"
    if majority_ok >= 0.5 > policy_ok:
        return "harm"
    return "both right" if policy_ok >= 0.5 else "both wrong"


def policy_cases(results: Sequence[AggregateTaskResult], policy: str) -> pl.DataFrame:
    """One row per task: the policy's answer and correctness beside majority vote's, and the case.

    ``case`` is ``rescue`` (majority wrong, the policy right), ``harm`` (majority right, the policy
    wrong), ``both right``, ``both wrong`` or ``ungraded`` — the same rule as
    ``aggregate_accuracy_frame``'s rescue and harm counts.
    """
    rows = []
    for r in results:
        chosen = r.aggregations.get(policy)
        majority = r.aggregations.get("majority")
        rows.append(
            {
                "task_id": r.task_id,
                "n_rollouts": r.n_rollouts,
                "answer": chosen.answer if chosen else None,
                "majority_answer": majority.answer if majority else None,
                "correct": r.correct.get(policy),
                "majority_correct": r.correct.get("majority"),
                "case": _case(r.correct.get(policy), r.correct.get("majority")),
            }
        )
    return pl.DataFrame(rows, schema=_CASE_SCHEMA, orient="row")


_VOTE_SCHEMA = {
    "rollout_id": pl.String,
    "model": pl.String,
    "harness": pl.String,
    "answer": pl.String,
    "votes": pl.Int64,
    "correct": pl.Boolean,
    "returned": pl.Boolean,
    "trusted": pl.Boolean,
    "majority": pl.Boolean,
    "support": pl.String,
    "score": pl.Float64,
    "notes": pl.String,
}


def rollout_votes(result: AggregateTaskResult, policy: str) -> pl.DataFrame:
    """One row per rollout of a task: its answer, how many rollouts gave that answer, whether
    ``policy`` returned it (its first choice) or trusted it (among its chosen rollouts), whether
    majority vote trusted it, and the verifier's check when there is one."""
    chosen = result.aggregations.get(policy)
    majority = result.aggregations.get("majority")
    votes_of: dict[str, int] = {}
    for agg in (majority, chosen):
        for share in agg.votes if agg else ():
            for rid in share.rollouts:
                votes_of.setdefault(rid, share.count)
    answer_counts: dict[str, int] = {}
    for rollout in result.rollouts:
        answer_counts[rollout.answer] = answer_counts.get(rollout.answer, 0) + 1
    checks = {c.rollout_id: c for agg in result.aggregations.values() for c in agg.checks}
    rows = []
    for rollout in result.rollouts:
        check = checks.get(rollout.rollout_id)
        rows.append(
            {
                "rollout_id": rollout.rollout_id,
                "model": rollout.model,
                "harness": rollout.harness,
                "answer": rollout.answer,
                "votes": votes_of.get(rollout.rollout_id, answer_counts[rollout.answer]),
                "correct": rollout.correct,
                "returned": chosen is not None and rollout.rollout_id == chosen.chosen,
                "trusted": chosen is not None and rollout.rollout_id in chosen.chosen_rollouts,
                "majority": majority is not None and rollout.rollout_id in majority.chosen_rollouts,
                "support": check.support if check else None,
                "score": check.score if check else None,
                "notes": "; ".join(check.notes) if check else None,
            }
        )
    return pl.DataFrame(rows, schema=_VOTE_SCHEMA, orient="row")


def scaling_long(scaling: pl.DataFrame, policies: Iterable[str] | None = None) -> pl.DataFrame:
    """``aggregate_scaling_frame`` as ``n, tasks, policy, accuracy`` rows (for a line per policy)."""
    value_columns = [c for c in scaling.columns if c not in ("n", "tasks")]
    if policies is not None:
        keep = set(policies)
        value_columns = [c for c in value_columns if c in keep]
    if not value_columns:
        return pl.DataFrame(
            schema={"n": pl.Int64, "tasks": pl.Int64, "policy": pl.String, "accuracy": pl.Float64}
        )
    return scaling.unpivot(
        index=["n", "tasks"], on=value_columns, variable_name="policy", value_name="accuracy"
    ).drop_nulls("accuracy")


def category_order(frame: pl.DataFrame, taxonomy_ids: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """Categories of ``frame`` in display order: the taxonomies' own order, then others, then the
    outcome rows (correct, ungraded, not audited) last."""
    seen = set(frame.get_column("primary").drop_nulls().unique().to_list())
    order: list[str] = []
    for ids in (taxonomy_ids or {}).values():
        order += [c for c in ids if c in seen and c not in order]
    order += sorted(c for c in seen if c not in order and c not in OUTCOME_CATEGORIES)
    order += [c for c in OUTCOME_CATEGORIES if c in seen]
    return order
