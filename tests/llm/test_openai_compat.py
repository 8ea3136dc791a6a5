"""OpenAICompatibleClient through the real openai SDK over an httpx2.MockTransport (vLLM, Ollama, llama.cpp, OpenAI)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from memex_audit.errors import ModelError
from memex_audit.llm import (
    ChatMessage,
    LLMRequest,
    ModelPrice,
    OpenAICompatibleClient,
    RedactedThinkingPart,
    RetryPolicy,
    TextPart,
    ThinkingPart,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
    allow_model_requests,
)


@pytest.fixture(autouse=True)
def _requests_over_the_fake_transport() -> Iterator[None]:
    # The transport is fake, so this module lets the real client send; tests of the switch
    # turn it off again inside.
    with allow_model_requests(True):
        yield


class FakeServer:
    def __init__(self, replies: list[httpx.Response | Exception]) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def client(self, **kwargs: Any) -> OpenAICompatibleClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.handler))
        return OpenAICompatibleClient("http://gpu-box:8000/v1/", "qwen3-32b", http_client=http, **kwargs)

    def body(self, n: int = 0) -> dict[str, Any]:
        return json.loads(self.requests[n].content)


class NoSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def _completion(
    message: dict[str, Any], finish: str = "stop", usage: dict[str, Any] | None = None
) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "qwen3-32b",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage or {"prompt_tokens": 50, "completion_tokens": 7, "total_tokens": 57},
        },
    )


TOOLS = [
    ToolSpec(
        name="read_step",
        description="Read one step.",
        input_schema={"type": "object", "properties": {"index": {"type": "integer"}}, "required": ["index"]},
    )
]


def test_maps_system_messages_tools_and_tool_results_to_chat_completions() -> None:
    server = FakeServer([_completion({"role": "assistant", "content": "Step 3 is wrong."})])
    request = LLMRequest(
        system="You audit.",
        messages=[
            ChatMessage(role="user", content="Check step 3."),
            ChatMessage(
                role="assistant",
                content=[
                    {"type": "text", "text": "Reading it."},
                    {"type": "tool_use", "id": "call_a", "name": "read_step", "input": {"index": 3}},
                ],
            ),
            ChatMessage(
                role="user",
                content=[
                    {
                        "type": "tool_result",
                        "tool_use_id": "call_a",
                        "content": [{"type": "text", "text": "x=1"}],
                    }
                ],
            ),
        ],
        tools=TOOLS,
        max_tokens=256,
        temperature=0.2,
        stop_sequences=["</answer>"],
    )
    response = asyncio.run(server.client(api_key="k").complete(request))

    sent = server.requests[0]
    assert str(sent.url) == "http://gpu-box:8000/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer k"
    body = server.body()
    assert body["model"] == "qwen3-32b"
    assert body["max_tokens"] == 256 and body["temperature"] == 0.2 and body["stop"] == ["</answer>"]
    assert body["messages"] == [
        {"role": "system", "content": "You audit."},
        {"role": "user", "content": "Check step 3."},
        {
            "role": "assistant",
            "content": "Reading it.",
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "read_step", "arguments": '{"index":3}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": "x=1"},
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "read_step",
                "description": "Read one step.",
                "parameters": TOOLS[0].input_schema,
            },
        }
    ]
    assert response.text == "Step 3 is wrong."
    assert response.stop_reason == "stop"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (50, 7)
    assert response.usage.cost_usd is None  # no price known for a self-served model


def test_tool_calls_in_the_reply_and_bad_arguments_are_kept_raw() -> None:
    reply = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "read_step", "arguments": '{"index": 4}'}},
            {"id": "c2", "type": "function", "function": {"name": "read_step", "arguments": "{index: 5"}},
        ],
    }
    usage = {"prompt_tokens": 100, "completion_tokens": 20, "prompt_tokens_details": {"cached_tokens": 64}}
    server = FakeServer([_completion(reply, finish="tool_calls", usage=usage)])
    client = server.client(price=ModelPrice(input=1.0, output=2.0, cache_read=0.5))
    response = asyncio.run(
        client.complete(LLMRequest(system="s", messages=[ChatMessage(role="user", content="go")]))
    )
    assert response.text == ""
    assert response.stop_reason == "tool_calls"
    assert response.tool_calls[0].arguments == {"index": 4}
    assert response.tool_calls[1].arguments == {} and response.tool_calls[1].arguments_raw == "{index: 5"
    assert response.usage.cache_read_tokens == 64
    assert response.usage.cost_usd == pytest.approx((36 * 1.0 + 64 * 0.5 + 20 * 2.0) / 1e6)


def test_retries_429_and_5xx_and_connection_errors_then_succeeds() -> None:
    server = FakeServer(
        [
            httpx.Response(
                429, json={"error": {"message": "rate limited"}}, headers={"retry-after-ms": "250"}
            ),
            httpx.Response(503, text="upstream down"),
            httpx.ConnectError("refused"),
            _completion({"role": "assistant", "content": "ok"}),
        ]
    )
    sleeps = NoSleep()
    client = server.client(retry=RetryPolicy(max_retries=4, initial_delay_s=1.0, jitter=0.0, sleep=sleeps))
    response = asyncio.run(
        client.complete(LLMRequest(system="", messages=[ChatMessage(role="user", content="x")]))
    )
    assert response.text == "ok"
    assert len(server.requests) == 4
    assert sleeps.delays == [0.25, 2.0, 4.0]
    assert server.body()["messages"] == [{"role": "user", "content": "x"}]  # no empty system message


def test_client_error_is_not_retried_and_carries_the_server_message() -> None:
    server = FakeServer(
        [httpx.Response(400, json={"error": "model 'qwen3-32b' not found, try pulling it first"})]
    )
    client = server.client(retry=RetryPolicy(sleep=NoSleep()))
    with pytest.raises(ModelError, match="not found, try pulling it first"):
        asyncio.run(client.complete(LLMRequest(system="s", messages=[ChatMessage(role="user", content="x")])))
    assert len(server.requests) == 1


def test_exhausted_retries_raise_model_error() -> None:
    server = FakeServer([httpx.Response(500, text="boom")] * 2)
    client = server.client(max_retries=1, retry=RetryPolicy(sleep=NoSleep()))
    with pytest.raises(ModelError, match="HTTP 500: boom.*after 2 attempts"):
        asyncio.run(client.complete(LLMRequest(system="s", messages=[ChatMessage(role="user", content="x")])))


def test_switch_blocks_before_any_request() -> None:
    server = FakeServer([])
    client = server.client()
    with allow_model_requests(False), pytest.raises(ModelError, match="switched off"):
        asyncio.run(client.complete(LLMRequest(system="s", messages=[ChatMessage(role="user", content="x")])))
    assert server.requests == []


def test_every_part_is_translated_and_a_reply_goes_back_as_it_came() -> None:
    calls = [
        {"id": "c1", "type": "function", "function": {"name": "read_step", "arguments": '{"index":4}'}},
        {"id": "c2", "type": "function", "function": {"name": "read_step", "arguments": '{"index":5}'}},
    ]
    reply = {
        "role": "assistant",
        "content": "Reading two.",
        "tool_calls": calls,
        "reasoning_content": "Both.",
    }
    server = FakeServer(
        [_completion(reply, finish="tool_calls"), _completion({"role": "assistant", "content": "ok"})]
    )
    client = server.client()
    first = LLMRequest(system="s", messages=[ChatMessage(role="user", content="go")], tools=TOOLS)
    response = asyncio.run(client.complete(first))
    assert response.reasoning == "Both." and response.text == "Reading two."
    assistant = response.as_message()
    assert assistant.content == [
        TextPart(text="Reading two."),
        ToolUsePart(id="c1", name="read_step", input={"index": 4}),
        ToolUsePart(id="c2", name="read_step", input={"index": 5}),
    ]
    # Thinking parts (signed for Anthropic's API) have no place in a chat completion.
    thought = ChatMessage(
        role="assistant",
        content=[
            ThinkingPart(thinking="hm", signature="s"),
            RedactedThinkingPart(data="x"),
            TextPart(text="Hm."),
        ],
    )
    answers = ChatMessage(
        role="user",
        content=[
            ToolResultPart(tool_use_id="c1", content="x=1"),
            ToolResultPart(tool_use_id="c2", content=[TextPart(text="no step 5")], is_error=True),
            TextPart(text="[turn 2]"),
        ],
    )
    follow = first.model_copy(update={"messages": [*first.messages, thought, assistant, answers]})
    asyncio.run(client.complete(follow))
    assert server.body(1)["messages"][1:] == [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "Hm."},
        {"role": "assistant", "content": "Reading two.", "tool_calls": calls},
        {"role": "tool", "tool_call_id": "c1", "content": "x=1"},
        {"role": "tool", "tool_call_id": "c2", "content": "Error: no step 5"},
        {"role": "user", "content": "[turn 2]"},
    ]


def test_content_parts_in_a_reply_are_joined_as_its_text() -> None:
    reply = {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    server = FakeServer([_completion(reply)])
    response = asyncio.run(
        server.client().complete(LLMRequest(system="s", messages=[ChatMessage(role="user", content="x")]))
    )
    assert response.text == "ab"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"id": "x", "object": "chat.completion", "model": "m", "choices": []}, "no choices"),
        ({"id": "x", "object": "chat.completion", "model": "m"}, "no choices"),
        (
            {
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "tool_calls": [{"id": "c", "function": None}]},
                    }
                ]
            },
            "shape of a chat completion",
        ),
    ],
)
def test_a_reply_that_is_not_a_chat_completion_is_a_model_error(body: dict[str, Any], why: str) -> None:
    server = FakeServer([httpx.Response(200, json=body)])
    client = server.client(retry=RetryPolicy(sleep=NoSleep()))
    with pytest.raises(ModelError, match=why):
        asyncio.run(client.complete(LLMRequest(system="s", messages=[ChatMessage(role="user", content="x")])))
