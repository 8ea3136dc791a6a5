from __future__ import annotations

import asyncio
import json
from pathlib import Path

from memex_audit.llm import (
    CachedClient,
    ChatMessage,
    FunctionModel,
    LLMRequest,
    LLMResponse,
    RedactedThinkingPart,
    TextPart,
    ThinkingPart,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
    allow_model_requests,
    request_key,
)
from memex_audit.trajectory import Usage


def _priced(request: LLMRequest) -> LLMResponse:
    return LLMResponse(
        text=f"answer to {request.messages[-1].content}",
        usage=Usage(input_tokens=100, output_tokens=10, cost_usd=0.002),
        model="fn",
    )


def _request(text: str, **kwargs: object) -> LLMRequest:
    return LLMRequest(system="sys", messages=[ChatMessage(role="user", content=text)], **kwargs)  # type: ignore[arg-type]


def test_miss_then_hit_is_free_and_flagged(tmp_path: Path) -> None:
    inner = FunctionModel(_priced, model="fn")
    client = CachedClient(inner, tmp_path / "cache")
    first = asyncio.run(client.complete(_request("q1")))
    second = asyncio.run(client.complete(_request("q1")))
    assert first.cached is False and first.usage.cost_usd == 0.002
    assert second.cached is True
    assert second.text == first.text
    assert second.usage.cost_usd == 0.0
    assert second.usage.input_tokens == 100
    assert len(inner.requests) == 1
    assert (client.stats.hits, client.stats.misses) == (1, 1)
    assert client.model == "fn"


def test_any_change_in_the_request_or_model_is_a_miss(tmp_path: Path) -> None:
    inner = FunctionModel(_priced, model="fn")
    client = CachedClient(inner, tmp_path)
    asyncio.run(client.complete(_request("q")))
    asyncio.run(client.complete(_request("q", max_tokens=10)))
    asyncio.run(client.complete(_request("q", temperature=0.5)))
    asyncio.run(client.complete(_request("q2")))
    other = CachedClient(FunctionModel(_priced, model="other"), tmp_path)
    asyncio.run(other.complete(_request("q")))
    assert len(inner.requests) == 4
    assert other.stats.misses == 1


def test_corrupt_entry_is_a_miss_and_gets_rewritten(tmp_path: Path) -> None:
    inner = FunctionModel(_priced, model="fn")
    client = CachedClient(inner, tmp_path)
    request = _request("q")
    asyncio.run(client.complete(request))
    path = client.path_for(request)
    path.write_text('{"format": 1, "response": {"text": ')  # torn write from another tool
    response = asyncio.run(client.complete(request))
    assert response.cached is False
    assert client.stats.corrupt == 1
    assert json.loads(path.read_text())["response"]["text"] == "answer to q"
    assert asyncio.run(client.complete(request)).cached is True
    assert not list(path.parent.glob(".tmp-*"))  # atomic writes leave no temporary files


def test_hits_work_while_real_requests_are_off(tmp_path: Path) -> None:
    inner = FunctionModel(_priced, model="fn")
    client = CachedClient(inner, tmp_path)
    asyncio.run(client.complete(_request("q")))
    with allow_model_requests(False):
        assert asyncio.run(client.complete(_request("q"))).cached is True


# A tool-calling request with every kind of part, and the key it had when content was dicts.
ENTRY = Path(__file__).parent / "data" / "cache_entry_format_1.json"
KEY_OF_TOOL_REQUEST = "0877dfce1c8bd50df0c950a06b40ae27902c0f073daf3e1b64b9f8da978ec69c"


def _tool_request() -> LLMRequest:
    return LLMRequest(
        system="You audit.",
        messages=[
            ChatMessage(role="user", content="Check step 3."),
            ChatMessage(
                role="assistant",
                content=[
                    ThinkingPart(thinking="Step 3 reads a file.", signature="sig-1"),
                    RedactedThinkingPart(data="opaque"),
                    TextPart(text="Reading it."),
                    ToolUsePart(id="call_a", name="read_step", input={"index": 3}),
                ],
            ),
            ChatMessage(
                role="user",
                content=[
                    ToolResultPart(tool_use_id="call_a", content="x=1", is_error=False),
                    TextPart(text="[turn 2 of 30]"),
                ],
            ),
        ],
        tools=[
            ToolSpec(
                name="read_step",
                description="Read a step.",
                input_schema={"type": "object", "properties": {"index": {"type": "integer"}}},
            )
        ],
        max_tokens=1000,
        temperature=0.0,
        stop_sequences=["<end_code>"],
    )


def test_the_key_of_a_typed_request_is_the_key_it_had_as_dicts() -> None:
    assert request_key("claude-sonnet-4-6", _tool_request()) == KEY_OF_TOOL_REQUEST
    recorded = json.loads(ENTRY.read_text())["request"]
    assert request_key("claude-sonnet-4-6", LLMRequest.model_validate(recorded)) == KEY_OF_TOOL_REQUEST
    plain = LLMRequest(system="sys", messages=[ChatMessage(role="user", content="hello")])
    assert (
        request_key("scripted", plain) == "4a3ca49929ca166363cc4929f64436de0f4d0ade356c401ce4145b8ff622537d"
    )


def test_an_entry_written_in_todays_format_replays_with_typed_parts(tmp_path: Path) -> None:
    def unreachable(request: LLMRequest) -> str:
        raise AssertionError("a recorded request must not reach the model")

    client = CachedClient(FunctionModel(unreachable, model="claude-sonnet-4-6"), tmp_path, replay=True)
    path = client.path_for(_tool_request())
    assert path.name == f"{KEY_OF_TOOL_REQUEST}.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(ENTRY.read_bytes())
    response = asyncio.run(client.complete(_tool_request()))
    assert response.cached is True and client.stats.hits == 1
    assert response.blocks == [
        ThinkingPart(thinking="Step 4 next.", signature="sig-2"),
        RedactedThinkingPart(data="opaque-2"),
        TextPart(text="Reading it."),
        ToolUsePart(id="toolu_02", name="read_step", input={"index": 4}),
    ]
    assert response.as_message().content == response.blocks  # sent back with its thinking
    assert [(c.id, c.arguments) for c in response.tool_calls] == [("toolu_02", {"index": 4})]


def test_an_entry_with_a_part_of_unknown_type_is_a_miss(tmp_path: Path) -> None:
    client = CachedClient(FunctionModel(_priced, model="fn"), tmp_path)
    request = _request("q")
    asyncio.run(client.complete(request))
    path = client.path_for(request)
    entry = json.loads(path.read_text())
    entry["response"]["blocks"] = [{"type": "hologram", "data": "?"}]
    path.write_text(json.dumps(entry))
    assert asyncio.run(client.complete(request)).cached is False
    assert client.stats.corrupt == 1
