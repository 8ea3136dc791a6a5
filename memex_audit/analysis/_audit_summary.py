"""Summaries of audit runs: category breakdowns by harness, by model and by task.

Breakdowns count the primary category of each audited trajectory, with the share of each category
within its column. Agreement with human labels lives in ``_audit_agreement``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import polars as pl
from pydantic import BaseModel, ConfigDict

from memex_audit.auditor import AuditReport

_COLUMNS = pl.Schema(
    {
        "key": pl.String(),
        "trajectory_id": pl.String(),
        "task_id": pl.String(),
        "file": pl.String(),
        "harness": pl.String(),
        "model": pl.String(),
        "taxonomy": pl.String(),
        "primary": pl.String(),
        "secondary": pl.List(pl.String()),
        "faulty_step": pl.Int64(),
        "faulty_agent": pl.String(),
        "confidence": pl.Float64(),
        "evidence": pl.Int64(),
        "producer": pl.String(),
        "cost_usd": pl.Float64(),
    }
)


def audit_frame(reports: Sequence[AuditReport]) -> pl.DataFrame:
    """One row per audited trajectory: what was audited, the labels, attribution, producer and cost."""
    rows = [
        {
            "key": r.trajectory.id,
            "trajectory_id": r.trajectory.id,
            "task_id": r.trajectory.task_id,
            "file": r.trajectory.file,
            "harness": r.harness or "?",
            "model": r.model or "?",
            "taxonomy": r.taxonomy,
            "primary": r.primary,
            "secondary": list(r.secondary),
            "faulty_step": r.faulty_step,
            "faulty_agent": r.faulty_agent,
            "confidence": r.confidence,
            "evidence": len(r.evidence),
            "producer": r.producer.name,
            "cost_usd": r.producer.cost_usd,
        }
        for r in reports
    ]
    return pl.DataFrame(rows, schema=_COLUMNS)


def category_counts(frame: pl.DataFrame, by: str | None = None) -> pl.DataFrame:
    """Long table of primary categories: ``[by,] category, count, percent`` (percent within each ``by`` value)."""
    keys = [by, "primary"] if by else ["primary"]
    counts = frame.group_by(keys).agg(pl.len().alias("count")).rename({"primary": "category"})
    total = pl.col("count").sum().over(by) if by else pl.col("count").sum()
    counts = counts.with_columns((100.0 * pl.col("count") / total).round(1).alias("percent"))
    return counts.sort([*([by] if by else []), "count"], descending=[*([False] if by else []), True])


def breakdown_table(frame: pl.DataFrame, by: str, categories: Sequence[str] | None = None) -> pl.DataFrame:
    """Wide table: one row per category, for each value of ``by`` its count and %, then the total.

    Args:
        frame: ``audit_frame`` output.
        by: ``harness``, ``model`` or ``task_id``.
        categories: Row order (e.g. the taxonomy's ids); categories seen but not listed come after.
    """
    seen = frame["primary"].unique().to_list()
    order = [c for c in (categories or []) if c in seen] + sorted(
        c for c in seen if c not in (categories or [])
    )
    values = sorted(frame[by].unique().to_list()) if frame.height else []
    # One pass over the rows (a filter per category and value would read the frame that many times).
    primaries, groups = frame["primary"].to_list(), frame[by].to_list()
    pairs = Counter(zip(groups, primaries, strict=True))
    per_value = Counter(groups)
    per_category = Counter(primaries)
    rows = []
    for category in order:
        row: dict[str, object] = {"category": category}
        for value in values:
            n, height = pairs[(value, category)], per_value[value]
            row[f"{value} n"] = n
            row[f"{value} %"] = round(100.0 * n / height, 1) if height else 0.0
        n = per_category[category]
        row["total n"] = n
        row["total %"] = round(100.0 * n / frame.height, 1) if frame.height else 0.0
        rows.append(row)
    total: dict[str, object] = {"category": "total"}
    for value in values:
        total[f"{value} n"] = per_value[value]
        total[f"{value} %"] = 100.0
    total["total n"] = frame.height
    total["total %"] = 100.0
    rows.append(total)
    return pl.DataFrame(rows)


class TaskAuditSummary(BaseModel):
    """The audits of one task: how many, and the count per primary category."""

    model_config = ConfigDict(extra="forbid")

    task_id: str
    audited: int
    categories: dict[str, int]
    cost_usd: float


class RunAuditSummary(BaseModel):
    """The audits of a run: totals, categories overall, by harness and by model, and per task."""

    model_config = ConfigDict(extra="forbid")

    taxonomy: str | None
    producers: list[str]
    audited: int
    errors: int
    cost_usd: float
    categories: dict[str, int]
    by_harness: dict[str, dict[str, int]]
    by_model: dict[str, dict[str, int]]
    tasks: list[TaskAuditSummary]


def _nested_counts(frame: pl.DataFrame, by: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for row in category_counts(frame, by).iter_rows(named=True):
        out.setdefault(str(row[by]), {})[row["category"]] = row["count"]
    return out


def summarize_audit(
    reports: Sequence[AuditReport], errors: int = 0, *, frame: pl.DataFrame | None = None
) -> RunAuditSummary:
    """Per-run and per-task summary of a set of audit reports (``frame``: their ``audit_frame``,
    when the caller has it already)."""
    if frame is None:
        frame = audit_frame(reports)
    primaries: dict[str, list[str]] = {}
    costs: dict[str, float] = {}
    for task_id, primary, cost in zip(
        frame["task_id"].to_list(),
        frame["primary"].to_list(),
        frame["cost_usd"].fill_null(0.0).to_list(),
        strict=True,
    ):
        primaries.setdefault(task_id, []).append(primary)
        costs[task_id] = costs.get(task_id, 0.0) + cost
    tasks = [
        TaskAuditSummary(
            task_id=task_id,
            audited=len(primaries[task_id]),
            categories=dict(Counter(primaries[task_id])),
            cost_usd=costs[task_id],
        )
        for task_id in sorted(primaries)  # not in finishing order
    ]
    return RunAuditSummary(
        taxonomy=reports[0].taxonomy if reports else None,
        producers=sorted(set(frame["producer"].to_list())),
        audited=frame.height,
        errors=errors,
        cost_usd=float(frame["cost_usd"].fill_null(0.0).sum()),
        categories=dict(Counter(frame["primary"].to_list()).most_common()),
        by_harness=_nested_counts(frame, "harness"),
        by_model=_nested_counts(frame, "model"),
        tasks=tasks,
    )
