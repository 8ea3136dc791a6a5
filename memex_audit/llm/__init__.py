"""Model clients behind one protocol, offline fakes, and the switch that forbids real requests.

::

    LLMClient (protocol)          complete(LLMRequest) -> LLMResponse
    ├── AnthropicClient           Claude through the official SDK (prompt caching, retries, cost)
    ├── AnthropicBatchClient      the requests of all in-flight agents as one Message Batch (half price)
    ├── OpenAICompatibleClient    OpenAI and /chat/completions servers (vLLM, Ollama, llama.cpp)
    │                             through the official openai SDK
    ├── CachedClient              an on-disk response cache around any client (record, replay)
    ├── ScriptedModel             plays back scripted replies (tests, demos)
    └── FunctionModel             computes replies from the request (offline policies)

One model spec names a model everywhere: ``parse_model_spec("anthropic:claude-sonnet-4-6")``,
``"openai:gpt-4.1"`` (``base_url=`` or ``OPENAI_BASE_URL`` for any OpenAI-compatible server),
``"offline"``; ``client_for_spec`` builds its client (temperature 0 where the API takes one, an
optional replay cache, the price at that endpoint).

A message carries plain text or typed content parts (``TextPart``, ``ToolUsePart``,
``ToolResultPart``, ``ThinkingPart``, ``RedactedThinkingPart``: the ``ContentPart`` union, read
and written by ``ContentPartsAdapter``); each client translates them to its provider's wire format.

Real clients raise ``ModelError`` when ``allow_model_requests(False)`` is in force; the fakes
and cache hits keep working.
"""

from memex_audit.llm._anthropic import AnthropicClient
from memex_audit.llm._batch import AnthropicBatchClient
from memex_audit.llm._cache import CachedClient, request_key
from memex_audit.llm._content import (
    CacheControl,
    ContentPart,
    ContentPartsAdapter,
    MessageContent,
    RedactedThinkingPart,
    TextPart,
    ThinkingPart,
    ToolResultPart,
    ToolUsePart,
)
from memex_audit.llm._fakes import FunctionModel, ScriptedModel
from memex_audit.llm._ledger import ModelUsage, UsageLedger
from memex_audit.llm._openai_batch import OpenAIBatchClient
from memex_audit.llm._openai_compat import OpenAICompatibleClient
from memex_audit.llm._pricing import (
    ModelPrice,
    batch_price,
    estimate_cost,
    price_for,
    price_for_endpoint,
    register_price,
    worst_case_cost,
)
from memex_audit.llm._protocol import LLMClient
from memex_audit.llm._retry import RetryPolicy
from memex_audit.llm._spec import (
    DEFAULT_TEMPERATURE,
    ModelSpec,
    WithDefaults,
    client_for_spec,
    parse_model_spec,
)
from memex_audit.llm._switch import allow_model_requests, model_requests_allowed
from memex_audit.llm._tokens import estimate_request_tokens, estimate_tokens
from memex_audit.llm._types import ChatMessage, LLMRequest, LLMResponse, ToolSpec

__all__ = [
    "DEFAULT_TEMPERATURE",
    "AnthropicBatchClient",
    "AnthropicClient",
    "CacheControl",
    "CachedClient",
    "ChatMessage",
    "ContentPart",
    "ContentPartsAdapter",
    "FunctionModel",
    "LLMClient",
    "LLMRequest",
    "LLMResponse",
    "MessageContent",
    "ModelPrice",
    "ModelSpec",
    "ModelUsage",
    "OpenAIBatchClient",
    "OpenAICompatibleClient",
    "RedactedThinkingPart",
    "RetryPolicy",
    "ScriptedModel",
    "TextPart",
    "ThinkingPart",
    "ToolResultPart",
    "ToolSpec",
    "ToolUsePart",
    "UsageLedger",
    "WithDefaults",
    "allow_model_requests",
    "batch_price",
    "client_for_spec",
    "estimate_cost",
    "estimate_request_tokens",
    "estimate_tokens",
    "model_requests_allowed",
    "parse_model_spec",
    "price_for",
    "price_for_endpoint",
    "register_price",
    "request_key",
    "worst_case_cost",
]
