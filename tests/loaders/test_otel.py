"""OpenTelemetry / OpenInference span exports, written here from the OTLP JSON and OpenInference specs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from memex_audit.loaders import load, sniff_format

T0 = 1_700_000_000_000_000_000  # ns since the epoch


def _kv(attributes: dict[str, Any]) -> list[dict[str, Any]]:
    def value(v: Any) -> dict[str, Any]:
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}  # OTLP JSON writes 64-bit ints as strings
        if isinstance(v, float):
            return {"doubleValue": v}
        return {"stringValue": v}

    return [{"key": k, "value": value(v)} for k, v in attributes.items()]


def _span(
    span_id: str, parent: str | None, name: str, start_s: float, end_s: float, attrs: dict[str, Any]
) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": span_id,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(T0 + int(start_s * 1e9)),
        "endTimeUnixNano": str(T0 + int(end_s * 1e9)),
        "attributes": _kv(attrs),
        "status": {"code": 1},
    }
    if parent:
        span["parentSpanId"] = parent
    return span


def otlp_export() -> dict[str, Any]:
    """An agent trace: root AGENT span, an LLM call with a tool call, the TOOL span, a final LLM call."""
    spans = [
        _span(
            "tool1",
            "root",
            "search",
            2.0,
            2.5,
            {
                "openinference.span.kind": "TOOL",
                "tool.name": "search",
                "input.value": '{"q": "outlays"}',
                "output.value": "95,059",
            },
        ),
        _span(
            "root",
            None,
            "agent",
            0.0,
            4.0,
            {
                "openinference.span.kind": "AGENT",
                "input.value": "Outlays in 1944?",
                "output.value": "95,059 million",
            },
        ),
        _span(
            "llm1",
            "root",
            "ChatCompletion",
            0.5,
            1.5,
            {
                "openinference.span.kind": "LLM",
                "llm.model_name": "gpt-4o",
                "llm.input_messages.0.message.role": "user",
                "llm.input_messages.0.message.content": "Outlays in 1944?",
                "llm.output_messages.0.message.role": "assistant",
                "llm.output_messages.0.message.content": "I will search.",
                "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_9",
                "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "search",
                "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"q": "outlays"}',
                "llm.token_count.prompt": 100,
                "llm.token_count.completion": 20,
            },
        ),
        _span(
            "llm2",
            "root",
            "ChatCompletion",
            3.0,
            3.8,
            {
                "openinference.span.kind": "LLM",
                "llm.model_name": "gpt-4o",
                "llm.output_messages.0.message.content": "95,059 million",
                "llm.token_count.prompt": 150,
                "llm.token_count.completion": 5,
            },
        ),
    ]
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _kv({"service.name": "budget-agent"})},
                "scopeSpans": [{"scope": {"name": "openinference"}, "spans": spans}],
            }
        ]
    }


def test_otlp_spans_become_steps_in_time_order(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    path.write_bytes(orjson.dumps(otlp_export()))
    assert sniff_format(path).name == "otel"  # type: ignore[union-attr]
    [t] = load(path).trajectories
    # The LLM span's input message (the task) becomes a user step before the LLM step.
    assert [s.metadata["span_id"] for s in t.steps] == ["root", "llm1", "llm1", "tool1", "llm2"]
    assert [s.role for s in t.steps] == ["assistant", "user", "assistant", "tool", "assistant"]
    assert t.steps[0].agent == "agent" and t.steps[0].metadata["span_kind"] == "AGENT"
    assert t.steps[1].text == "Outlays in 1944?" and t.steps[1].metadata["from"] == "llm input messages"
    llm = t.steps[2]
    assert llm.text == "I will search." and llm.duration_s == 1.0
    call = llm.tool_calls[0]
    assert (call.id, call.name, call.arguments) == ("call_9", "search", {"q": "outlays"})
    assert llm.usage is not None and (llm.usage.input_tokens, llm.usage.output_tokens) == (100, 20)
    assert "llm.input_messages.0.message.content" not in llm.metadata["attributes"]  # type: ignore[operator]
    tool = t.steps[3]
    assert (tool.tool_name, tool.tool_call_id, tool.output) == ("search", "call_9", "95,059")
    assert tool.metadata["parent_span_id"] == "root"
    assert (t.task_id, t.model, t.harness) == ("5b8efff798038103d269b633813fc60c", "gpt-4o", "budget-agent")
    assert (t.question, t.final_answer) == ("Outlays in 1944?", "95,059 million")
    assert t.usage.input_tokens == 250
    assert t.steps[0].started_at is not None and t.steps[0].started_at.year == 2023


def test_trail_style_nested_spans(tmp_path: Path) -> None:
    trace = {
        "trace_id": "abc",
        "spans": [
            {
                "span_id": "s1",
                "span_name": "CodeAgent.run",
                "timestamp": "2025-03-19T16:44:59.000000Z",
                "duration": "PT10S",
                "span_attributes": {"openinference.span.kind": "AGENT", "input.value": "Find the paper."},
                "child_spans": [
                    {
                        "span_id": "s2",
                        "parent_span_id": "s1",
                        "span_name": "LiteLLMModel.__call__",
                        "timestamp": "2025-03-19T16:45:00.000000Z",
                        "duration": "PT2.5S",
                        "span_attributes": {
                            "openinference.span.kind": "LLM",
                            "llm.model_name": "o3-mini",
                            "output.value": "Thought: search arxiv",
                        },
                        "child_spans": [],
                    },
                    {
                        "span_id": "s3",
                        "parent_span_id": "s1",
                        "span_name": "SearchTool",
                        "timestamp": "2025-03-19T16:45:03.000000Z",
                        "duration": "PT1S",
                        "status_code": "Error",
                        "status_message": "rate limited",
                        "span_attributes": {"openinference.span.kind": "TOOL", "tool.name": "web_search"},
                        "child_spans": [],
                    },
                ],
            }
        ],
    }
    path = tmp_path / "abc.json"
    path.write_bytes(orjson.dumps(trace))
    [t] = load(path).trajectories
    assert [s.metadata["span_id"] for s in t.steps] == ["s1", "s2", "s3"]
    assert t.steps[1].text == "Thought: search arxiv" and t.steps[1].duration_s == 2.5
    assert (
        t.steps[2].role == "tool"
        and t.steps[2].tool_name == "web_search"
        and t.steps[2].error == "rate limited"
    )
    assert t.model == "o3-mini" and t.question == "Find the paper."


def test_sdk_jsonl_groups_spans_by_trace_and_reports_a_bad_line(tmp_path: Path) -> None:
    def span(trace: str, span_id: str, parent: str | None, kind: str, start: str) -> bytes:
        return orjson.dumps(
            {
                "name": f"{kind.lower()}-{span_id}",
                "context": {"trace_id": trace, "span_id": span_id},
                "parent_id": parent,
                "start_time": start,
                "end_time": start,
                "status": {"status_code": "OK"},
                "attributes": {"openinference.span.kind": kind, "output.value": f"out-{span_id}"},
            }
        )

    lines = [
        span("t1", "a", None, "CHAIN", "2025-01-01T00:00:00Z"),
        span("t2", "x", None, "CHAIN", "2025-01-01T00:00:00Z"),
        b'{"name": "broken", "context": {"span_id": "q"}}',
        span("t1", "b", "a", "TOOL", "2025-01-01T00:00:01Z"),
    ]
    path = tmp_path / "spans.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = load(path)
    assert [(t.task_id, len(t.steps)) for t in result.trajectories] == [("t1", 2), ("t2", 1)]
    assert result.trajectories[0].steps[1].output == "out-b"
    [error] = result.errors
    assert error.line == 3 and "no trace_id" in error.reason


FIXTURES = Path(__file__).parent / "fixtures"
GENAI = FIXTURES / "otel_genai_openai_v2_2.4b0.json"
OPENINFERENCE = FIXTURES / "openinference_openai_0.1.66.json"


def _roles_and_calls(t: Any) -> list[tuple[str, str | None, list[str], str | None]]:
    return [(s.role, s.text, [c.name for c in s.tool_calls], s.output) for s in t.steps]


EXPECTED_STEPS = [
    ("system", "Use the lookup tool when you need data.", [], None),
    ("user", "What were total federal outlays in 1944, in millions?", [], None),
    ("assistant", None, ["lookup"], None),
    ("tool", None, [], "Total outlays in 1944: 95,059 million dollars"),
    ("assistant", "Total outlays in 1944 were 95,059 million dollars.", [], None),
]


def test_spans_of_the_current_genai_conventions_become_steps() -> None:
    # Written by opentelemetry-instrumentation-openai-v2 on opentelemetry-util-genai, with
    # gen_ai.input.messages / gen_ai.output.messages as JSON and an execute_tool span.
    result = load(GENAI)
    assert result.errors == [] and result.warnings == []
    [t] = result.trajectories
    root = t.steps[0]
    assert root.metadata["span_kind"] == "AGENT" and root.agent == "outlays-agent"
    assert _roles_and_calls(t)[1:] == EXPECTED_STEPS
    call = t.steps[3].tool_calls[0]
    assert (call.id, call.arguments) == ("call_7Fq2", {"year": 1944})
    tool = t.steps[4]
    assert (tool.tool_call_id, tool.tool_name) == ("call_7Fq2", "lookup")
    assert t.question == "What were total federal outlays in 1944, in millions?"
    assert t.final_answer == "Total outlays in 1944 were 95,059 million dollars."
    assert (t.model, t.usage.input_tokens, t.usage.output_tokens) == ("gpt-4o-mini-2024-07-18", 61 + 88, 28)
    assert t.steps[5].metadata["finish_reason"] == "stop"


def test_openinference_input_messages_become_steps_and_tool_call_only_outputs_have_no_text() -> None:
    [t] = load(OPENINFERENCE).trajectories
    assert _roles_and_calls(t)[1:] == EXPECTED_STEPS
    assert t.steps[3].text is None  # not the raw response JSON
    assert t.steps[1].metadata["from"] == "llm input messages"
    assert (t.question, t.final_answer) == (
        "What were total federal outlays in 1944, in millions?",
        "Total outlays in 1944 were 95,059 million dollars.",
    )


def test_spans_without_captured_content_load_with_a_warning_that_says_why(tmp_path: Path) -> None:
    spans = orjson.loads(GENAI.read_bytes())
    for span in spans:
        for key in (
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "gen_ai.tool.call.arguments",
            "gen_ai.tool.call.result",
        ):
            span["attributes"].pop(key, None)
    path = tmp_path / "no-content.json"
    path.write_bytes(orjson.dumps(spans))
    result = load(path)
    assert len(result.trajectories) == 1 and result.errors == []
    [warning] = result.warnings
    assert "none with text, tool calls or outputs" in warning.reason
    assert "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT" in warning.reason


def test_content_recorded_as_a_span_event_and_older_indexed_prompts_are_read(tmp_path: Path) -> None:
    spans = orjson.loads(GENAI.read_bytes())
    chat = next(
        s
        for s in spans
        if s["name"].startswith("chat") and "tool_calls" in s["attributes"]["gen_ai.output.messages"]
    )
    moved = {k: chat["attributes"].pop(k) for k in ("gen_ai.input.messages", "gen_ai.output.messages")}
    chat["events"] = [
        {
            "name": "gen_ai.client.inference.operation.details",
            "timestamp": chat["start_time"],
            "attributes": moved,
        }
    ]
    final = next(s for s in spans if s is not chat and s["name"].startswith("chat"))
    final["attributes"].pop("gen_ai.input.messages")
    final["attributes"].pop("gen_ai.output.messages")
    final["attributes"].update(
        {
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "What were total federal outlays in 1944, in millions?",
            "gen_ai.prompt.1.role": "tool",
            "gen_ai.prompt.1.tool_call_id": "call_7Fq2",
            "gen_ai.prompt.1.content": "Total outlays in 1944: 95,059 million dollars",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "95,059 million dollars.",
        }
    )
    path = tmp_path / "mixed.json"
    path.write_bytes(orjson.dumps(spans))
    [t] = load(path).trajectories
    roles = [s.role for s in t.steps]
    assert roles == ["assistant", "system", "user", "assistant", "tool", "assistant"]  # nothing repeated
    assert t.steps[3].tool_calls[0].name == "lookup" and t.final_answer == "95,059 million dollars."
