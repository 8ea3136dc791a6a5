"""The messages an LLM span records, in each convention that records them, as one shape.

Conventions read (the keys used are removed from the attributes; what has no place in a message
is kept in its ``extra``):

* OpenTelemetry GenAI, current: ``gen_ai.system_instructions``, ``gen_ai.input.messages`` and
  ``gen_ai.output.messages`` as JSON text (or already parsed), each message
  ``{"role", "parts": [{"type": "text", "content"}, {"type": "tool_call", "id", "name",
  "arguments"}, {"type": "tool_call_response", "id", "response"}, {"type": "reasoning", ...}],
  "finish_reason"?}``. With content captured as events instead of on the span, the same
  attributes sit on a ``gen_ai.client.inference.operation.details`` span event.
* OpenTelemetry GenAI, older indexed attributes: ``gen_ai.prompt.<i>.role`` / ``.content`` /
  ``.tool_call_id`` / ``.tool_calls.<j>.*`` and ``gen_ai.completion.<i>.*``.
* OpenInference: ``llm.input_messages.<i>.message.role`` / ``.content`` /
  ``.contents.<k>.message_content.text`` / ``.tool_call_id`` / ``.name`` /
  ``.tool_calls.<j>.tool_call.{id,function.name,function.arguments}`` and
  ``llm.output_messages.<i>.message.*``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import JsonValue

from memex_audit.loaders._formats._chat_messages import ROLES
from memex_audit.loaders._formats._record_fields import json_value, parse_arguments
from memex_audit.trajectory import Role, ToolCall

DETAILS_EVENT = "gen_ai.client.inference.operation.details"
_INDEXED = {
    "input": (
        re.compile(r"^llm\.input_messages\.(\d+)\.message\.(.+)$"),
        re.compile(r"^gen_ai\.prompt\.(\d+)\.(.+)$"),
    ),
    "output": (
        re.compile(r"^llm\.output_messages\.(\d+)\.message\.(.+)$"),
        re.compile(r"^gen_ai\.completion\.(\d+)\.(.+)$"),
    ),
}
_TOOL_CALL = re.compile(r"^tool_calls\.(\d+)\.(?:tool_call\.)?(.+)$")
_CONTENT_PART = re.compile(r"^contents\.(\d+)\.message_content\.(.+)$")


@dataclass
class SpanMessage:
    """One chat message recorded on a span."""

    role: Role
    text: str | None = None
    reasoning: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    extra: dict[str, JsonValue] = field(default_factory=dict)

    def signature(self) -> tuple[str, ...]:
        """What identifies the message when a later span repeats it in its input."""
        if self.role == "tool":
            return ("tool", self.tool_call_id or squash(self.text))
        if self.role == "assistant":
            return ("assistant", squash(self.text), *(c.id or c.name for c in self.tool_calls))
        return (self.role, squash(self.text))


def squash(text: str | None) -> str:
    """``text`` with whitespace runs as one space (``""`` for ``None``)."""
    return " ".join(text.split()) if text else ""


def span_messages(attrs: dict[str, Any], events: list[JsonValue], direction: str) -> list[SpanMessage] | None:
    """The ``input`` or ``output`` messages of an LLM span, or ``None`` when it records none.

    The attributes used are removed from ``attrs``.
    """
    key = f"gen_ai.{direction}.messages"
    if key in attrs or (direction == "input" and "gen_ai.system_instructions" in attrs):
        return _genai_messages(attrs, key)
    for event in events:
        if isinstance(event, dict) and event.get("name") == DETAILS_EVENT:
            found = event.get("attributes")
            if isinstance(found, dict) and (key in found or "gen_ai.system_instructions" in found):
                return _genai_messages(dict(found), key)
    return _indexed_messages(attrs, direction)


def _genai_messages(attrs: dict[str, Any], key: str) -> list[SpanMessage]:
    messages: list[SpanMessage] = []
    if key == "gen_ai.input.messages" and "gen_ai.system_instructions" in attrs:
        parts = _json(attrs.pop("gen_ai.system_instructions"))
        system = _parts_message("system", parts if isinstance(parts, list) else [parts])
        if system.text or system.extra:
            messages.append(system)
    raw = _json(attrs.pop(key, None))
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        role = ROLES.get(str(item.get("role", "")).lower(), "user")
        parts = item.get("parts")
        message = _parts_message(role, parts if isinstance(parts, list) else [])
        for extra_key, value in item.items():
            if extra_key not in ("role", "parts") and value is not None:
                message.extra[extra_key] = json_value(value)
        if item.get("role") != role:
            message.extra["role"] = json_value(item.get("role"))
        messages.append(message)
    return messages


def _parts_message(role: Role, parts: list[Any]) -> SpanMessage:
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCall] = []
    responses: list[tuple[str | None, str]] = []
    others: list[JsonValue] = []
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
            continue
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("content"), str):
            texts.append(part["content"])
        elif kind == "reasoning" and isinstance(part.get("content"), str):
            thoughts.append(part["content"])
        elif kind == "tool_call" and isinstance(part.get("name"), str):
            arguments, raw = parse_arguments(part.get("arguments"))
            call_id = part.get("id")
            calls.append(
                ToolCall(
                    id=str(call_id) if call_id is not None else None,
                    name=part["name"],
                    arguments=arguments,
                    arguments_raw=raw,
                )
            )
        elif kind == "tool_call_response":
            call_id = part.get("id")
            responses.append((str(call_id) if call_id is not None else None, _as_text(part.get("response"))))
        else:  # blobs, files, URIs, server tool calls: kept as they are
            others.append(json_value(part))
    message = SpanMessage(
        role="tool" if responses and role in ("tool", "user") else role,
        text="\n".join(texts) if texts else None,
        reasoning="\n".join(thoughts) if thoughts else None,
        tool_calls=calls,
    )
    if responses:
        message.tool_call_id = responses[0][0]
        bodies = [body for _, body in responses]
        message.text = "\n".join([*bodies, *texts]) if texts else "\n".join(bodies)
        if len(responses) > 1:
            message.extra["tool_call_ids"] = [rid for rid, _ in responses]
    if others:
        message.extra["parts"] = others
    return message


def _indexed_messages(attrs: dict[str, Any], direction: str) -> list[SpanMessage] | None:
    fields: dict[int, dict[str, Any]] = {}
    for key in list(attrs):
        for pattern in _INDEXED[direction]:
            match = pattern.match(key)
            if match:
                fields.setdefault(int(match.group(1)), {})[match.group(2)] = attrs.pop(key)
                break
    if not fields:
        return None
    default_role: Role = "assistant" if direction == "output" else "user"
    return [_indexed_message(data, default_role) for _, data in sorted(fields.items())]


def _indexed_message(data: dict[str, Any], default_role: Role) -> SpanMessage:
    role = ROLES.get(str(data.pop("role", "")).lower(), default_role)
    texts: dict[int, str] = {}
    calls: dict[int, dict[str, Any]] = {}
    extra: dict[str, JsonValue] = {}
    text = data.pop("content", None)
    for key, value in data.items():
        call = _TOOL_CALL.match(key)
        part = _CONTENT_PART.match(key)
        if call:
            calls.setdefault(int(call.group(1)), {})[call.group(2)] = value
        elif part and part.group(2) == "text" and isinstance(value, str):
            texts[int(part.group(1))] = value
        elif part and part.group(2) == "type":
            continue
        elif key not in ("tool_call_id", "name", "finish_reason"):
            extra[key] = json_value(value)
    parts = [texts[i] for i in sorted(texts)]
    if isinstance(text, str):
        parts.insert(0, text)
    elif text is not None:
        parts.insert(0, _as_text(text))
    tool_calls: list[ToolCall] = []
    for _, call_data in sorted(calls.items()):
        name = call_data.get("function.name", call_data.get("name"))
        if not isinstance(name, str):
            extra.setdefault("tool_calls", []).append(json_value(call_data))  # type: ignore[union-attr]
            continue
        arguments, raw = parse_arguments(call_data.get("function.arguments", call_data.get("arguments")))
        call_id = call_data.get("id")
        tool_calls.append(
            ToolCall(
                id=str(call_id) if call_id is not None else None,
                name=name,
                arguments=arguments,
                arguments_raw=raw,
            )
        )
    call_id = data.get("tool_call_id")
    name = data.get("name")
    if data.get("finish_reason") is not None:
        extra["finish_reason"] = json_value(data["finish_reason"])
    return SpanMessage(
        role=role,
        text="\n".join(parts) if parts else None,
        tool_calls=tool_calls,
        tool_call_id=str(call_id) if call_id is not None else None,
        name=name if isinstance(name, str) else None,
        extra=extra,
    )


def _json(value: Any) -> Any:
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(json_value(value)).decode()
