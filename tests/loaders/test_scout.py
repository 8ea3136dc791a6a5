"""Inspect Scout transcript databases, written here as Parquet from Scout's published schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from memex_audit.loaders import load, sniff_format


def scout_rows() -> list[dict[str, Any]]:
    """Three transcripts: a correct one, a failed one, and one whose messages are not JSON."""
    messages = [
        {"role": "user", "content": "What were total outlays in 1944?"},
        {
            "role": "assistant",
            "content": "Searching.",
            "tool_calls": [{"id": "c1", "function": "search", "arguments": {"q": "outlays"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "function": "search", "content": "95,059"},
        {"role": "assistant", "content": "95,059 million"},
    ]
    base: dict[str, Any] = {
        "source_type": "eval_log",
        "source_id": "ev1",
        "source_uri": "logs/budget.eval",
        "date": "2025-01-01T00:00:00Z",
        "task_set": "budget_qa",
        "agent": "react",
        "agent_args": orjson.dumps({"max_turns": 5}).decode(),
        "model": "openai/gpt-4.1",
        "score_explanation": None,
        "message_count": len(messages),
        "total_time": 12.5,
        "total_tokens": 1234,
        "error": None,
        "limit": None,
        "messages": orjson.dumps(messages).decode(),
        "events": "[]",
        "difficulty": "easy",  # a user metadata column
    }
    return [
        {**base, "transcript_id": "tr-1", "task_id": "7", "task_repeat": 1, "score": '"C"', "success": True},
        {**base, "transcript_id": "tr-2", "task_id": "7", "task_repeat": 2, "score": '"I"', "success": False},
        {**base, "transcript_id": "tr-3", "task_id": "8", "task_repeat": 1, "score": "0.5", "messages": "[{"},
    ]


def test_parquet_rows_become_trajectories_and_a_bad_row_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "transcripts.parquet"
    pq.write_table(pa.Table.from_pylist(scout_rows()), path)
    assert sniff_format(path).name == "scout"  # type: ignore[union-attr]
    result = load(tmp_path)
    first, second = result.trajectories
    assert (first.id, first.task_id, first.model, first.harness) == (
        "tr-1",
        "budget_qa/7",
        "openai/gpt-4.1",
        "react",
    )
    assert (first.outcome.correct, first.outcome.score, second.outcome.correct) == (True, 1.0, False)
    assert first.steps[1].tool_calls[0].name == "search" and first.steps[2].tool_call_id == "c1"
    assert first.metadata["agent_args"] == {"max_turns": 5} and first.metadata["difficulty"] == "easy"
    assert first.metadata["task_repeat"] == 1 and first.metadata["total_tokens"] == 1234
    assert first.metadata["omitted_fields"] == ["events"] and "events" not in first.metadata
    assert len(result.tasks()) == 1
    [error] = result.errors
    assert (error.line, error.field, error.format) == (3, "row 2.messages", "scout")


def test_other_parquet_is_a_clear_error_naming_the_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "other.parquet"
    pq.write_table(pa.Table.from_pylist([{"a": 1}]), path)
    [error] = load(path).errors
    assert error.format == "scout"
    assert "not an Inspect Scout transcript database: no transcript_id or messages column" in error.reason
