"""Chat messages to steps, for the message shapes most harnesses share.

One function reads the OpenAI chat-completion shape (``tool_calls[].function.arguments`` as JSON
text, ``tool`` messages with ``tool_call_id``), τ²-bench's (``tool_calls[]`` with ``name`` and
``arguments`` at the top), and Inspect's / Docent's (``tool_calls[].function`` as the name,
``content`` as a list of text and reasoning parts, tool errors as ``{"type", "message"}``).
One message becomes one step, so ``steps[i]`` is ``messages[i]``; fields with no place in
``Step`` go to the step's ``metadata``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import JsonValue

from memex_audit.errors import TrajectoryFormatError
from memex_audit.loaders._formats._record_fields import (
    json_value,
    parse_arguments,
    parse_time,
    require_dict,
    split_content,
    unmapped,
    usage_from,
)
from memex_audit.trajectory import Role, Step, ToolCall

ROLES: dict[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "model": "assistant",
    "tool": "tool",
    "function": "tool",
    "ipython": "tool",
}

_MAPPED = frozenset(
    {
        "role",
        "content",
        "tool_calls",
        "function_call",
        "tool_call_id",
        "name",
        "function",
        "error",
        "usage",
        "cost",
        "timestamp",
        "reasoning",
        "reasoning_content",
    }
)


def chat_role(value: Any, field: str) -> Role:
    """The canonical role for a message's ``role``; a ``TrajectoryFormatError`` when it is not one."""
    role = ROLES.get(str(value).lower()) if isinstance(value, str) else None
    if role is None:
        raise TrajectoryFormatError(
            f"unknown message role {value!r}; expected one of {', '.join(ROLES)}", field=field
        )
    return role


def tool_call_from(call: Any, field: str) -> tuple[ToolCall, dict[str, JsonValue]]:
    """A ``ToolCall`` from any of the shapes above, and the call's fields it did not use."""
    data = require_dict(call, field)
    function = data.get("function")
    if isinstance(function, dict):  # OpenAI: {"function": {"name", "arguments"}}
        name = function.get("name")
        raw_args: Any = function.get("arguments")
        extra = unmapped(function, ("name", "arguments"))
        used = {"id", "function", "type"}
    elif isinstance(function, str):  # Inspect / Docent: {"function": name, "arguments": {...}}
        name, raw_args, extra = function, data.get("arguments"), {}
        used = {"id", "function", "arguments", "type"}
    else:  # τ²: {"name", "arguments"}; Anthropic tool_use: {"name", "input"}
        name = data.get("name")
        raw_args = data.get("arguments", data.get("input"))
        extra = {}
        used = {"id", "name", "arguments", "input", "type"}
    if not isinstance(name, str) or not name:
        raise TrajectoryFormatError("tool call has no function name", field=f"{field}.function")
    arguments, raw = parse_arguments(raw_args)
    leftovers = unmapped(data, used)
    if data.get("type") not in (None, "function", "tool_use"):
        leftovers["type"] = data["type"]
    leftovers.update(extra)
    call_id = data.get("id")
    return (
        ToolCall(
            id=str(call_id) if call_id is not None else None,
            name=name,
            arguments=arguments,
            arguments_raw=raw,
        ),
        leftovers,
    )


