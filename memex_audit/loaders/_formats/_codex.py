"""Codex CLI session rollouts: ``~/.codex/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl``.

Each line is ``{"timestamp", "type", "payload"}`` (Codex CLI 0.3x and later):

* ``session_meta``: the session's ``id``, ``cwd``, ``cli_version``, ``originator``, ``git``…
  (trajectory metadata; the id names the trajectory and its task).
* ``turn_context``: the model, approval and sandbox policy of a turn (the first model is the
  trajectory's; every distinct one is listed in ``metadata["models"]``).
* ``response_item``: what the model saw and produced, in the Responses API's item shapes. These
  are the steps: user and developer ``message`` items are user and system steps (the
  ``<environment_context>`` and ``<user_instructions>`` Codex adds are marked
  ``metadata["context"]``); the model's ``reasoning`` (summary text), assistant ``message`` and
  calls (``function_call``, ``custom_tool_call`` such as ``apply_patch``, ``local_shell_call``,
  ``web_search_call``) up to the next tool output form one assistant step; each
  ``function_call_output`` / ``custom_tool_call_output`` is a tool step. A shell output given as
  ``{"output", "metadata": {"exit_code", "duration_seconds"}}`` (or as ``Exit code: N`` text)
  yields the output text, the exit code in metadata and an error when it is not 0.
* ``event_msg``: ``token_count`` events give each model call's usage (``last_token_usage``, on
  the assistant step it produced) and the session's (``total_token_usage``). Events that repeat a
  response item (``user_message``, ``agent_message``, ``agent_reasoning``) are not copied; others
  (errors, aborted turns, reviews) are kept in ``metadata["events"]``.
* ``compacted``: the summary that replaced the history, as a user step marked
  ``metadata["compacted"]``.

Files written before the envelope (a first line ``{"id", "timestamp", "instructions"}`` then bare
response items) are read the same way. Sessions are not graded: the outcome is empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from pydantic import JsonValue

from memex_audit.errors import TrajectoryFormatError
from memex_audit.loaders._formats._chat_messages import last_assistant_text
from memex_audit.loaders._formats._record_errors import convert_record
from memex_audit.loaders._formats._record_fields import json_value, parse_arguments, parse_time, split_content
from memex_audit.loaders._jsonio import first_json_char, iter_jsonl_objects
from memex_audit.loaders._registry import LoadItem, LoadProblem, register_format
from memex_audit.trajectory import Source, Step, ToolCall, Trajectory, Usage

FORMAT = "codex"
_ITEM_TYPES = frozenset(
    {
        "message",
        "reasoning",
        "function_call",
        "function_call_output",
        "custom_tool_call",
        "custom_tool_call_output",
        "local_shell_call",
        "web_search_call",
    }
)
_REPEATED_EVENTS = frozenset(
    {"user_message", "agent_message", "agent_reasoning", "agent_reasoning_raw_content", "token_count"}
)
_CONTEXT_PREFIXES = ("<environment_context>", "<user_instructions>", "# AGENTS.md instructions")
_EXIT_TEXT = re.compile(r"\AExit code: (-?\d+)\n(?:Wall time: ([\d.]+) seconds\n)?(?:.*\n)*?Output:\n", re.M)


class CodexFormat:
    """Codex CLI session rollouts (~/.codex/sessions/**/rollout-*.jsonl)."""

    name: str = FORMAT
    extensions: tuple[str, ...] = (".jsonl",)
    empty_reason: str = "the rollout holds no response items (a session that ended before its first turn)"

    def sniff(self, path: Path, head: bytes) -> float:
        if not path.name.endswith(".jsonl") or first_json_char(head) != b"{":
            return 0.0
        compact = head.replace(b" ", b"")
        if b'"type":"session_meta"' in compact or (
            b'"type":"response_item"' in compact and b'"payload"' in compact
        ):
            return 0.95
        if (
            path.name.startswith("rollout-")
            and b'"instructions"' in compact
            and b'"type":"message"' in compact
        ):
            return 0.8
        return 0.0

    def load(self, path: Path) -> Iterator[LoadItem]:
        records: list[tuple[int, dict[str, Any]]] = []
        for item in iter_jsonl_objects(path, FORMAT):
            if isinstance(item, LoadProblem):
                yield item
            else:
                records.append(item)
        if records:
            yield convert_record(lambda: rollout_trajectory(records, path), path=path, fmt=FORMAT)


class _Builder:
    """Accumulates steps from response items in order."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.names: dict[str, str] = {}

    def _assistant(self, started: Any) -> Step:
        last = self.steps[-1] if self.steps else None
        if last is not None and last.role == "assistant" and not last.metadata.get("compacted"):
            return last
        step = Step(index=len(self.steps), role="assistant", started_at=parse_time(started))
        self.steps.append(step)
        return step

    def add(self, item: dict[str, Any], timestamp: Any, line: int) -> None:
        kind = item.get("type")
        if kind == "message":
            self._message(item, timestamp, line)
        elif kind == "reasoning":
            step = self._assistant(timestamp)
            texts = [p.get("text") for p in item.get("summary") or [] if isinstance(p, dict)]
            texts += [p.get("text") for p in item.get("content") or [] if isinstance(p, dict)]
            text = "\n".join(t for t in texts if isinstance(t, str) and t)
            if text:
                step.reasoning = f"{step.reasoning}\n{text}" if step.reasoning else text
            if item.get("encrypted_content"):
                step.metadata["encrypted_reasoning"] = True
        elif kind in ("function_call", "custom_tool_call", "local_shell_call", "web_search_call"):
            self._call(item, timestamp, line)
        elif kind in ("function_call_output", "custom_tool_call_output"):
            self._output(item, timestamp, line)
        else:
            raise TrajectoryFormatError(
                f"unknown response item type {kind!r}", field=f"line {line}.payload.type"
            )

    def _message(self, item: dict[str, Any], timestamp: Any, line: int) -> None:
        role = item.get("role")
        text, reasoning, lossless = split_content(item.get("content"))
        metadata: dict[str, JsonValue] = {"line": line}
        if not lossless:
            metadata["content"] = json_value(item.get("content"))
        if role == "assistant":
            step = self._assistant(timestamp)
            if text:
                step.text = f"{step.text}\n{text}" if step.text else text
            step.metadata.setdefault("line", line)
            return
        if role not in ("user", "developer", "system"):
            raise TrajectoryFormatError(f"unknown message role {role!r}", field=f"line {line}.payload.role")
        if role == "user" and text is not None and text.lstrip().startswith(_CONTEXT_PREFIXES):
            metadata["context"] = True
        self.steps.append(
            Step(
                index=len(self.steps),
                role="user" if role == "user" else "system",
                text=text,
                reasoning=reasoning,
                started_at=parse_time(timestamp),
                metadata=metadata,
            )
        )

    def _call(self, item: dict[str, Any], timestamp: Any, line: int) -> None:
        kind = item["type"]
        step = self._assistant(timestamp)
        step.metadata.setdefault("line", line)
        call_id = item.get("call_id") or item.get("id")
        raw: str | None = None
        if kind == "function_call":
            name = item.get("name")
            arguments, raw = parse_arguments(item.get("arguments"))
        elif kind == "custom_tool_call":  # freeform input (apply_patch's patch text)
            name = item.get("name")
            arguments = {}
            raw = item.get("input") if isinstance(item.get("input"), str) else None
        elif kind == "local_shell_call":
            name = "local_shell"
            arguments = {str(k): json_value(v) for k, v in (item.get("action") or {}).items()}
        else:
            name = "web_search"
            arguments = {str(k): json_value(v) for k, v in (item.get("action") or {}).items()}
        if not isinstance(name, str) or not name:
            raise TrajectoryFormatError(f"{kind} has no name", field=f"line {line}.payload.name")
        call = ToolCall(
            id=str(call_id) if call_id else None, name=name, arguments=arguments, arguments_raw=raw
        )
        step.tool_calls.append(call)
        if call.id is not None:
            self.names[call.id] = name
        status = item.get("status")
        if status not in (None, "completed"):
            statuses = step.metadata.setdefault("call_status", {})
            if isinstance(statuses, dict) and call.id is not None:
                statuses[call.id] = json_value(status)

    def _output(self, item: dict[str, Any], timestamp: Any, line: int) -> None:
        call_id = item.get("call_id")
        text, exit_code, duration, extra = _tool_output(item.get("output"))
        metadata: dict[str, JsonValue] = {"line": line, **extra}
        if exit_code is not None:
            metadata["exit_code"] = exit_code
        self.steps.append(
            Step(
                index=len(self.steps),
                role="tool",
                tool_call_id=str(call_id) if call_id is not None else None,
                tool_name=self.names.get(str(call_id)),
                output=text,
                error=f"command exited with code {exit_code}" if exit_code else None,
                started_at=parse_time(timestamp),
                duration_s=duration,
                metadata=metadata,
            )
        )


