"""An OpenAI-compatible chat-completions endpoint on 127.0.0.1, started and stopped by a test.

``memex-audit ask --model openai:NAME --base-url URL`` reaches it through the real openai SDK; its
replies come from ``tests.ask.policy.reply``, computed from each request alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from memex_audit.llm import ChatMessage, LLMRequest
from tests.fake_openai import FakeOpenAI, ok


def _as_request(body: dict[str, Any]) -> LLMRequest:
    messages = body["messages"]
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    chat = [
        ChatMessage(role=m["role"], content=m["content"])
        for m in messages
        if m["role"] in ("user", "assistant")
    ]
    return LLMRequest(system=system, messages=chat, max_tokens=body.get("max_tokens") or 1024)


class ChatServer(FakeOpenAI):
    """Serves ``/v1/chat/completions`` with ``policy(request)``; records every request body."""

    def __init__(self, policy: Callable[[LLMRequest], str]) -> None:
        super().__init__(lambda body: ok(body, policy(_as_request(body)), completion_tokens=60))
