"""Search inside transcripts: every step's text, reasoning, code, tool calls, outputs and errors.

``search_steps`` returns one row per matching field of a step (trajectory, task, step, role, agent,
where, snippet), so a page can list hits and open the viewer at the step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import orjson
import polars as pl

from memex_audit.trajectory import Step, Trajectory

SNIPPET = 80
"""Characters shown on each side of a match."""

HIT_SCHEMA = {
    "trajectory_id": pl.String,
    "task_id": pl.String,
    "step": pl.Int64,
    "role": pl.String,
    "agent": pl.String,
    "where": pl.String,
    "snippet": pl.String,
    "outcome": pl.String,
}


def step_fields(step: Step) -> list[tuple[str, str]]:
    """``(where, text)`` for each searchable part of a step: the same parts the viewer shows."""
    parts = [
        ("text", step.text),
        ("reasoning", step.reasoning),
        ("code", step.code),
        ("output", step.output),
        ("error", step.error),
    ]
    for call in step.tool_calls:
        args = call.arguments_raw or (orjson.dumps(call.arguments).decode() if call.arguments else "")
        parts.append((f"tool call {call.name}", f"{call.name} {args}"))
    return [(where, text) for where, text in parts if text]


def compile_query(query: str, *, regex: bool = False, case_sensitive: bool = False) -> re.Pattern[str]:
    """The pattern of a query: literal text unless ``regex``.

    Raises:
        re.error: ``regex`` is set and ``query`` is not a valid regular expression.
    """
    return re.compile(query if regex else re.escape(query), 0 if case_sensitive else re.IGNORECASE)


def _snippet(text: str, match: re.Match[str]) -> str:
    start = max(0, match.start() - SNIPPET)
    end = min(len(text), match.end() + SNIPPET)
    body = " ".join(text[start:end].split())
    return ("…" if start else "") + body + ("…" if end < len(text) else "")


def search_steps(
    trajectories: Iterable[Trajectory], pattern: re.Pattern[str], *, limit: int = 500
) -> tuple[pl.DataFrame, bool]:
    """The first ``limit`` hits of ``pattern`` (one per matching field of a step), and whether more
    were left out."""
    rows: list[dict[str, object]] = []
    for traj in trajectories:
        outcome = {True: "correct", False: "failed", None: "ungraded"}[traj.success]
        for step in traj.steps:
            for where, text in step_fields(step):
                match = pattern.search(text)
                if match is None:
                    continue
                if len(rows) >= limit:
                    return pl.DataFrame(rows, schema=HIT_SCHEMA, orient="row"), True
                rows.append(
                    {
                        "trajectory_id": traj.id,
                        "task_id": traj.task_id,
                        "step": step.index,
                        "role": step.role,
                        "agent": step.agent,
                        "where": where,
                        "snippet": _snippet(text, match),
                        "outcome": outcome,
                    }
                )
    return pl.DataFrame(rows, schema=HIT_SCHEMA, orient="row"), False
