"""The public surface of memex_audit.llm is what the agent loop and users code against."""

from __future__ import annotations

import memex_audit.llm as llm


def test_llm_names_are_sorted_and_present() -> None:
    assert sorted(llm.__all__) == llm.__all__
    for name in llm.__all__:
        assert hasattr(llm, name), name
    contract = {
        "AnthropicClient",
        "CachedClient",
        "ChatMessage",
        "FunctionModel",
        "LLMClient",
        "LLMRequest",
        "LLMResponse",
        "OpenAICompatibleClient",
        "ScriptedModel",
        "ToolSpec",
        "allow_model_requests",
        "estimate_cost",
        "estimate_tokens",
    }
    assert contract <= set(llm.__all__)


def test_every_client_satisfies_the_protocol(tmp_path: object) -> None:
    fakes = [llm.ScriptedModel([]), llm.FunctionModel(lambda r: "x")]
    real = [
        llm.AnthropicClient(api_key="sk-test"),
        llm.OpenAICompatibleClient("http://localhost:8000/v1", "m"),
    ]
    for client in [*fakes, *real, llm.CachedClient(fakes[0], str(tmp_path))]:
        assert isinstance(client, llm.LLMClient), client
        assert isinstance(client.model, str)
