"""OpenTelemetry / OpenInference span exports (as TRAIL-style traces use): a trajectory per trace.

Spans (read by ``_otel_spans`` from OTLP JSON, SDK/Phoenix JSON or TRAIL-style trees, in ``.json``
or ``.jsonl``) are grouped by trace and become steps in start-time order, one step per span:

* LLM spans (OpenInference ``openinference.span.kind = LLM``, or GenAI ``gen_ai.*`` chat spans)
  are assistant steps: the output message text, its tool calls, the token counts and the model.
  Their input messages (GenAI ``gen_ai.input.messages`` or the older ``gen_ai.prompt.<i>.*``,
  OpenInference ``llm.input_messages``; read by ``_otel_messages``) become steps before it when
  no earlier step holds them: the task, and tool results no tool span recorded. Without output
  messages, an OpenAI response in ``output.value`` is read for its message.
* TOOL spans (and RETRIEVER / RERANKER / EMBEDDING, and GenAI ``execute_tool``) are tool steps:
  ``output.value`` or ``gen_ai.tool.call.result`` is the output; a tool span is linked to the LLM
  tool call it answers by ``tool_call.id`` / ``gen_ai.tool.call.id`` or, failing that, to the
  latest unanswered call of the same tool name.
* Other spans (AGENT, CHAIN, GUARDRAIL, ``invoke_agent``…) are assistant steps naming the span as
  the ``agent``; their input and output go to the step's metadata.

Every step keeps ``span_id``, ``parent_span_id``, the span name and kind and the attributes that
were not mapped, so annotations made against span ids (TRAIL) can be joined back. The root span's
input is the question and its output the final answer; without them, the first user message and
the last assistant text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from pydantic import JsonValue

from memex_audit.errors import TrajectoryFormatError
from memex_audit.loaders._formats._chat_messages import first_user_text, last_assistant_text, tool_call_from
from memex_audit.loaders._formats._otel_messages import DETAILS_EVENT, SpanMessage, span_messages
from memex_audit.loaders._formats._otel_spans import Span, spans_in
from memex_audit.loaders._formats._record_errors import convert_record, format_problem, unique_ids
from memex_audit.loaders._formats._record_fields import json_value, split_content, summed_usage, usage_from
from memex_audit.loaders._jsonio import first_json_char, iter_jsonl_records, read_json_document
from memex_audit.loaders._registry import LoadItem, LoadProblem, register_format
from memex_audit.trajectory import Role, Source, Step, ToolCall, Trajectory, Usage

FORMAT = "otel"
_TOOL_KINDS = frozenset({"TOOL", "RETRIEVER", "RERANKER", "EMBEDDING"})


class OtelFormat:
    """OpenTelemetry / OpenInference span exports (OTLP JSON, SDK JSON, TRAIL traces)."""

    name: str = FORMAT
    extensions: tuple[str, ...] = (".json", ".jsonl")
    empty_reason: str = (
        "the spans carry no message content: GenAI instrumentations record prompts and completions "
        "only when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT is set (span_only or true), "
        "OpenInference ones unless OPENINFERENCE_HIDE_INPUTS / _OUTPUTS hide them"
    )

    def sniff(self, path: Path, head: bytes) -> float:
        if not path.name.endswith(self.extensions) or first_json_char(head) not in (b"[", b"{"):
            return 0.0
        if b'"resourceSpans"' in head:
            return 0.95
        if b'"child_spans"' in head or b'"span_attributes"' in head:
            return 0.9
        if b"openinference.span.kind" in head:
            return 0.85
        if (b'"span_id"' in head or b'"spanId"' in head) and (b'"trace_id"' in head or b'"traceId"' in head):
            return 0.8
        return 0.0

    def load(self, path: Path) -> Iterator[LoadItem]:
        spans: list[Span] = []
        lines: dict[str, int] = {}
        for item in self._documents(path):
            if isinstance(item, LoadProblem):
                yield item
                continue
            line, doc = item
            try:
                found = list(spans_in(doc))
            except TrajectoryFormatError as exc:
                yield format_problem(exc, path=path, fmt=FORMAT, line=line)
                continue
            for span in found:
                span.order = len(spans)
                spans.append(span)
                if line is not None:
                    lines.setdefault(span.trace_id, line)
        traces: dict[str, list[Span]] = {}
        for span in spans:
            traces.setdefault(span.trace_id, []).append(span)
        yield from unique_ids(
            convert_record(
                partial(
                    trace_trajectory, trace_id, members, path, position=position, line=lines.get(trace_id)
                ),
                path=path,
                fmt=FORMAT,
                line=lines.get(trace_id),
                field_prefix=f"trace {trace_id}",
            )
            for position, (trace_id, members) in enumerate(traces.items())
        )

    def _documents(self, path: Path) -> Iterator[tuple[int | None, Any] | LoadProblem]:
        if path.name.endswith(".jsonl"):
            yield from iter_jsonl_records(path, FORMAT)
            return
        doc = read_json_document(path, FORMAT)
        yield doc if isinstance(doc, LoadProblem) else (None, doc)


def trace_trajectory(
    trace_id: str, spans: list[Span], path: Path, *, position: int, line: int | None = None
) -> Trajectory:
    """The spans of one trace as a trajectory (see the module docstring)."""
    ids = {s.span_id for s in spans}
    ordered = sorted(spans, key=lambda s: (s.start is None, s.start or datetime.min, s.order))
    roots = [s for s in ordered if s.parent_id is None or s.parent_id not in ids]
    root = roots[0]
    steps: list[Step] = []
    pending: list[ToolCall] = []  # LLM tool calls not yet answered by a tool span
    seen: Counter[tuple[str, ...]] = Counter()  # messages the steps so far already hold
    models: dict[str, None] = {}
    for span in ordered:
        model = _span_steps(span, steps, pending, seen)
        if model:
            models.setdefault(model, None)
    usage = summed_usage(steps)
    attrs = root.attributes
    question = _text_value(attrs.get("input.value")) or first_user_text(steps)
    answer = _text_value(attrs.get("output.value")) or last_assistant_text(steps)
    task_id = next(
        (str(attrs[k]) for k in ("task_id", "task.id", "metadata.task_id") if attrs.get(k) is not None),
        trace_id,
    )
    metadata: dict[str, JsonValue] = {"trace_id": trace_id, "root_span": root.name}
    if root.resource:
        metadata["resource"] = json_value(root.resource)
    if len(models) > 1:
        metadata["models"] = list(models)
    return Trajectory(
        id=f"{path.stem}/{trace_id}",
        task_id=task_id,
        question=question,
        final_answer=answer,
        harness=_harness(root) or FORMAT,
        model=next(iter(models), None),
        steps=steps,
        usage=usage,
        metadata=metadata,
        source=Source(file=str(path), format=FORMAT, line=line, position=position),
    )


def _span_steps(
    span: Span, steps: list[Step], pending: list[ToolCall], seen: Counter[tuple[str, ...]]
) -> str | None:
    """Append the steps of one span to ``steps``; return the model it names, if any.

    An LLM span first adds the input messages no earlier step holds (the task, tool results that
    no tool span recorded), then its own assistant step.
    """
    attrs = dict(span.attributes)
    kind = span.kind
    attrs.pop("openinference.span.kind", None)
    metadata: dict[str, JsonValue] = {
        "span_id": span.span_id,
        "span_name": span.name,
        "span_kind": kind,
    }
    if span.parent_id:
        metadata["parent_span_id"] = span.parent_id
    events = [e for e in span.events if not (isinstance(e, dict) and e.get("name") == DETAILS_EVENT)]
    if events:
        metadata["events"] = events
    if span.extra:
        metadata["span"] = span.extra
    if span.status_code:
        metadata["status"] = span.status_code
    duration = (span.end - span.start).total_seconds() if span.start and span.end else None
    error = _error(span)
    model: str | None = None
    role: Role
    fields: dict[str, Any] = {}
    if kind == "LLM":
        role = "assistant"
        model = _pop_first(attrs, "llm.model_name", "gen_ai.response.model", "gen_ai.request.model")
        inputs = span_messages(attrs, span.events, "input")
        outputs = span_messages(attrs, span.events, "output")
        if inputs:
            metadata["input_messages"] = len(inputs)
            _add_input_steps(inputs, span, steps, seen)
        text, reasoning, calls, extra = _llm_output(attrs, outputs)
        metadata.update(extra)
        pending.extend(calls)
        seen[SpanMessage(role="assistant", text=text, tool_calls=calls).signature()] += 1
        fields = {"text": text, "reasoning": reasoning, "tool_calls": calls, "usage": _llm_usage(attrs)}
        if model:
            metadata["model"] = model
    elif kind in _TOOL_KINDS:
        role = "tool"
        name = _pop_first(attrs, "tool.name", "gen_ai.tool.name") or span.name
        call_id = _pop_first(attrs, "tool_call.id", "gen_ai.tool.call.id")
        call = _answered_call(pending, name, call_id)
        output = _text_value(_pop_first(attrs, "output.value", "gen_ai.tool.call.result"))
        attrs.pop("output.mime_type", None)
        if output is None and kind == "RETRIEVER":
            docs = {k: v for k, v in attrs.items() if k.startswith("retrieval.documents.")}
            output = orjson.dumps(docs).decode() if docs else None
        call_id = call_id or (call.id if call else None)
        seen[SpanMessage(role="tool", text=output, tool_call_id=call_id).signature()] += 1
        fields = {"tool_name": name, "tool_call_id": call_id, "output": output if output is not None else ""}
    else:
        role = "assistant"
        fields = {"agent": _pop_first(attrs, "agent.name", "gen_ai.agent.name") or span.name}
    metadata["attributes"] = json_value(attrs)
    steps.append(
        Step(
            index=len(steps),
            role=role,
            error=error,
            started_at=span.start,
            duration_s=duration,
            metadata=metadata,
            **fields,
        )
    )
    return model


def _add_input_steps(
    inputs: list[SpanMessage], span: Span, steps: list[Step], seen: Counter[tuple[str, ...]]
) -> None:
    """Add a step for each input message that no earlier step holds (repeats are matched once each)."""
    available = Counter(seen)
    names = {c.id: c.name for s in steps for c in s.tool_calls if c.id is not None}
    for message in inputs:
        signature = message.signature()
        if available[signature] > 0:
            available[signature] -= 1
            continue
        seen[signature] += 1
        metadata: dict[str, JsonValue] = {"span_id": span.span_id, "from": "llm input messages"}
        metadata.update(message.extra)
        if message.role == "tool":
            step = Step(
                index=len(steps),
                role="tool",
                tool_call_id=message.tool_call_id,
                tool_name=message.name or names.get(message.tool_call_id or ""),
                output=message.text or "",
                started_at=span.start,
                metadata=metadata,
            )
        else:
            step = Step(
                index=len(steps),
                role=message.role,
                agent=message.name,
                text=message.text,
                reasoning=message.reasoning,
                tool_calls=message.tool_calls,
                started_at=span.start,
                metadata=metadata,
            )
        for call in message.tool_calls:
            if call.id is not None:
                names[call.id] = call.name
        steps.append(step)


def _llm_output(
    attrs: dict[str, Any], outputs: list[SpanMessage] | None
) -> tuple[str | None, str | None, list[ToolCall], dict[str, JsonValue]]:
    """Text, reasoning and tool calls of an LLM span's output, and what else it recorded.

    Without output messages, ``output.value`` stands in: an OpenAI chat completion response is read
    for its first choice's message; other text is the step's text.
    """
    extra: dict[str, JsonValue] = {}
    if outputs is None:
        raw = attrs.get("output.value")
        message = _response_message(raw)
        if message is not None:
            attrs.pop("output.value")
            attrs.pop("output.mime_type", None)
            extra["output_value"] = json_value(raw)
            outputs = [message]
        else:
            text = _text_value(attrs.pop("output.value", None))
            attrs.pop("output.mime_type", None)
            return text, None, [], extra
    texts = [m.text for m in outputs if m.text]
    thoughts = [m.reasoning for m in outputs if m.reasoning]
    calls = [c for m in outputs for c in m.tool_calls]
    for i, message in enumerate(outputs):
        for key, value in message.extra.items():
            extra[key if len(outputs) == 1 else f"{key}.{i}"] = value
    return "\n".join(texts) or None, "\n".join(thoughts) or None, calls, extra


def _response_message(raw: Any) -> SpanMessage | None:
    """The first choice of an OpenAI chat completion response given as JSON text, or ``None``."""
    if not isinstance(raw, str) or '"choices"' not in raw:
        return None
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    choices = doc.get("choices") if isinstance(doc, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    message = choices[0].get("message")
    if not isinstance(message, dict):
        return None
    text, reasoning, _ = split_content(message.get("content"))
    calls = []
    for i, raw_call in enumerate(message.get("tool_calls") or []):
        try:
            calls.append(tool_call_from(raw_call, f"output.value.choices.0.message.tool_calls.{i}")[0])
        except TrajectoryFormatError:
            continue
    return SpanMessage(role="assistant", text=text, reasoning=reasoning, tool_calls=calls)


def _llm_usage(attrs: dict[str, Any]) -> Usage | None:
    data = {
        "prompt_tokens": _pop_first(
            attrs, "llm.token_count.prompt", "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"
        ),
        "completion_tokens": _pop_first(
            attrs,
            "llm.token_count.completion",
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
        ),
        "input_tokens_cache_read": _pop_first(attrs, "llm.token_count.prompt_details.cache_read"),
        "input_tokens_cache_write": _pop_first(attrs, "llm.token_count.prompt_details.cache_write"),
        "cost": _pop_first(attrs, "llm.cost.total"),
    }
    return usage_from({k: _number(v) for k, v in data.items() if v is not None})


def _answered_call(pending: list[ToolCall], name: str, call_id: str | None) -> ToolCall | None:
    for i in range(len(pending) - 1, -1, -1):
        call = pending[i]
        if (call_id is not None and call.id == call_id) or (call_id is None and call.name == name):
            return pending.pop(i)
    return None


def _error(span: Span) -> str | None:
    if span.status_code != "ERROR":
        return None
    for event in span.events:
        if isinstance(event, dict):
            attributes = event.get("attributes")
            if isinstance(attributes, dict) and isinstance(attributes.get("exception.message"), str):
                return str(attributes["exception.message"])
    return span.status_message or "span ended with status ERROR"


def _harness(root: Span) -> str | None:
    for key in ("telemetry.sdk.name", "service.name"):
        value = root.resource.get(key)
        if isinstance(value, str) and value and value != "opentelemetry":
            return value
    return None


def _pop_first(attrs: dict[str, Any], *keys: str) -> Any:
    found = None
    for key in keys:
        if key in attrs:
            value = attrs.pop(key)
            if found is None and value is not None:
                found = value
    return found


def _text_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return orjson.dumps(json_value(value)).decode()


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return None
    return value


register_format(OtelFormat())
