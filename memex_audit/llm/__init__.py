"""Model clients behind one protocol, offline fakes, and the switch that forbids real requests.

::

    LLMClient (protocol)          complete(LLMRequest) -> LLMResponse
    ├── ScriptedModel             plays back scripted replies (tests, demos)
    └── FunctionModel             computes replies from the request (offline policies)
"""

from memex_audit.llm._fakes import FunctionModel, ScriptedModel
from memex_audit.llm._protocol import LLMClient
from memex_audit.llm._switch import allow_model_requests, model_requests_allowed
from memex_audit.llm._tokens import estimate_request_tokens, estimate_tokens
from memex_audit.llm._types import ChatMessage, LLMRequest, LLMResponse, ToolSpec

__all__ = [
    "ChatMessage",
    "FunctionModel",
    "LLMClient",
    "LLMRequest",
    "LLMResponse",
    "ScriptedModel",
    "ToolSpec",
    "allow_model_requests",
    "estimate_request_tokens",
    "estimate_tokens",
    "model_requests_allowed",
]
