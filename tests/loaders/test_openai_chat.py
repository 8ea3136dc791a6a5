"""OpenAI chat-completion transcripts, written here from the public chat-completions message shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from memex_audit.loaders import load, sniff_format


def openai_messages() -> list[dict[str, Any]]:
    """A tool-calling conversation in the chat-completions shape (arguments are JSON text)."""
    return [
        {"role": "system", "content": "You answer questions about the budget."},
        {"role": "user", "content": "What were total outlays in 1944?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "search", "arguments": '{"query": "outlays 1944", "limit": 3}'},
                },
                {"id": "call_2", "type": "function", "function": {"name": "lookup", "arguments": "not json"}},
            ],
            "usage": {
                "prompt_tokens": 120,
                "completion_tokens": 30,
                "prompt_tokens_details": {"cached_tokens": 100},
            },
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Outlays 1944: 95,059 million"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "no such page"}]},
        {"role": "assistant", "content": "Total outlays were 95,059 million dollars."},
    ]


def openai_record(**fields: Any) -> dict[str, Any]:
    """A record with the optional envelope fields around the messages."""
    return {"messages": openai_messages(), **fields}


def test_a_bare_message_list_becomes_one_trajectory(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    path.write_bytes(orjson.dumps(openai_messages()))
    assert sniff_format(path).name == "openai_chat"  # type: ignore[union-attr]
    [t] = load(path).trajectories
    assert t.id == t.task_id == f"{tmp_path.name}/chat"
    assert [s.role for s in t.steps] == ["system", "user", "assistant", "tool", "tool", "assistant"]
    search, lookup = t.steps[2].tool_calls
    assert (search.id, search.name, search.arguments) == (
        "call_1",
        "search",
        {"query": "outlays 1944", "limit": 3},
    )
    assert lookup.arguments == {} and lookup.arguments_raw == "not json"
    assert (t.steps[3].tool_call_id, t.steps[3].tool_name, t.steps[3].output) == (
        "call_1",
        "search",
        "Outlays 1944: 95,059 million",
    )
    assert t.steps[4].output == "no such page" and t.steps[4].tool_name == "lookup"
    assert t.steps[2].usage is not None and t.steps[2].usage.cache_read_tokens == 100
    assert t.usage.input_tokens == 120 and t.usage.output_tokens == 30
    assert t.question == "What were total outlays in 1944?"
    assert t.final_answer == "Total outlays were 95,059 million dollars."
    assert t.source is not None and t.source.format == "openai_chat"


def test_envelope_fields_map_and_unknown_fields_are_kept(tmp_path: Path) -> None:
    record = openai_record(
        id="run-7",
        task_id="budget-1944",
        question="Outlays in 1944?",
        ground_truth="95,059",
        final_answer="95,059",
        correct=True,
        reward=1.0,
        model="gpt-4.1",
        metadata={"study": "demo", "harness": "tool_calling"},
        sampler={"temperature": 0.7},
    )
    path = tmp_path / "run.json"
    path.write_bytes(orjson.dumps(record))
    [t] = load(path).trajectories
    assert (t.id, t.task_id, t.question, t.ground_truth, t.final_answer) == (
        "run-7",
        "budget-1944",
        "Outlays in 1944?",
        "95,059",
        "95,059",
    )
    assert t.outcome.correct is True and t.outcome.reward == 1.0 and t.model == "gpt-4.1"
    assert t.harness == "tool_calling"
    assert t.metadata == {"study": "demo", "harness": "tool_calling", "sampler": {"temperature": 0.7}}


def test_jsonl_bad_lines_are_errors_with_line_numbers(tmp_path: Path) -> None:
    lines = [
        orjson.dumps(openai_record(id="a", task_id="t")),
        b'{"messages": [{"role": "user", "content": "hi"}',
        orjson.dumps(openai_record(id="b", task_id="t")),
        orjson.dumps({"messages": [{"role": "wizard", "content": "hi"}]}),
        orjson.dumps(openai_record(id="c", task_id="t", correct="yes")),
    ]
    path = tmp_path / "runs.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = load(path)
    assert [t.id for t in result.trajectories] == ["a", "b"]
    assert [t.source.line for t in result.trajectories if t.source] == [1, 3]
    by_line = {e.line: e for e in result.errors}
    assert set(by_line) == {2, 4, 5}
    assert "truncated JSON" in by_line[2].reason or "malformed JSON" in by_line[2].reason
    assert by_line[4].field == "messages.0.role" and "unknown message role 'wizard'" in by_line[4].reason
    assert by_line[5].field == "correct"
