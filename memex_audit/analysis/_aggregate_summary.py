"""Polars tables over an aggregate run: per task, per policy (with rescues and harms), and by N.

* ``aggregate_tasks_frame``: one row per task: each policy's correctness and answer.
* ``aggregate_accuracy_frame``: one row per policy: accuracy over graded tasks, and against
  majority vote the rescue count (majority wrong, policy right) and the harm count (majority
  right, policy wrong).
* ``aggregate_scaling_frame``: one row per subset size N: each policy's accuracy averaged over
  tasks with at least N rollouts (each task's value is itself a mean over subsets).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from memex_audit.aggregator import AggregateTaskResult, accuracy_by_policy
from memex_audit.runs import RunStore

POLICY_ORDER = ("pass@1", "first", "random", "majority", "summary_only", "verifier", "llm", "oracle")
"""Column and row order of the tables: baselines, then aggregators, then the ceiling."""


def _policies(results: Sequence[AggregateTaskResult]) -> list[str]:
    names = {name for r in results for name in r.correct}
    ordered = [p for p in POLICY_ORDER if p in names]
    return ordered + sorted(names - set(ordered))


def aggregate_tasks_frame(results: Sequence[AggregateTaskResult]) -> pl.DataFrame:
    """One row per task: ``task_id``, ``n_rollouts``, each policy's correctness, and answers."""
    policies = _policies(results)
    rows = []
    for r in results:
        row: dict[str, object] = {"task_id": r.task_id, "n_rollouts": r.n_rollouts}
        for p in policies:
            row[p] = r.correct.get(p)
        for p in ("majority", "verifier", "llm"):
            agg = r.aggregations.get(p)
            row[f"{p}_answer"] = agg.answer if agg is not None else None
        rows.append(row)
    schema: dict[str, pl.DataType | type[pl.DataType]] = {"task_id": pl.String, "n_rollouts": pl.Int64}
    schema.update(dict.fromkeys(policies, pl.Float64))
    schema.update({f"{p}_answer": pl.String for p in ("majority", "verifier", "llm")})
    return pl.DataFrame(rows, schema=schema, orient="row")


def aggregate_accuracy_frame(results: Sequence[AggregateTaskResult]) -> pl.DataFrame:
    """One row per policy: ``accuracy``, ``tasks`` graded, ``rescues`` and ``harms`` against majority."""
    rows = []
    for p in _policies(results):
        graded = [r for r in results if r.correct.get(p) is not None]
        paired = [r for r in graded if r.correct.get("majority") is not None]
        rescues = sum(1 for r in paired if (r.correct["majority"] or 0) < 0.5 <= (r.correct[p] or 0))
        harms = sum(1 for r in paired if (r.correct[p] or 0) < 0.5 <= (r.correct["majority"] or 0))
        rows.append(
            {
                "policy": p,
                "accuracy": sum(r.correct[p] or 0.0 for r in graded) / len(graded) if graded else None,
                "tasks": len(graded),
                "rescues": rescues if p not in ("majority", "pass@1") else None,
                "harms": harms if p not in ("majority", "pass@1") else None,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "policy": pl.String,
            "accuracy": pl.Float64,
            "tasks": pl.Int64,
            "rescues": pl.Int64,
            "harms": pl.Int64,
        },
        orient="row",
    )


def aggregate_scaling_frame(results: Sequence[AggregateTaskResult]) -> pl.DataFrame:
    """One row per N: ``n``, ``tasks`` (with at least N rollouts), and each policy's mean accuracy."""
    by_n: dict[int, list[dict[str, float]]] = {}
    for r in results:
        for point in r.scaling:
            by_n.setdefault(point.n, []).append(point.accuracy)
    names = {name for points in by_n.values() for acc in points for name in acc}
    ordered = [p for p in POLICY_ORDER if p in names] + sorted(names - set(POLICY_ORDER))
    rows = []
    for n in sorted(by_n):
        row: dict[str, object] = {"n": n, "tasks": len(by_n[n])}
        for p in ordered:
            values = [acc[p] for acc in by_n[n] if p in acc]
            row[p] = sum(values) / len(values) if values else None
        rows.append(row)
    schema: dict[str, pl.DataType | type[pl.DataType]] = {"n": pl.Int64, "tasks": pl.Int64}
    schema.update(dict.fromkeys(ordered, pl.Float64))
    return pl.DataFrame(rows, schema=schema, orient="row")


def write_aggregate_exports(store: RunStore) -> None:
    """Rewrite an aggregate run's Parquet tables and ``summary.json`` from its results (atomically)."""
    results = store.read_results(AggregateTaskResult)
    if not results:
        return
    store.write_parquet("aggregate_tasks", aggregate_tasks_frame(results))
    store.write_parquet("aggregate_accuracy", aggregate_accuracy_frame(results))
    store.write_parquet("aggregate_scaling", aggregate_scaling_frame(results))
    store.write_json("summary.json", {"tasks": len(results), "accuracy": accuracy_by_policy(results)})
