"""Tabular views of trajectories (polars; pandas through ``.to_pandas()``).

polars is imported when a frame is built: reading and auditing trajectories never need it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson

from memex_audit.trajectory._models import Trajectory

if TYPE_CHECKING:
    import polars as pl

_STEP_SCHEMA: dict[str, str] = {
    "trajectory_id": "Utf8",
    "task_id": "Utf8",
    "model": "Utf8",
    "harness": "Utf8",
    "step": "Int64",
    "role": "Utf8",
    "agent": "Utf8",
    "text": "Utf8",
    "code": "Utf8",
    "tool_calls": "Utf8",
    "n_tool_calls": "Int64",
    "tool_name": "Utf8",
    "output": "Utf8",
    "error": "Utf8",
    "input_tokens": "Int64",
    "output_tokens": "Int64",
    "cost_usd": "Float64",
    "duration_s": "Float64",
}

_TRAJECTORY_SCHEMA: dict[str, str] = {
    "trajectory_id": "Utf8",
    "task_id": "Utf8",
    "model": "Utf8",
    "harness": "Utf8",
    "format": "Utf8",
    "file": "Utf8",
    "n_steps": "Int64",
    "n_tool_calls": "Int64",
    "success": "Boolean",
    "correct": "Boolean",
    "reward": "Float64",
    "score": "Float64",
    "final_answer": "Utf8",
    "input_tokens": "Int64",
    "output_tokens": "Int64",
    "cost_usd": "Float64",
    "n_labels": "Int64",
}


def steps_frame(trajectories: Iterable[Trajectory]) -> pl.DataFrame:
    """One row per step of every trajectory.

    Tool calls are a JSON string column (``[{"name":..., "arguments":...}]``) so the frame stays flat.
    """
    rows: list[dict[str, Any]] = []
    for t in trajectories:
        for s in t.steps:
            rows.append(
                {
                    "trajectory_id": t.id,
                    "task_id": t.task_id,
                    "model": t.model,
                    "harness": t.harness,
                    "step": s.index,
                    "role": s.role,
                    "agent": s.agent,
                    "text": s.text,
                    "code": s.code,
                    "tool_calls": orjson.dumps([c.model_dump(mode="json") for c in s.tool_calls]).decode()
                    if s.tool_calls
                    else None,
                    "n_tool_calls": len(s.tool_calls),
                    "tool_name": s.tool_name,
                    "output": s.output,
                    "error": s.error,
                    "input_tokens": s.usage.input_tokens if s.usage else None,
                    "output_tokens": s.usage.output_tokens if s.usage else None,
                    "cost_usd": s.usage.cost_usd if s.usage else None,
                    "duration_s": s.duration_s,
                }
            )
    return _frame(rows, _STEP_SCHEMA)


def trajectories_frame(trajectories: Iterable[Trajectory]) -> pl.DataFrame:
    """One row per trajectory: identity, outcome, size, tokens and cost."""
    rows: list[dict[str, Any]] = []
    for t in trajectories:
        usage = t.total_usage()
        rows.append(
            {
                "trajectory_id": t.id,
                "task_id": t.task_id,
                "model": t.model,
                "harness": t.harness,
                "format": t.source.format if t.source else None,
                "file": t.source.file if t.source else None,
                "n_steps": len(t.steps),
                "n_tool_calls": sum(len(s.tool_calls) for s in t.steps),
                "success": t.success,
                "correct": t.outcome.correct,
                "reward": t.outcome.reward,
                "score": t.outcome.score,
                "final_answer": t.final_answer,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cost_usd": usage.cost_usd,
                "n_labels": len(t.labels),
            }
        )
    return _frame(rows, _TRAJECTORY_SCHEMA)


def _frame(rows: list[dict[str, Any]], schema: dict[str, str]) -> pl.DataFrame:
    """``rows`` as a polars frame whose columns have the types ``schema`` names."""
    import polars as pl

    return pl.DataFrame(rows, schema={name: getattr(pl, dtype) for name, dtype in schema.items()})
