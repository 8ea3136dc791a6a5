"""Anthropic Messages transcripts: ``text``, ``thinking``, ``tool_use`` and ``tool_result`` blocks.

Files have the envelope of ``_chat_transcripts`` (a record ``{"messages": [...], "system"?,
"model"?, ...}``, a bare list of messages, or JSONL). An assistant message is one step: its
text blocks are the text, its thinking blocks the reasoning, its ``tool_use`` blocks the tool
calls. A user message's ``tool_result`` blocks each become a ``tool`` step linked to their call
(``is_error`` sets the step's error), followed by a user step for any text it also holds. The
system prompt, when given, is step 0. Block fields that have no place in a step (signatures,
images, citations) stay in the step's ``metadata["blocks"]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from memex_audit.errors import TrajectoryFormatError
from memex_audit.loaders._formats._chat_messages import tool_call_from
from memex_audit.loaders._formats._chat_transcripts import load_chat_file
from memex_audit.loaders._formats._record_fields import (
    json_value,
    require_dict,
    split_content,
    unmapped,
    usage_from,
)
from memex_audit.loaders._jsonio import first_json_char
from memex_audit.loaders._registry import LoadItem, register_format
from memex_audit.trajectory import Step, ToolCall

FORMAT = "anthropic"
_MARKERS = (b'"tool_use"', b'"tool_result"', b'"type": "thinking"', b'"type":"thinking"')
_TOOL_USE = frozenset({"tool_use", "server_tool_use"})


class AnthropicFormat:
    """Anthropic Messages transcripts (text, thinking, tool_use and tool_result blocks)."""

    name: str = FORMAT
    extensions: tuple[str, ...] = (".json", ".jsonl")

    def sniff(self, path: Path, head: bytes) -> float:
        if not path.name.endswith(self.extensions) or first_json_char(head) not in (b"[", b"{"):
            return 0.0
        if b'"role"' in head and any(marker in head for marker in _MARKERS):
            return 0.6
        return 0.0

    def load(self, path: Path) -> Iterator[LoadItem]:
        yield from load_chat_file(path, FORMAT, anthropic_steps)


def anthropic_steps(messages: list[Any], system: str | None) -> list[Step]:
    """Steps from Anthropic messages (see the module docstring)."""
    steps: list[Step] = []
    if system:
        steps.append(Step(index=0, role="system", text=system))
    tool_names: dict[str, str] = {}
    for i, raw in enumerate(messages):
        field = f"messages.{i}"
        message = require_dict(raw, field)
        role = message.get("role")
        if role not in ("user", "assistant", "system"):
            raise TrajectoryFormatError(
                f"unknown message role {role!r}; expected user or assistant", field=f"{field}.role"
            )
        content = message.get("content")
        blocks: list[Any] = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        if not isinstance(blocks, list):
            raise TrajectoryFormatError(
                "expected a string or a list of content blocks", field=f"{field}.content"
            )
        metadata = unmapped(message, ("role", "content", "usage"))
        metadata["message_index"] = i
        usage = usage_from(message.get("usage"))
        if role == "assistant":
            steps.append(_assistant_step(blocks, len(steps), field, metadata, tool_names, usage))
            continue
        texts: list[str] = []
        others: list[JsonValue] = []
        for j, block in enumerate(blocks):
            block = require_dict(block, f"{field}.content.{j}")
            if block.get("type") == "tool_result":
                steps.append(_tool_step(block, len(steps), f"{field}.content.{j}", tool_names, i))
            elif block.get("type") == "text" and isinstance(block.get("text"), str):
                texts.append(block["text"])
                if set(block) - {"type", "text"}:
                    others.append(unmapped(block, ("text",)))
            else:
                others.append(json_value(block))
        if texts or others or not blocks:
            if others:
                metadata["blocks"] = others
            steps.append(
                Step(
                    index=len(steps),
                    role="system" if role == "system" else "user",
                    text="\n".join(texts) if texts else None,
                    usage=usage,
                    metadata=metadata,
                )
            )
    return steps


def _assistant_step(
    blocks: list[Any],
    index: int,
    field: str,
    metadata: dict[str, JsonValue],
    tool_names: dict[str, str],
    usage: Any,
) -> Step:
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCall] = []
    others: list[JsonValue] = []
    for j, block in enumerate(blocks):
        block = require_dict(block, f"{field}.content.{j}")
        kind = block.get("type")
        leftover: dict[str, JsonValue]
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
            leftover = unmapped(block, ("text",))
        elif kind == "thinking":
            if isinstance(block.get("thinking"), str):
                thoughts.append(block["thinking"])
            leftover = unmapped(block, ("thinking",))
        elif kind in _TOOL_USE:
            call, extra = tool_call_from(block, f"{field}.content.{j}")
            calls.append(call)
            if call.id is not None:
                tool_names[call.id] = call.name
            leftover = {"type": str(kind), **extra} if kind != "tool_use" or extra else {}
        else:
            leftover = {str(k): json_value(v) for k, v in block.items()}
        if leftover and set(leftover) != {"type"}:
            others.append({"position": j, **leftover})
    if others:
        metadata["blocks"] = others
    return Step(
        index=index,
        role="assistant",
        text="\n".join(texts) if texts else None,
        reasoning="\n".join(thoughts) if thoughts else None,
        tool_calls=calls,
        usage=usage,
        metadata=metadata,
    )


def _tool_step(
    block: dict[str, Any], index: int, field: str, tool_names: dict[str, str], message_index: int
) -> Step:
    text, _reasoning, lossless = split_content(block.get("content"))
    metadata: dict[str, JsonValue] = {"message_index": message_index}
    metadata.update(unmapped(block, ("type", "tool_use_id", "content", "is_error")))
    if not lossless:
        metadata["content"] = json_value(block.get("content"))
    call_id = block.get("tool_use_id")
    if call_id is None:
        raise TrajectoryFormatError("tool_result block has no tool_use_id", field=f"{field}.tool_use_id")
    output = text or ""
    return Step(
        index=index,
        role="tool",
        tool_call_id=str(call_id),
        tool_name=tool_names.get(str(call_id)),
        output=output,
        error=(output or "the tool reported an error") if block.get("is_error") else None,
        metadata=metadata,
    )


register_format(AnthropicFormat())
