"""The one interface every model client implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from memex_audit.llm._types import LLMRequest, LLMResponse


@runtime_checkable
class LLMClient(Protocol):
    """A chat model that answers one ``LLMRequest`` at a time.

    Implementations: ``AnthropicClient``, ``OpenAICompatibleClient``, ``CachedClient`` (a wrapper)
    and the offline fakes ``ScriptedModel`` and ``FunctionModel``. ``complete`` may be awaited
    concurrently by several agents; a client keeps no per-conversation state.

    Attributes:
        model: Name of the model, recorded in every run's trajectory.
    """

    model: str

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Send ``request`` and return the model's reply.

        Raises:
            ModelError: The call failed after its retries, or real requests are switched off.
        """
        ...
