"""One model spec: parsing, routing, prices at the endpoint, and what each family is sent.

Requests go through the real ``openai`` and ``anthropic`` SDKs over ``httpx2.MockTransport``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from pydantic import BaseModel

from memex_audit.agent import Agent
from memex_audit.agent._extract import END_MARKER
from memex_audit.errors import UsageError
from memex_audit.llm import (
    AnthropicClient,
    CachedClient,
    ChatMessage,
    LLMRequest,
    ModelPrice,
    ModelSpec,
    OpenAICompatibleClient,
    WithDefaults,
    allow_model_requests,
    batch_price,
    client_for_spec,
    parse_model_spec,
    price_for_endpoint,
    register_price,
)
from memex_audit.llm._pricing import _REGISTERED, PRICES

NO_ENV: dict[str, str] = {}
VLLM = "http://127.0.0.1:8000/v1"


@pytest.fixture(autouse=True)
def _requests_over_the_fake_transport() -> Iterator[None]:
    with allow_model_requests(True):
        yield


@pytest.mark.parametrize(
    ("text", "base_url", "env", "expected"),
    [
        (None, None, NO_ENV, ModelSpec("offline")),
        ("offline", None, NO_ENV, ModelSpec("offline")),
        ("offline-signals/1", None, NO_ENV, ModelSpec("offline")),
        ("anthropic:claude-sonnet-4-6", None, NO_ENV, ModelSpec("anthropic", "claude-sonnet-4-6")),
        ("claude-sonnet-4-6", None, NO_ENV, ModelSpec("anthropic", "claude-sonnet-4-6")),
        # OPENAI_BASE_URL never takes a Claude model away from Anthropic.
        ("claude-sonnet-4-6", None, {"OPENAI_BASE_URL": VLLM}, ModelSpec("anthropic", "claude-sonnet-4-6")),
        (
            "anthropic:claude-sonnet-4-6",
            None,
            {"OPENAI_BASE_URL": VLLM},
            ModelSpec("anthropic", "claude-sonnet-4-6"),
        ),
        ("openai:gpt-4.1", None, NO_ENV, ModelSpec("openai", "gpt-4.1")),
        ("gpt-4.1", None, NO_ENV, ModelSpec("openai", "gpt-4.1")),
        ("o4-mini", None, NO_ENV, ModelSpec("openai", "o4-mini")),
        ("openai:gpt-4.1", None, {"OPENAI_BASE_URL": VLLM + "/"}, ModelSpec("openai", "gpt-4.1", VLLM)),
        ("openai:qwen3-32b", VLLM, NO_ENV, ModelSpec("openai", "qwen3-32b", VLLM)),
        ("qwen3:32b", VLLM, NO_ENV, ModelSpec("openai", "qwen3:32b", VLLM)),  # Ollama's colon
        ("qwen3-32b", None, {"OPENAI_BASE_URL": VLLM}, ModelSpec("openai", "qwen3-32b", VLLM)),
    ],
)
def test_parse_model_spec(
    text: str | None, base_url: str | None, env: dict[str, str], expected: ModelSpec
) -> None:
    assert parse_model_spec(text, base_url=base_url, environ=env) == expected


@pytest.mark.parametrize(
    ("text", "base_url", "message"),
    [
        ("qwen3-32b", None, "say which API serves it"),
        ("openai:", None, "model name after openai: is missing"),
        ("offline", VLLM, "--base-url needs a model"),
    ],
)
def test_unreadable_specs_say_what_to_write(text: str, base_url: str | None, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_model_spec(text, base_url=base_url, environ=NO_ENV)


def test_str_round_trips_and_endpoints() -> None:
    for text in ("anthropic:claude-sonnet-4-6", "openai:gpt-4.1", "offline"):
        spec = parse_model_spec(text, environ=NO_ENV)
        assert str(spec) == text and parse_model_spec(str(spec), environ=NO_ENV) == spec
    assert parse_model_spec("openai:gpt-4.1", environ=NO_ENV).endpoint == "https://api.openai.com/v1"
    assert parse_model_spec("claude-haiku-4-5", environ=NO_ENV).endpoint == "https://api.anthropic.com"


def test_prices_apply_only_at_the_providers_own_endpoint() -> None:
    claude = parse_model_spec("anthropic:claude-sonnet-4-6", environ=NO_ENV)
    assert claude.price is not None and claude.price.input == 3.0
    assert parse_model_spec("openai:gpt-4.1", environ=NO_ENV).price == PRICES["gpt-4.1"]
    assert parse_model_spec("openai:gpt-4.1-2025-04-14", environ=NO_ENV).price == PRICES["gpt-4.1"]
    # The same names behind another server: unknown, never another endpoint's list price.
    assert parse_model_spec("openai:claude-sonnet-4-6", base_url=VLLM, environ=NO_ENV).price is None
    assert parse_model_spec("openai:gpt-4.1", base_url=VLLM, environ=NO_ENV).price is None
    assert parse_model_spec("openai:openai/gpt-oss-20b", base_url=VLLM, environ=NO_ENV).price is None
    assert price_for_endpoint("openai/gpt-oss-20b", "openai", "https://api.together.xyz/v1") is not None
    assert parse_model_spec("openai:qwen3-32b", base_url=VLLM, environ=NO_ENV).price is None
    assert parse_model_spec("anthropic:claude-unknown-9", environ=NO_ENV).price is None
    try:
        register_price("my-local-qwen", ModelPrice(input=0.0, output=0.0))
        assert parse_model_spec("openai:my-local-qwen", base_url=VLLM, environ=NO_ENV).price == ModelPrice(
            0.0, 0.0
        )
    finally:
        PRICES.pop("my-local-qwen", None)
        _REGISTERED.discard("my-local-qwen")


def test_batch_price_halves_every_token_type() -> None:
    price = batch_price(PRICES["claude-sonnet-4-5"])
    assert (price.input, price.output, price.cache_write, price.cache_read) == (1.5, 7.5, 1.875, 0.15)
    assert price.long_prompt is not None and price.long_prompt.input == 3.0


def test_request_params_per_family() -> None:
    claude = parse_model_spec("anthropic:claude-sonnet-4-6", environ=NO_ENV).request_params()
    assert claude["temperature"] is None and claude["stop_param"] == "stop_sequences"
    gpt = parse_model_spec("openai:gpt-4.1", environ=NO_ENV).request_params()
    assert gpt == {"temperature": 0.0, "token_param": "max_completion_tokens", "stop_param": "stop"}
    o3 = parse_model_spec("openai:o3", environ=NO_ENV).request_params()
    assert o3 == {"temperature": None, "token_param": "max_completion_tokens", "stop_param": None}
    local = parse_model_spec("openai:qwen3-32b", base_url=VLLM, environ=NO_ENV).request_params(0.3)
    assert local == {"temperature": 0.3, "token_param": "max_tokens", "stop_param": "stop"}


# -- through the real SDKs -------------------------------------------------------------------


class Answer(BaseModel):
    n: int


def _completion(content: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100},
    }


class OpenAIServer:
    def __init__(self, replies: list[str], model: str) -> None:
        self.replies, self.model = list(replies), model
        self.requests: list[httpx2.Request] = []

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return httpx2.Response(200, json=_completion(self.replies.pop(0), self.model))

    def http(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.handler))

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


REPLIES = ["```python\nx = 41\nprint(x)\n```", "```python\nsubmit({'n': x + 1})\n```"]


def test_openai_spec_through_the_sdk_sends_what_the_family_takes() -> None:
    server = OpenAIServer(REPLIES, "gpt-4.1-2025-04-14")
    client = client_for_spec("openai:gpt-4.1", api_key="sk-test", http_client=server.http(), environ=NO_ENV)
    assert isinstance(client, WithDefaults) and isinstance(client.inner, OpenAICompatibleClient)
    result = Agent(client, Answer).run_sync("Count.")
    assert result.output == Answer(n=42)
    assert str(server.requests[0].url) == "https://api.openai.com/v1/chat/completions"
    assert server.requests[0].headers["authorization"] == "Bearer sk-test"
    assert server.bodies()
    for body in server.bodies():
        assert body["model"] == "gpt-4.1"
        assert body["max_completion_tokens"] == 4096 and "max_tokens" not in body
        assert body["temperature"] == 0.0 and body["stop"] == [END_MARKER]
    # Priced at gpt-4.1's list price (the dated name the server echoes is not looked up).
    assert result.usage.cost_usd == pytest.approx(2 * (1000 * 2.0 + 100 * 8.0) / 1e6)


def test_reasoning_models_get_no_temperature_or_stop_and_local_servers_get_max_tokens() -> None:
    server = OpenAIServer(REPLIES, "o3")
    client = client_for_spec("openai:o3", api_key="k", http_client=server.http(), environ=NO_ENV)
    Agent(client, Answer).run_sync("Count.")
    body = server.bodies()[0]
    assert "temperature" not in body and "stop" not in body and body["max_completion_tokens"] == 4096

    local = OpenAIServer(REPLIES, "qwen3-32b")
    client = client_for_spec("openai:qwen3-32b", base_url=VLLM, http_client=local.http(), environ=NO_ENV)
    result = Agent(client, Answer).run_sync("Count.")
    body = local.bodies()[0]
    assert str(local.requests[0].url) == f"{VLLM}/chat/completions"
    assert body["max_tokens"] == 4096 and "max_completion_tokens" not in body
    assert body["temperature"] == 0.0 and body["stop"] == [END_MARKER]
    assert result.usage.cost_usd is None  # a self-served model has no known price


def _message(text: str) -> dict[str, Any]:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "stop_sequence",
        "stop_sequence": END_MARKER,
        "usage": {"input_tokens": 1000, "output_tokens": 100},
    }


def test_anthropic_spec_through_the_sdk_sends_stop_sequences_and_no_temperature() -> None:
    replies = list(REPLIES)
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        bodies.append(json.loads(request.content))
        return httpx2.Response(200, json=_message(replies.pop(0)))

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    env = {"ANTHROPIC_API_KEY": "sk-test", "OPENAI_BASE_URL": VLLM}
    client = client_for_spec("claude-sonnet-4-6", http_client=http, environ=env)
    assert isinstance(client, WithDefaults) and isinstance(client.inner, AnthropicClient)
    result = Agent(client, Answer).run_sync("Count.")
    assert result.output == Answer(n=42)
    assert bodies
    for body in bodies:
        assert body["stop_sequences"] == [END_MARKER] and "temperature" not in body
    assert result.usage.cost_usd == pytest.approx(2 * (1000 * 3.0 + 100 * 15.0) / 1e6)


def test_anthropic_without_a_key_is_an_error_unless_a_cache_can_replay(tmp_path: Any) -> None:
    with pytest.raises(UsageError, match="ANTHROPIC_API_KEY"):
        client_for_spec("anthropic:claude-sonnet-4-6", environ=NO_ENV)
    client = client_for_spec("anthropic:claude-sonnet-4-6", cache_dir=tmp_path, environ=NO_ENV)
    assert isinstance(client, WithDefaults) and isinstance(client.inner, CachedClient)
    request = LLMRequest(system="s", messages=[ChatMessage(role="user", content="x")])
    with pytest.raises(Exception, match="not in the cache"):
        asyncio.run(client.complete(request))
    with pytest.raises(UsageError, match="offline"):
        client_for_spec("offline", environ=NO_ENV)


def test_batch_wraps_a_client_whose_provider_has_a_batch_api() -> None:
    from memex_audit.llm import AnthropicBatchClient, OpenAIBatchClient

    client = client_for_spec("anthropic:claude-sonnet-4-6", api_key="sk", batch=True, environ=NO_ENV)
    assert isinstance(client, WithDefaults) and isinstance(client.inner, AnthropicBatchClient)
    assert client.inner.price is not None and client.inner.price.input == 1.5
    openai_client = client_for_spec("openai:gpt-4.1", api_key="sk", batch=True, environ=NO_ENV)
    assert isinstance(openai_client, WithDefaults) and isinstance(openai_client.inner, OpenAIBatchClient)
    with pytest.raises(UsageError, match="--batch needs a provider with a batch API"):
        client_for_spec("openai:qwen3", base_url="http://127.0.0.1:8000/v1", batch=True, environ=NO_ENV)
