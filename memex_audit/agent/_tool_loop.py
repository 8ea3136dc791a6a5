"""The Tool-Calling baseline: the same tools offered as JSON tool calls, results as text.

This is the action space MemEx is compared against: each call's arguments are JSON, each result
is serialised to text into the context, and the task's objects are shown to the model as JSON
text (truncated) since it has no kernel to hold them. A tool parameter typed as a pydantic model
takes the *name* of one of the task's objects instead of the object itself.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import typing
from collections.abc import Callable
from typing import Any

import orjson
from pydantic import BaseModel, Field, JsonValue, create_model

from memex_audit.agent._observe import truncate_middle
from memex_audit.agent._prompts import fill
from memex_audit.agent._record import json_safe, now
from memex_audit.agent._render import models_in
from memex_audit.agent._state import RunState, Stop
from memex_audit.agent._validate import output_type_name
from memex_audit.llm import ChatMessage, ContentPart, LLMRequest, TextPart, ToolResultPart, ToolSpec
from memex_audit.trajectory import ToolCall

_SCOPE_FACTOR = 4  # each object of the task is shown up to 4 observation limits of JSON


def _object_params(fn: Callable[..., Any]) -> dict[str, str]:
    """Parameters typed with a pydantic model: they take an object's name."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        return {}
    found = {}
    for name, tp in hints.items():
        if name != "return" and models_in(tp):
            found[name] = " or ".join(sorted({m.__name__ for m in models_in(tp)}))
    return found


def _args_model(fn: Callable[..., Any]) -> type[BaseModel]:
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        hints = {}
    objects = _object_params(fn)
    fields: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        annotation: Any = hints.get(param.name, Any)
        description = None
        if param.name in objects:
            annotation, description = str, f"name of a {objects[param.name]} object of the task"
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, Field(default, description=description))
    return create_model(f"{fn.__name__}_arguments", **fields)


def tool_spec(fn: Callable[..., Any]) -> ToolSpec:
    """A tool as a JSON tool: its name, docstring and an argument schema from its signature."""
    try:
        schema: dict[str, JsonValue] = _args_model(fn).model_json_schema()
    except Exception:  # a default or a type with no JSON Schema: accept any object
        schema = {"type": "object"}
    return ToolSpec(name=fn.__name__, description=inspect.getdoc(fn) or fn.__name__, input_schema=schema)


def submit_spec(output_type: Any) -> tuple[ToolSpec, bool]:
    """The ``submit`` tool, and whether its argument is wrapped as ``{"value": ...}``."""
    from pydantic import TypeAdapter

    schema: dict[str, JsonValue] = TypeAdapter(output_type).json_schema()
    wrapped = schema.get("type") != "object"
    if wrapped:
        schema = {"type": "object", "properties": {"value": schema}, "required": ["value"]}
    description = f"Finish the task with a value of type {output_type_name(output_type)}; it is validated."
    return ToolSpec(name="submit", description=description, input_schema=schema), wrapped


def scope_as_text(scope: dict[str, Any], limit: int) -> str:
    """The task's objects as JSON text, each truncated to ``limit`` characters."""
    parts = []
    for name, value in scope.items():
        if isinstance(value, type) or callable(value):
            continue
        text = result_text(value)
        parts.append(f"### {name} ({type(value).__name__})\n{truncate_middle(text, limit)}")
    return "\n\n".join(parts) or "(none)"


