from __future__ import annotations

import asyncio
import time

import pytest

from memex_audit.errors import ModelError
from memex_audit.llm import (
    ChatMessage,
    FunctionModel,
    LLMClient,
    LLMRequest,
    LLMResponse,
    ScriptedModel,
    TextPart,
    ToolUsePart,
    estimate_tokens,
)
from memex_audit.trajectory import ToolCall, Usage


def _request(text: str = "hello") -> LLMRequest:
    return LLMRequest(system="You are terse.", messages=[ChatMessage(role="user", content=text)])


def test_scripted_model_replies_in_order_and_records_requests() -> None:
    model = ScriptedModel(["first", "second"])
    assert isinstance(model, LLMClient)
    first = asyncio.run(model.complete(_request("a")))
    second = asyncio.run(model.complete(_request("b")))
    assert (first.text, second.text) == ("first", "second")
    assert first.model == "scripted"
    assert first.usage.input_tokens > 0 and first.usage.output_tokens > 0
    assert [r.messages[0].content for r in model.requests] == ["a", "b"]
    assert model.remaining == 0


def test_scripted_model_exhaustion_is_a_model_error() -> None:
    model = ScriptedModel(["only"])
    asyncio.run(model.complete(_request()))
    with pytest.raises(ModelError, match="ran out of replies"):
        asyncio.run(model.complete(_request()))


def test_scripted_model_raises_exception_replies_and_passes_responses_through() -> None:
    scripted = LLMResponse(
        text="",
        tool_calls=[ToolCall(id="t1", name="lookup", arguments={"q": "x"})],
        usage=Usage(input_tokens=7, output_tokens=3),
        model="m",
        stop_reason="tool_use",
    )
    model = ScriptedModel([ValueError("boom"), scripted])
    with pytest.raises(ValueError, match="boom"):
        asyncio.run(model.complete(_request()))
    assert asyncio.run(model.complete(_request())) is scripted


def test_scripted_model_delay_overlaps_when_concurrent() -> None:
    model = ScriptedModel([f"r{i}" for i in range(8)], delay_s=0.2)

    async def many() -> list[LLMResponse]:
        return await asyncio.gather(*(model.complete(_request()) for _ in range(8)))

    started = time.perf_counter()
    replies = asyncio.run(many())
    elapsed = time.perf_counter() - started
    assert sorted(r.text for r in replies) == [f"r{i}" for i in range(8)]
    assert elapsed < 1.0  # 8 x 0.2 s would be 1.6 s if the calls did not overlap


def test_function_model_sync_and_async() -> None:
    sync_model = FunctionModel(lambda req: f"echo {req.messages[-1].content}")
    assert asyncio.run(sync_model.complete(_request("x"))).text == "echo x"

    async def reply(req: LLMRequest) -> str:
        await asyncio.sleep(0)
        return "async " + req.system

    async_model = FunctionModel(reply, model="policy")
    response = asyncio.run(async_model.complete(_request()))
    assert response.text == "async You are terse."
    assert response.model == "policy"
    assert len(async_model.requests) == 1


def test_response_as_message_carries_tool_use_blocks() -> None:
    response = LLMResponse(
        text="Looking.",
        tool_calls=[ToolCall(id="toolu_1", name="search", arguments={"q": "gdp"})],
        usage=Usage(),
        model="m",
    )
    message = response.as_message()
    assert message.role == "assistant"
    assert message.content == [
        TextPart(text="Looking."),
        ToolUsePart(id="toolu_1", name="search", input={"q": "gdp"}),
    ]
    plain = LLMResponse(text="hi", usage=Usage(), model="m").as_message()
    assert plain.content == "hi"


def test_estimate_tokens_is_monotone_and_plausible() -> None:
    assert estimate_tokens("") == 0
    sentence = "The quick brown fox jumps over the lazy dog."
    assert 8 <= estimate_tokens(sentence) <= 14  # real tokenizers give about 10
    assert estimate_tokens(sentence * 10) > estimate_tokens(sentence)
    assert estimate_tokens("x = compute_total(rows)\nprint(x)\n") >= 10


def test_estimate_tokens_counts_ideographs_per_character() -> None:
    assert estimate_tokens("数据分析报告") == 6
    assert estimate_tokens("Größenordnung") > estimate_tokens("magnitudeorder")
