"""The parts a message's content is made of: a tagged union on ``type``.

A ``ChatMessage`` carries plain text or a list of ``ContentPart``. The parts follow the
Anthropic Messages API, the richest of the APIs we speak, field for field, so a part written
to the response cache reads back as the same part and dumps to the same JSON (which the cache
key is computed from). Each provider client translates the parts to its own wire format.

::

    ContentPart
    ├── TextPart              text the user or the model wrote
    ├── ToolUsePart           a JSON tool call the model made
    ├── ToolResultPart        the answer to one tool call (in the next user message)
    ├── ThinkingPart          the model's visible thinking, with the signature the API checks
    └── RedactedThinkingPart  thinking the API returns encrypted

Parts are immutable: a client that adds a prompt-caching breakpoint copies the part.
Optional fields left at ``None`` are not written out, so a part dumps to exactly the keys it
was read from.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    model_serializer,
)


class CacheControl(BaseModel):
    """A prompt-caching breakpoint on a part (Anthropic; other providers ignore it).

    Attributes:
        type: Always ``ephemeral``.
        ttl: How long the cached prefix lives (the API's default, 5 minutes, when unset).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["ephemeral"] = "ephemeral"
    ttl: Literal["5m", "1h"] | None = None

    @model_serializer(mode="wrap")
    def _without_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _drop_none(handler(self))


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_serializer(mode="wrap")
    def _without_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _drop_none(handler(self))


def _drop_none(data: Any) -> dict[str, Any]:
    # Only top-level options are ever None (a tool's input keeps its nulls: it is one field).
    if not isinstance(data, dict):  # pragma: no cover - a model always serialises to a dict
        raise TypeError(f"a content part serialised to {type(data).__name__}, not a dict")
    return {key: value for key, value in data.items() if value is not None}


class TextPart(_Part):
    """Text the user or the model wrote.

    Attributes:
        text: The text.
        cache_control: A prompt-caching breakpoint after this part.
    """

    type: Literal["text"] = "text"
    text: str
    cache_control: CacheControl | None = None


class ToolUsePart(_Part):
    """A JSON tool call the model made.

    Attributes:
        id: The call's id; its ``ToolResultPart`` answers with the same ``tool_use_id``.
        name: The tool called.
        input: The call's arguments (a JSON object).
        cache_control: A prompt-caching breakpoint after this part.
    """

    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, JsonValue]
    cache_control: CacheControl | None = None


class ToolResultPart(_Part):
    """The answer to one tool call, sent in the user message after the call.

    Attributes:
        tool_use_id: The id of the ``ToolUsePart`` it answers.
        content: The result as text, or as text parts.
        is_error: The call failed and ``content`` says why.
        cache_control: A prompt-caching breakpoint after this part.
    """

    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    content: str | list[TextPart] = ""
    is_error: bool = False
    cache_control: CacheControl | None = None

    def text(self) -> str:
        """The result's text: ``content`` itself, or its text parts joined by newlines."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text for part in self.content)


class ThinkingPart(_Part):
    """The model's visible thinking; a tool-calling turn must be sent back with it intact.

    Attributes:
        thinking: What the model thought.
        signature: The API's signature of the thinking (checked when it is sent back).
    """

    type: Literal["thinking"] = "thinking"
    thinking: str
    signature: str


class RedactedThinkingPart(_Part):
    """Thinking the API returned encrypted; sent back as it came.

    Attributes:
        data: The encrypted thinking.
    """

    type: Literal["redacted_thinking"] = "redacted_thinking"
    data: str


ContentPart = Annotated[
    TextPart | ToolUsePart | ToolResultPart | ThinkingPart | RedactedThinkingPart,
    Field(discriminator="type"),
]
"""One part of a message's content, told apart by its ``type``."""

MessageContent = str | list[ContentPart]
"""What a message carries: plain text, or content parts."""

ContentPartsAdapter: TypeAdapter[list[ContentPart]] = TypeAdapter(list[ContentPart])
"""Reads and writes lists of content parts (``validate_python``, ``validate_json``, ``dump_json``)."""