def result_text(value: Any) -> str:
    """A tool result as the text the model reads: str as is, models and data as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    try:
        return orjson.dumps(json_safe(value)).decode()
    except TypeError:
        return repr(value)


async def _call(state: RunState, fn: Callable[..., Any], arguments: dict[str, Any]) -> Any:
    model = _args_model(fn)
    validated = model.model_validate(arguments)
    kwargs = {name: getattr(validated, name) for name in type(validated).model_fields}
    for name in _object_params(fn):
        ref = kwargs.get(name)
        if isinstance(ref, str):
            if ref not in state.scope:
                raise KeyError(f"no object named {ref!r}; the task's objects are {sorted(state.scope)}")
            kwargs[name] = state.scope[ref]
    positional = [
        kwargs.pop(p.name)
        for p in inspect.signature(fn).parameters.values()
        if p.kind is inspect.Parameter.POSITIONAL_ONLY and p.name in kwargs
    ]
    timeout = state.settings.block_timeout_s
    if inspect.iscoroutinefunction(fn):
        return await asyncio.wait_for(fn(*positional, **kwargs), timeout)
    # A sync tool runs in a thread; on timeout the call is abandoned (threads cannot be killed).
    return await asyncio.wait_for(asyncio.to_thread(fn, *positional, **kwargs), timeout)


async def run_tool_loop(state: RunState, system: str) -> Any:
    """Drive tool-calling turns until ``submit`` validates; returns the validated output.

    Raises:
        Stop: The run ended without a valid submission.
    """
    settings = state.settings
    tools = {tool.__name__: tool for tool in state.tools}
    submit, wrapped = submit_spec(state.output_type)
    specs = [tool_spec(tool) for tool in state.tools] + [submit]
    first = fill(
        "tool_calling_task",
        task=state.task,
        scope=scope_as_text(state.scope, settings.observation_limit * _SCOPE_FACTOR),
    )
    messages = state.start_conversation(system, first)
    while state.turns < settings.max_turns:
        request = LLMRequest(
            system=system,
            messages=messages,
            tools=specs,
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
        )
        response = await state.call_model(request)
        calls = [
            call if call.id else call.model_copy(update={"id": f"call_{n}"})
            for n, call in enumerate(response.tool_calls)
        ]
        state.recorder.assistant(
            text=response.text,
            reasoning=response.reasoning,
            tool_calls=calls,
            usage=response.usage,
            started_at=now(),
            duration_s=response.latency_s,
        )
        messages.append(response.as_message())
        if not calls:
            state.send_observation(system, messages, fill("no_tool_call"))
            continue
        parts: list[ContentPart] = []
        for call in calls:
            text, is_error = await _answer(state, call, tools, wrapped)
            parts.append(
                ToolResultPart(
                    tool_use_id=call.id or "",
                    content=truncate_middle(text, settings.observation_limit),
                    is_error=is_error,
                )
            )
        status = state.status_line(system, [*messages, ChatMessage(role="user", content=parts)])
        parts.append(TextPart(text=status))
        messages.append(ChatMessage(role="user", content=parts))
    raise Stop("max_turns", f"no valid submission after {settings.max_turns} turns")


async def _answer(
    state: RunState, call: ToolCall, tools: dict[str, Callable[..., Any]], wrapped: bool
) -> tuple[str, bool]:
    """Run one call and record its tool step; returns the result text and whether it failed."""
    started_at, started = now(), time.perf_counter()
    output: str | None = None
    error: str | None = None
    if call.name == "submit":
        value = call.arguments.get("value") if wrapped else call.arguments
        validated, errors = state.validate_submission(value)
        if errors is None:
            state.recorder.add(
                "tool", tool_call_id=call.id, tool_name="submit", output="accepted", started_at=started_at
            )
            raise Stop("submitted", output=validated)
        error, exhausted = state.reject_submission(errors)
        state.recorder.add(
            "tool", tool_call_id=call.id, tool_name="submit", error=error, started_at=started_at
        )
        if exhausted:
            raise Stop("error", f"submit was rejected {state.submit_failures} times; last errors:\n{errors}")
        return error, True
    tool = tools.get(call.name)
    if tool is None:
        error = f"no tool named {call.name!r}; the tools are {[*sorted(tools), 'submit']}"
    else:
        try:
            output = result_text(await _call(state, tool, dict(call.arguments)))
        except TimeoutError:
            error = f"TimeoutError: the tool ran longer than {state.settings.block_timeout_s:g}s"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
    state.recorder.add(
        "tool",
        tool_call_id=call.id,
        tool_name=call.name,
        output=output,
        error=error,
        started_at=started_at,
        duration_s=time.perf_counter() - started,
    )
    return (error if error is not None else output or ""), error is not None
