"""Anthropic Messages transcripts, written here from the public Messages API content-block shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from memex_audit.loaders import load, sniff_format


def anthropic_record() -> dict[str, Any]:
    """A transcript with thinking, text, tool_use and tool_result blocks (one failing tool)."""
    return {
        "id": "conv-1",
        "task_id": "budget-1944",
        "model": "claude-sonnet-4-5",
        "system": "You answer questions about the budget.",
        "reward": 0.0,
        "messages": [
            {"role": "user", "content": "What were total outlays in 1944?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "I should search first.", "signature": "sig-abc"},
                    {"type": "text", "text": "Let me search."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "search",
                        "input": {"query": "outlays 1944"},
                    },
                ],
                "usage": {"input_tokens": 50, "output_tokens": 20, "cache_read_input_tokens": 400},
                "stop_reason": "tool_use",
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "Outlays 1944: 95,059"}
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_2", "name": "read_page", "input": {"page": 12}}
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "is_error": True,
                        "content": [{"type": "text", "text": "page 12 does not exist"}],
                    },
                    {"type": "text", "text": "Please answer now."},
                ],
            },
            {"role": "assistant", "content": [{"type": "text", "text": "Outlays were 95,059 million."}]},
        ],
    }


def test_blocks_map_to_steps_tool_calls_and_results(tmp_path: Path) -> None:
    path = tmp_path / "conv.json"
    path.write_bytes(orjson.dumps(anthropic_record()))
    assert sniff_format(path).name == "anthropic"  # type: ignore[union-attr]
    [t] = load(path).trajectories
    assert [s.role for s in t.steps] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "user",
        "assistant",
    ]
    thinking = t.steps[2]
    assert thinking.text == "Let me search." and thinking.reasoning == "I should search first."
    assert thinking.metadata["blocks"] == [{"position": 0, "type": "thinking", "signature": "sig-abc"}]
    assert thinking.metadata["stop_reason"] == "tool_use"
    assert (
        thinking.usage is not None
        and thinking.usage.input_tokens == 450
        and thinking.usage.cache_read_tokens == 400
    )
    call = thinking.tool_calls[0]
    assert (call.id, call.name, call.arguments) == ("toolu_1", "search", {"query": "outlays 1944"})
    assert (t.steps[3].tool_call_id, t.steps[3].tool_name, t.steps[3].output) == (
        "toolu_1",
        "search",
        "Outlays 1944: 95,059",
    )
    failed = t.steps[5]
    assert failed.tool_name == "read_page" and failed.error == "page 12 does not exist"
    assert t.steps[6].text == "Please answer now." and t.steps[6].metadata["message_index"] == 4
    assert (t.id, t.task_id, t.model, t.outcome.reward, t.outcome.success) == (
        "conv-1",
        "budget-1944",
        "claude-sonnet-4-5",
        0.0,
        False,
    )
    assert t.final_answer == "Outlays were 95,059 million."
    assert t.question == "What were total outlays in 1944?"


def test_a_tool_result_without_its_id_is_an_error_for_that_line_only(tmp_path: Path) -> None:
    bad = anthropic_record()
    del bad["messages"][2]["content"][0]["tool_use_id"]
    path = tmp_path / "convs.jsonl"
    path.write_bytes(
        b"\n".join(orjson.dumps(r) for r in (anthropic_record(), bad, anthropic_record())) + b"\n"
    )
    result = load(path)
    assert [t.source.line for t in result.trajectories if t.source] == [1, 3]
    assert len({t.id for t in result.trajectories}) == 2  # the same id twice in one file is made unique
    [error] = result.errors
    assert (error.line, error.field, error.format) == (2, "messages.2.content.0.tool_use_id", "anthropic")