def rollout_trajectory(records: list[tuple[int, dict[str, Any]]], path: Path) -> Trajectory:
    """One rollout file's lines as a trajectory (see the module docstring)."""
    builder = _Builder()
    meta: dict[str, Any] = {}
    models: dict[str, None] = {}
    contexts: list[JsonValue] = []
    events: list[JsonValue] = []
    prompts: list[str] = []
    total: Usage | None = None
    for number, record in records:
        kind, payload, timestamp = _envelope(record, number == records[0][0])
        if kind == "session_meta":
            meta.update(payload)
        elif kind == "turn_context":
            model = payload.get("model")
            if isinstance(model, str):
                models.setdefault(model, None)
            contexts.append(json_value({k: v for k, v in payload.items() if k != "cwd"}))
        elif kind == "response_item":
            builder.add(payload, timestamp, number)
        elif kind == "compacted":
            message = payload.get("message")
            builder.steps.append(
                Step(
                    index=len(builder.steps),
                    role="user",
                    text=message if isinstance(message, str) else None,
                    started_at=parse_time(timestamp),
                    metadata={"compacted": True, "line": number},
                )
            )
        elif kind == "event_msg":
            event = payload.get("type")
            if event == "token_count":
                total = _token_count(payload, builder.steps) or total
            elif event == "user_message" and isinstance(payload.get("message"), str):
                prompts.append(payload["message"])
            elif event not in _REPEATED_EVENTS:
                events.append(json_value({"timestamp": timestamp, **payload}))
        elif kind is not None and kind != "state":
            events.append(json_value({"timestamp": timestamp, "line_type": kind, **payload}))
    steps = builder.steps
    session = meta.get("id") if isinstance(meta.get("id"), str) else path.stem
    metadata: dict[str, JsonValue] = {
        str(k): json_value(v) for k, v in meta.items() if k not in ("id", "instructions") and v is not None
    }
    if isinstance(meta.get("instructions"), str) and meta["instructions"]:
        metadata["instructions"] = meta["instructions"]
    if contexts:
        metadata["turn_contexts"] = contexts
    if len(models) > 1:
        metadata["models"] = list(models)
    if events:
        metadata["events"] = events
    question = (
        prompts[0]
        if prompts
        else next(
            (s.text for s in steps if s.role == "user" and s.text and not s.metadata.get("context")), None
        )
    )
    return Trajectory(
        id=str(session),
        task_id=str(session),
        question=question,
        final_answer=last_assistant_text(steps),
        harness="codex",
        model=next(iter(models), None),
        steps=steps,
        usage=total if total is not None else _summed(steps),
        metadata=metadata,
        source=Source(file=str(path), format=FORMAT),
    )


