"""Model clients behind one protocol, offline fakes, and the switch that forbids real requests.

::

    LLMClient (protocol)          complete(LLMRequest) -> LLMResponse
    ├── AnthropicClient           Claude through the official SDK (prompt caching, retries, cost)
    ├── OpenAICompatibleClient    /chat/completions servers: vLLM, Ollama, llama.cpp, hosted APIs
    ├── CachedClient              an on-disk response cache around any client
    ├── ScriptedModel             plays back scripted replies (tests, demos)
    └── FunctionModel             computes replies from the request (offline policies)

Real clients raise ``ModelError`` when ``allow_model_requests(False)`` is in force; the fakes
and cache hits keep working.
"""

from memex_audit.llm._anthropic import AnthropicClient
from memex_audit.llm._cache import CachedClient, request_key
from memex_audit.llm._fakes import FunctionModel, ScriptedModel
from memex_audit.llm._ledger import ModelUsage, UsageLedger
from memex_audit.llm._openai_compat import OpenAICompatibleClient
from memex_audit.llm._pricing import ModelPrice, estimate_cost, price_for, register_price
from memex_audit.llm._protocol import LLMClient
from memex_audit.llm._retry import RetryPolicy
from memex_audit.llm._switch import allow_model_requests, model_requests_allowed
from memex_audit.llm._tokens import estimate_request_tokens, estimate_tokens
from memex_audit.llm._types import ChatMessage, LLMRequest, LLMResponse, ToolSpec

__all__ = [
    "AnthropicClient",
    "CachedClient",
    "ChatMessage",
    "FunctionModel",
    "LLMClient",
    "LLMRequest",
    "LLMResponse",
    "ModelPrice",
    "ModelUsage",
    "OpenAICompatibleClient",
    "RetryPolicy",
    "ScriptedModel",
    "ToolSpec",
    "UsageLedger",
    "allow_model_requests",
    "estimate_cost",
    "estimate_request_tokens",
    "estimate_tokens",
    "model_requests_allowed",
    "price_for",
    "register_price",
    "request_key",
]
