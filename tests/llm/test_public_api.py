"""Every client ``memex_audit.llm`` offers satisfies the ``LLMClient`` protocol (names: tests/test_public_api.py)."""

from __future__ import annotations

import memex_audit.llm as llm


def test_every_client_satisfies_the_protocol(tmp_path: object) -> None:
    fakes = [llm.ScriptedModel([]), llm.FunctionModel(lambda r: "x")]
    real = [
        llm.AnthropicClient(api_key="sk-test"),
        llm.OpenAICompatibleClient("http://localhost:8000/v1", "m"),
    ]
    for client in [*fakes, *real, llm.CachedClient(fakes[0], str(tmp_path))]:
        assert isinstance(client, llm.LLMClient), client
        assert isinstance(client.model, str)