def _envelope(record: dict[str, Any], first: bool) -> tuple[str | None, dict[str, Any], Any]:
    """``(type, payload, timestamp)`` of a line, in the enveloped or the older bare shape."""
    if isinstance(record.get("payload"), dict) and isinstance(record.get("type"), str):
        return record["type"], record["payload"], record.get("timestamp")
    if record.get("record_type") == "state":
        return "state", {}, None
    if record.get("type") in _ITEM_TYPES:
        return "response_item", record, record.get("timestamp")
    if first and "id" in record and "timestamp" in record:
        return "session_meta", record, record.get("timestamp")
    return None, {}, None


def _token_count(payload: dict[str, Any], steps: list[Step]) -> Usage | None:
    info = payload.get("info")
    if not isinstance(info, dict):
        return None
    last = _usage(info.get("last_token_usage"))
    if last is not None:
        for step in reversed(steps):
            if step.role == "assistant":
                if step.usage is None:
                    step.usage = last
                break
    return _usage(info.get("total_token_usage"))


def _usage(data: Any) -> Usage | None:
    if not isinstance(data, dict):
        return None
    numbers = {k: v for k, v in data.items() if isinstance(v, int) and not isinstance(v, bool)}
    return Usage(
        input_tokens=numbers.get("input_tokens", 0),
        output_tokens=numbers.get("output_tokens", 0),
        cache_read_tokens=numbers.get("cached_input_tokens", 0),
    )


def _summed(steps: list[Step]) -> Usage:
    total = Usage()
    for step in steps:
        if step.usage is not None:
            total = total + step.usage
    return total


def _tool_output(output: Any) -> tuple[str, int | None, float | None, dict[str, JsonValue]]:
    """Output text, exit code, duration and other fields of a tool output item's ``output``."""
    extra: dict[str, JsonValue] = {}
    if isinstance(output, dict):  # structured outputs ({"content", "success"})
        text = output.get("content")
        extra = {k: json_value(v) for k, v in output.items() if k != "content"}
        output = text if isinstance(text, str) else orjson.dumps(json_value(output)).decode()
    if not isinstance(output, str):
        return orjson.dumps(json_value(output)).decode(), None, None, extra
    if output.startswith("{") and '"metadata"' in output:
        try:
            parsed = orjson.loads(output)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("output"), str):
            info: dict[str, Any] = parsed["metadata"] if isinstance(parsed.get("metadata"), dict) else {}
            code = info.get("exit_code")
            seconds = info.get("duration_seconds")
            extra.update(
                {k: json_value(v) for k, v in info.items() if k not in ("exit_code", "duration_seconds")}
            )
            return (
                parsed["output"],
                code if isinstance(code, int) else None,
                float(seconds) if isinstance(seconds, int | float) else None,
                extra,
            )
    match = _EXIT_TEXT.match(output)
    if match:
        seconds = float(match.group(2)) if match.group(2) else None
        return output[match.end() :], int(match.group(1)), seconds, extra
    return output, None, None, extra


register_format(CodexFormat())
