"""AnthropicClient through the real SDK over a fake HTTP transport (no network)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest

from memex_audit.errors import ModelError, UsageError
from memex_audit.llm import (
    AnthropicClient,
    CacheControl,
    ChatMessage,
    LLMRequest,
    RedactedThinkingPart,
    RetryPolicy,
    TextPart,
    ThinkingPart,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
    UsageLedger,
    allow_model_requests,
    estimate_cost,
)
from memex_audit.trajectory import Usage


@pytest.fixture(autouse=True)
def _requests_over_the_fake_transport() -> Iterator[None]:
    # The transport is fake, so this module lets the real client send; tests of the switch
    # turn it off again inside.
    with allow_model_requests(True):
        yield


CODE_REPLY = "Let me look.\n```python\nprint(len(trajectories))\n```"


def _message(
    content: list[dict[str, Any]],
    *,
    stop_reason: str = "end_turn",
    usage: dict[str, int] | None = None,
    model: str = "claude-sonnet-4-6",
) -> dict[str, Any]:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage or {"input_tokens": 10, "output_tokens": 5},
    }


class FakeAnthropic:
    """Answers /v1/messages with queued (status, body, headers) replies and records request bodies."""

    def __init__(self, replies: list[tuple[int, dict[str, Any], dict[str, str]]]) -> None:
        self.replies = list(replies)
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[httpx2.Headers] = []

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == "/v1/messages"
        self.bodies.append(json.loads(request.content))
        self.headers.append(request.headers)
        status, body, headers = self.replies.pop(0)
        return httpx2.Response(status, json=body, headers=headers)

    def client(self, **kwargs: Any) -> AnthropicClient:
        http = httpx2.AsyncClient(transport=httpx2.MockTransport(self.handler))
        return AnthropicClient(api_key="sk-test", http_client=http, **kwargs)


class RecordedSleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def _request(text: str = "How many trajectories?", **kwargs: Any) -> LLMRequest:
    return LLMRequest(
        system="You audit trajectories with Python.",
        messages=[ChatMessage(role="user", content=text)],
        **kwargs,
    )


def _run(coro_fn: Callable[[], Any]) -> Any:
    return asyncio.run(coro_fn())


def test_two_turns_map_text_usage_cost_and_mark_cache_breakpoints() -> None:
    first_usage = {
        "input_tokens": 40,
        "output_tokens": 25,
        "cache_creation_input_tokens": 1200,
        "cache_read_input_tokens": 0,
    }
    second_usage = {
        "input_tokens": 30,
        "output_tokens": 12,
        "cache_creation_input_tokens": 60,
        "cache_read_input_tokens": 1200,
    }
    fake = FakeAnthropic(
        [
            (200, _message([{"type": "text", "text": CODE_REPLY}], usage=first_usage), {}),
            (200, _message([{"type": "text", "text": "Done: 3."}], usage=second_usage), {}),
        ]
    )
    ledger = UsageLedger()
    client = fake.client(ledger=ledger)

    async def conversation() -> tuple[Any, Any]:
        request = _request()
        first = await client.complete(request)
        follow_up = request.model_copy(
            update={
                "messages": [
                    *request.messages,
                    first.as_message(),
                    ChatMessage(role="user", content="Output:\n3"),
                ]
            }
        )
        second = await client.complete(follow_up)
        return first, second

    first, second = _run(conversation)

    assert first.text == CODE_REPLY
    assert first.stop_reason == "end_turn"
    assert first.model == "claude-sonnet-4-6"
    assert first.usage.input_tokens == 40 + 1200
    assert first.usage.cache_write_tokens == 1200
    assert first.usage.output_tokens == 25
    # $3 / MTok input, $3.75 cache write, $15 output
    assert first.usage.cost_usd == pytest.approx((40 * 3 + 1200 * 3.75 + 25 * 15) / 1e6)
    assert second.text == "Done: 3."
    assert second.usage.cache_read_tokens == 1200
    assert second.usage.cost_usd == pytest.approx((30 * 3 + 60 * 3.75 + 1200 * 0.3 + 12 * 15) / 1e6)

    body = fake.bodies[0]
    assert body["model"] == "claude-sonnet-4-6"
    assert body["system"] == [
        {
            "type": "text",
            "text": "You audit trajectories with Python.",
            "cache_control": {"type": "ephemeral"},
        }
    ]
    assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    second_body = fake.bodies[1]
    assert [m["role"] for m in second_body["messages"]] == ["user", "assistant", "user"]
    assert second_body["messages"][1]["content"] == CODE_REPLY  # only the newest message is marked
    assert second_body["messages"][2]["content"][-1] == {
        "type": "text",
        "text": "Output:\n3",
        "cache_control": {"type": "ephemeral"},
    }
    assert "sk-test" in (fake.headers[0].get("x-api-key") or fake.headers[0].get("authorization") or "")

    totals = ledger.by_model()["claude-sonnet-4-6"]
    assert totals.calls == 2
    assert totals.usage.output_tokens == 37
    assert totals.usage.cost_usd == pytest.approx(first.usage.cost_usd + second.usage.cost_usd)


def test_caching_off_sends_plain_prefix() -> None:
    fake = FakeAnthropic([(200, _message([{"type": "text", "text": "hi"}]), {})])
    client = fake.client(prompt_caching=False)
    _run(lambda: client.complete(_request()))
    body = fake.bodies[0]
    assert "cache_control" not in json.dumps(body)
    assert body["messages"] == [{"role": "user", "content": "How many trajectories?"}]


def test_retries_overloaded_529_then_succeeds_honouring_retry_after() -> None:
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    fake = FakeAnthropic(
        [
            (529, overloaded, {"retry-after": "2"}),
            (429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}, {}),
            (200, _message([{"type": "text", "text": "ok"}]), {}),
        ]
    )
    sleeps = RecordedSleeps()
    client = fake.client(retry=RetryPolicy(max_retries=3, initial_delay_s=0.5, jitter=0.0, sleep=sleeps))
    response = _run(lambda: client.complete(_request()))
    assert response.text == "ok"
    assert len(fake.bodies) == 3
    assert sleeps.delays == [2.0, 1.0]  # retry-after honoured, then backoff 0.5 * 2**1


def test_retries_are_bounded() -> None:
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    fake = FakeAnthropic([(529, overloaded, {})] * 3)
    client = fake.client(retry=RetryPolicy(max_retries=2, sleep=RecordedSleeps()))
    with pytest.raises(ModelError, match=r"Overloaded.*gave up after 3 attempts"):
        _run(lambda: client.complete(_request()))


def test_bad_request_is_a_model_error_with_the_api_message_and_no_retry() -> None:
    bad = {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: must be at least 1"},
    }
    fake = FakeAnthropic([(400, bad, {})])
    client = fake.client(retry=RetryPolicy(sleep=RecordedSleeps()))
    with pytest.raises(ModelError, match="max_tokens: must be at least 1") as info:
        _run(lambda: client.complete(_request()))
    assert "400" in str(info.value)
    assert len(fake.bodies) == 1


def test_tool_use_blocks_become_tool_calls_and_tools_are_cached() -> None:
    reply = _message(
        [
            {"type": "text", "text": "I will search."},
            {"type": "tool_use", "id": "toolu_01", "name": "search_steps", "input": {"pattern": "revenue"}},
        ],
        stop_reason="tool_use",
    )
    fake = FakeAnthropic([(200, reply, {})])
    tools = [
        ToolSpec(
            name="list_steps", description="List steps.", input_schema={"type": "object", "properties": {}}
        ),
        ToolSpec(
            name="search_steps",
            description="Search steps.",
            input_schema={"type": "object", "properties": {"pattern": {"type": "string"}}},
        ),
    ]
    response = _run(lambda: fake.client().complete(_request(tools=tools, temperature=0.0)))
    assert response.stop_reason == "tool_use"
    assert response.text == "I will search."
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("toolu_01", "search_steps", {"pattern": "revenue"})
    ]
    body = fake.bodies[0]
    assert "temperature" not in body  # API 2026-10-21 rejects sampling parameters on every model
    assert [t["name"] for t in body["tools"]] == ["list_steps", "search_steps"]
    assert "cache_control" not in body["tools"][0]
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}

    # The reply goes back as tool_use blocks; the tool_result answer gets the breakpoint.
    follow = _request(tools=tools).model_copy(
        update={
            "messages": [
                ChatMessage(role="user", content="Find revenue."),
                response.as_message(),
                ChatMessage(
                    role="user",
                    content=[{"type": "tool_result", "tool_use_id": "toolu_01", "content": "step 4"}],
                ),
            ]
        }
    )
    params = fake.client().request_params(follow)
    assert params["messages"][1]["content"][1]["type"] == "tool_use"
    assert params["messages"][2]["content"][0]["cache_control"] == {"type": "ephemeral"}
    caller_part = follow.messages[2].content[0]
    assert isinstance(caller_part, ToolResultPart) and caller_part.cache_control is None  # untouched


def test_thinking_is_kept_as_reasoning_and_sent_back_with_tool_use() -> None:
    reply = _message(
        [
            {"type": "thinking", "thinking": "Step 4 has the table.", "signature": "sig=="},
            {"type": "tool_use", "id": "toolu_9", "name": "read_step", "input": {"index": 4}},
        ],
        stop_reason="tool_use",
    )
    fake = FakeAnthropic([(200, reply, {})])
    response = _run(lambda: fake.client().complete(_request()))
    assert response.reasoning == "Step 4 has the table."
    assert response.text == ""
    assert response.as_message().content == [
        ThinkingPart(thinking="Step 4 has the table.", signature="sig=="),
        ToolUsePart(id="toolu_9", name="read_step", input={"index": 4}),
    ]


def test_every_part_goes_to_the_wire_and_back_unchanged() -> None:
    reply_blocks: list[dict[str, Any]] = [
        {"type": "thinking", "thinking": "Step 4 has the table.", "signature": "sig=="},
        {"type": "redacted_thinking", "data": "ENCRYPTED"},
        {"type": "text", "text": "Reading step 4."},
        {"type": "tool_use", "id": "toolu_9", "name": "read_step", "input": {"index": 4}},
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}},
    ]
    fake = FakeAnthropic([(200, _message(reply_blocks, stop_reason="tool_use"), {})])
    client = fake.client(prompt_caching=False)
    response = _run(lambda: client.complete(_request()))
    assert response.blocks == [
        ThinkingPart(thinking="Step 4 has the table.", signature="sig=="),
        RedactedThinkingPart(data="ENCRYPTED"),
        TextPart(text="Reading step 4."),
        ToolUsePart(id="toolu_9", name="read_step", input={"index": 4}),
    ]  # a server-side tool block is not ours to send back
    answer = ChatMessage(
        role="user",
        content=[
            ToolResultPart(tool_use_id="toolu_9", content="| year | revenue |"),
            ToolResultPart(tool_use_id="toolu_8", content=[TextPart(text="no such step")], is_error=True),
            TextPart(text="[turn 2 of 30]"),
        ],
    )
    follow = _request().model_copy(update={"messages": [*_request().messages, response.as_message(), answer]})
    wire = client.request_params(follow)["messages"]
    assert wire[1] == {"role": "assistant", "content": reply_blocks[:4]}
    assert wire[2] == {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_9",
                "content": "| year | revenue |",
                "is_error": False,
            },
            {
                "type": "tool_result",
                "tool_use_id": "toolu_8",
                "content": [{"type": "text", "text": "no such step"}],
                "is_error": True,
            },
            {"type": "text", "text": "[turn 2 of 30]"},
        ],
    }


def test_tool_input_that_is_not_an_object_is_kept_as_text() -> None:
    reply = _message(
        [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": [1, 2]}], stop_reason="tool_use"
    )
    response = _run(lambda: FakeAnthropic([(200, reply, {})]).client().complete(_request()))
    [call] = response.tool_calls
    assert (call.arguments, call.arguments_raw) == ({}, "[1, 2]")
    assert response.blocks == [ToolUsePart(id="toolu_1", name="f", input={})]


def test_a_caller_breakpoint_with_a_ttl_is_sent_as_given() -> None:
    part = TextPart(text="the long document", cache_control=CacheControl(ttl="1h"))
    request = LLMRequest(system="", messages=[ChatMessage(role="user", content=[part, TextPart(text="q")])])
    wire = FakeAnthropic([]).client().request_params(request)["messages"][0]["content"]
    assert wire == [
        {"type": "text", "text": "the long document", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        {"type": "text", "text": "q", "cache_control": {"type": "ephemeral"}},
    ]


def test_an_empty_last_text_part_gets_no_breakpoint() -> None:
    request = LLMRequest(system="", messages=[ChatMessage(role="user", content=[TextPart(text="")])])
    assert FakeAnthropic([]).client().request_params(request)["messages"][0]["content"] == [
        {"type": "text", "text": ""}
    ]


def test_connection_errors_are_retried() -> None:
    calls = {"n": 0}

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx2.ConnectError("connection reset", request=request)
        return httpx2.Response(200, json=_message([{"type": "text", "text": "back"}]))

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    client = AnthropicClient(api_key="sk-test", http_client=http, retry=RetryPolicy(sleep=RecordedSleeps()))
    assert _run(lambda: client.complete(_request())).text == "back"
    assert calls["n"] == 2


def test_breakpoints_stay_within_the_api_limit() -> None:
    marked = {"type": "ephemeral"}
    blocks: list[dict[str, Any]] = [
        {"type": "text", "text": "doc A", "cache_control": marked},
        {"type": "text", "text": "doc B", "cache_control": marked},
        {"type": "text", "text": "question"},
    ]
    tools = [ToolSpec(name="t", description="d", input_schema={"type": "object"})]
    request = LLMRequest(system="sys", messages=[ChatMessage(role="user", content=blocks)], tools=tools)
    params = FakeAnthropic([]).client().request_params(request)
    assert json.dumps(params).count("cache_control") == 4  # system, tools, the caller's two
    assert "cache_control" not in params["messages"][0]["content"][-1]


def test_missing_api_key_says_how_to_fix_it() -> None:
    with pytest.raises(UsageError, match="ANTHROPIC_API_KEY.*offline"):
        AnthropicClient()


def test_switch_blocks_the_request_before_any_io() -> None:
    fake = FakeAnthropic([])
    client = fake.client()
    with allow_model_requests(False), pytest.raises(ModelError, match="switched off"):
        _run(lambda: client.complete(_request()))
    assert fake.bodies == []


def test_unknown_model_has_no_cost() -> None:
    fake = FakeAnthropic([(200, _message([{"type": "text", "text": "x"}], model="claude-unreleased-9"), {})])
    response = _run(lambda: fake.client(model="claude-unreleased-9").complete(_request()))
    assert response.usage.cost_usd is None
    assert response.usage.input_tokens == 10


def test_price_table_resolves_dated_ids() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert estimate_cost("claude-haiku-4-5-20251001", usage) == pytest.approx(6.0)
    assert estimate_cost("gpt-unknown", usage) is None
    long_prompt = Usage(input_tokens=150_000, output_tokens=0)
    assert estimate_cost("claude-haiku-5-5", long_prompt) == pytest.approx(150_000 * 0.5 / 1e6)


@pytest.mark.live
def test_live_tiny_prompt() -> None:
    client = AnthropicClient("claude-haiku-4-5", max_retries=2)
    with allow_model_requests(True):
        response = asyncio.run(
            client.complete(
                LLMRequest(
                    system="Answer with one word.",
                    messages=[ChatMessage(role="user", content="Say OK.")],
                    max_tokens=10,
                )
            )
        )
    assert response.text.strip()
    assert response.usage.output_tokens > 0
    assert response.usage.cost_usd is not None
