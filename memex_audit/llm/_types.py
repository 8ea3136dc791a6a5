"""The messages that cross the ``LLMClient`` boundary: a request and the model's response.

The shapes follow the Anthropic Messages API, the richest of the APIs we speak: a system prompt
apart from the messages, content that is either plain text or a list of typed content parts
(``_content``), and tools described by a JSON Schema. Each provider client translates from
these types to its wire format.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from memex_audit.llm._content import ContentPart, MessageContent, TextPart, ToolUsePart
from memex_audit.trajectory import ToolCall, Usage


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChatMessage(_Strict):
    """One message of the conversation sent to a model.

    Attributes:
        role: ``user`` or ``assistant`` (the system prompt travels in ``LLMRequest.system``).
        content: Plain text, or content parts (``TextPart``, ``ToolUsePart``,
            ``ToolResultPart``...) in tool-calling mode. Dicts of the same shape
            (``{"type": "text", "text": ...}``) are read into parts.
    """

    role: Literal["user", "assistant"]
    content: MessageContent

    def text(self) -> str:
        """The message's text: ``content`` itself, or its text parts joined by newlines."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text for part in self.content if isinstance(part, TextPart))


class ToolSpec(_Strict):
    """A tool offered to the model as a JSON tool call.

    Attributes:
        name: The tool's name, as the model must call it.
        description: What the tool does (the model reads it).
        input_schema: JSON Schema of the tool's arguments (an ``object`` schema).
    """

    name: str
    description: str
    input_schema: dict[str, JsonValue]


class LLMRequest(_Strict):
    """Everything a model call needs, independent of the provider.

    Attributes:
        system: The system prompt (stable across turns, so it is cached where the API allows).
        messages: The conversation so far, alternating ``user`` and ``assistant``.
        tools: Tools offered as JSON tool calls; empty for MemEx-style (code-writing) runs.
        max_tokens: Upper bound on the reply's length.
        temperature: Sampling temperature; ``None`` leaves the provider's default.
        stop_sequences: Strings that end the reply when generated.
    """

    system: str
    messages: list[ChatMessage]
    tools: list[ToolSpec] = Field(default_factory=list)
    max_tokens: int = 4096
    temperature: float | None = None
    stop_sequences: list[str] = Field(default_factory=list)


class LLMResponse(_Strict):
    """What a model replied, with what it cost.

    Attributes:
        text: The assistant's text (all text blocks joined).
        tool_calls: The JSON tool calls the model made, in order.
        usage: Tokens of the call; ``cost_usd`` is set when the model's prices are known.
        model: The model that answered.
        stop_reason: Why the reply ended (``end_turn``, ``tool_use``, ``max_tokens``...).
        latency_s: Wall-clock time of the call, retries included.
        cached: True when the reply came from an on-disk response cache (it then cost nothing).
        received_at: When the reply was first received, as the response cache recorded it (a
            replayed run carries the recorded time, so it reproduces the run's results exactly).
        reasoning: The model's visible thinking, when it returned any (recorded as a step's
            ``reasoning``; never part of ``text``).
        blocks: The reply's content parts (text, thinking, redacted thinking, tool use), when
            the provider returned parts. A tool-calling turn must be sent back with its
            thinking intact, which ``as_message`` does; empty for fakes and OpenAI-compatible
            servers.
    """

    text: str
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage
    model: str
    stop_reason: str | None = None
    latency_s: float | None = None
    cached: bool = False
    received_at: datetime | None = None
    reasoning: str | None = None
    blocks: list[ContentPart] = Field(default_factory=list)

    def as_message(self) -> ChatMessage:
        """The reply as the ``assistant`` message to append to the conversation.

        Plain text when the model made no tool calls; otherwise content parts so the next
        request can answer each call with a ``ToolResultPart``: the reply's own ``blocks``
        when it has them (thinking included, as the API requires), else a ``TextPart`` when
        there is text, then one ``ToolUsePart`` per call.
        """
        if not self.tool_calls:
            return ChatMessage(role="assistant", content=self.text)
        if self.blocks:
            return ChatMessage(role="assistant", content=list(self.blocks))
        parts: list[ContentPart] = []
        if self.text:
            parts.append(TextPart(text=self.text))
        for n, call in enumerate(self.tool_calls):
            parts.append(ToolUsePart(id=call.id or f"call_{n}", name=call.name, input=dict(call.arguments)))
        return ChatMessage(role="assistant", content=parts)