def chat_step(message: Any, index: int, field: str, *, parsed_json: bool = False) -> Step:
    """One chat message as a step at ``index``.

    ``parsed_json``: the message was parsed from JSON text (by ``read_json_document``), so its
    leftover fields are JSON values already and go to ``metadata`` without being validated again
    (which would only copy them). Leave it false for messages read from elsewhere (Parquet).
    """
    msg = require_dict(message, field)
    role = chat_role(msg.get("role"), f"{field}.role")
    text, reasoning, lossless = split_content(msg.get("content"))
    metadata = unmapped(msg, _MAPPED)
    if not lossless:
        metadata["content"] = json_value(msg.get("content"))
    if msg.get("role") not in (role, None):
        metadata["role"] = msg["role"]
    for key in ("reasoning", "reasoning_content"):
        value = msg.get(key)
        if isinstance(value, str) and value:
            reasoning = f"{reasoning}\n{value}" if reasoning else value
        elif value is not None:
            metadata[key] = json_value(value)

    calls: list[ToolCall] = []
    call_extras: list[JsonValue] = []
    raw_calls = msg.get("tool_calls") or []
    if not isinstance(raw_calls, list):
        raise TrajectoryFormatError("expected a JSON array of tool calls", field=f"{field}.tool_calls")
    for i, raw_call in enumerate(raw_calls):
        call, extra = tool_call_from(raw_call, f"{field}.tool_calls.{i}")
        calls.append(call)
        call_extras.append(extra)
    if isinstance(msg.get("function_call"), dict):  # the OpenAI API before tool_calls
        call, extra = tool_call_from({"function": msg["function_call"]}, f"{field}.function_call")
        calls.append(call)
        call_extras.append(extra)
    if any(call_extras):
        metadata["tool_call_fields"] = call_extras

    error = _error_text(msg.get("error"), text)
    raw_error = msg.get("error")
    if isinstance(raw_error, dict) and set(raw_error) - {"type", "message"}:
        metadata["error"] = json_value(raw_error)
    usage = None
    cost = msg.get("cost")
    if msg.get("usage") is not None or (isinstance(cost, int | float) and cost > 0):
        usage = usage_from(msg.get("usage"), cost=cost)
    elif cost is not None and cost != 0:
        metadata["cost"] = json_value(cost)
    started = parse_time(msg.get("timestamp"))
    if msg.get("timestamp") is not None and started is None:
        metadata["timestamp"] = json_value(msg["timestamp"])

    name = msg.get("name") if isinstance(msg.get("name"), str) else None
    if name is None and msg.get("name") is not None:
        metadata["name"] = json_value(msg["name"])
    if role == "tool":
        tool_name = msg.get("function") if isinstance(msg.get("function"), str) else name
        return _new_step(
            metadata,
            parsed_json,
            index=index,
            role=role,
            tool_call_id=_opt_str(msg.get("tool_call_id")),
            tool_name=tool_name,
            output=text if text is not None else "",
            reasoning=reasoning,
            error=error,
            usage=usage,
            started_at=started,
        )
    if msg.get("tool_call_id") is not None:
        metadata["tool_call_id"] = json_value(msg["tool_call_id"])
    return _new_step(
        metadata,
        parsed_json,
        index=index,
        role=role,
        agent=name,
        text=text,
        reasoning=reasoning,
        tool_calls=calls,
        error=error,
        usage=usage,
        started_at=started,
    )


def chat_steps(
    messages: Iterable[Any], field: str = "messages", start: int = 0, *, parsed_json: bool = False
) -> list[Step]:
    """Each message as a step, indexed from ``start``; tool steps linked to the calls they answer.

    τ²-bench puts the call id of a tool message in its ``id``; a tool step without a
    ``tool_call_id`` whose ``id`` names an earlier call is linked by it. A tool step without a
    tool name takes the name of the call it answers. ``parsed_json``: see ``chat_step``.
    """
    steps = [chat_step(m, start + i, f"{field}.{i}", parsed_json=parsed_json) for i, m in enumerate(messages)]
    names: dict[str, str] = {}
    for step in steps:
        for call in step.tool_calls:
            if call.id is not None:
                names[call.id] = call.name
        if step.role != "tool":
            continue
        message_id = step.metadata.get("id")
        if step.tool_call_id is None and isinstance(message_id, str) and message_id in names:
            step.tool_call_id = message_id
            del step.metadata["id"]
        if step.tool_name is None and step.tool_call_id is not None:
            step.tool_name = names.get(step.tool_call_id)
    return steps


def _new_step(metadata: dict[str, JsonValue], parsed_json: bool, **fields: Any) -> Step:
    if not parsed_json:
        return Step(**fields, metadata=metadata)
    step = Step(**fields)
    step.metadata = metadata  # JSON values already: not validated (copied) again
    return step


def last_assistant_text(steps: Iterable[Step]) -> str | None:
    """The text of the last assistant step that has any: the rollout's final answer."""
    answer = None
    for step in steps:
        if step.role == "assistant" and step.text and step.text.strip():
            answer = step.text
    return answer


def first_user_text(steps: Iterable[Step]) -> str | None:
    """The text of the first user step: the task as posed, when nothing better says so."""
    for step in steps:
        if step.role == "user" and step.text:
            return step.text
    return None


def _error_text(error: Any, text: str | None) -> str | None:
    if error is None or error is False:
        return None
    if error is True:  # τ²: the tool's output is the error message
        return text or "the tool reported an error"
    if isinstance(error, str):
        return error or None
    if isinstance(error, dict):
        message = error.get("message")
        kind = error.get("type")
        if isinstance(message, str):
            return f"{kind}: {message}" if isinstance(kind, str) else message
    return str(error)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
