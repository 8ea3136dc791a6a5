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
    allow_model_requests,
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
