"""Tabular views of trajectories (polars; pandas through ``.to_pandas()``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import polars as pl

from memex_audit.trajectory._models import Trajectory

_STEP_SCHEMA: dict[str, Any] = {
    "trajectory_id": pl.Utf8,
    "task_id": pl.Utf8,
    "model": pl.Utf8,
    "harness": pl.Utf8,
    "step": pl.Int64,
    "role": pl.Utf8,
    "agent": pl.Utf8,
    "text": pl.Utf8,
    "code": pl.Utf8,
    "tool_calls": pl.Utf8,
    "n_tool_calls": pl.Int64,
    "tool_name": pl.Utf8,
    "output": pl.Utf8,
    "error": pl.Utf8,
    "input_tokens": pl.Int64,
    "output_tokens": pl.Int64,
    "cost_usd": pl.Float64,
    "duration_s": pl.Float64,
}

_TRAJECTORY_SCHEMA: dict[str, Any] = {
    "trajectory_id": pl.Utf8,
    "task_id": pl.Utf8,
    "model": pl.Utf8,
    "harness": pl.Utf8,
    "format": pl.Utf8,
    "file": pl.Utf8,
    "n_steps": pl.Int64,
    "n_tool_calls": pl.Int64,
    "success": pl.Boolean,
    "correct": pl.Boolean,
    "reward": pl.Float64,
    "score": pl.Float64,
    "final_answer": pl.Utf8,
    "input_tokens": pl.Int64,
    "output_tokens": pl.Int64,
    "cost_usd": pl.Float64,
    "n_labels": pl.Int64,
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
    return pl.DataFrame(rows, schema=_STEP_SCHEMA)


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
    return pl.DataFrame(rows, schema=_TRAJECTORY_SCHEMA)
