"""Span exports in their several JSON shapes, read into one ``Span`` record.

Shapes read:

* OTLP JSON (the collector's file exporter, one request per line or one per file):
  ``{"resourceSpans": [{"resource", "scopeSpans": [{"spans": [...]}]}]}`` with camelCase span
  fields and attributes as ``[{"key", "value": {"stringValue": ...}}]``.
* The OpenTelemetry Python SDK's ``span.to_json()`` and Phoenix exports: ``{"name", "context":
  {"trace_id", "span_id"}, "parent_id", "start_time", "attributes": {...}}``, attributes flat
  (``llm.input_messages.0.message.role``) or nested.
* TRAIL-style traces: ``{"trace_id", "spans": [{"span_id", "parent_span_id", "span_name",
  "span_kind", "timestamp", "duration", "span_attributes", "child_spans": [...]}]}``.

Attributes always come out flat, with dotted keys and list positions as path segments.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import JsonValue

from memex_audit.errors import TrajectoryFormatError
from memex_audit.loaders._formats._record_fields import id_text, json_value, parse_time, unmapped

_DURATION = re.compile(
    r"^P(?:(?P<d>[\d.]+)D)?(?:T(?:(?P<h>[\d.]+)H)?(?:(?P<m>[\d.]+)M)?(?:(?P<s>[\d.]+)S)?)?$"
)


@dataclass
class Span:
    """One span, whatever shape it was exported in."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start: datetime | None
    end: datetime | None
    attributes: dict[str, Any]
    status_code: str | None = None
    status_message: str | None = None
    events: list[JsonValue] = field(default_factory=list)
    resource: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, JsonValue] = field(default_factory=dict)
    order: int = 0

    @property
    def kind(self) -> str:
        """The OpenInference span kind (``LLM``, ``TOOL``, ``CHAIN``, ``AGENT``…), upper case."""
        kind = self.attributes.get("openinference.span.kind")
        if isinstance(kind, str) and kind:
            return kind.upper()
        operation = self.attributes.get("gen_ai.operation.name")
        if operation == "execute_tool" or "gen_ai.tool.name" in self.attributes:
            return "TOOL"
        if operation in ("invoke_agent", "create_agent"):
            return "AGENT"
        if operation == "embeddings":
            return "EMBEDDING"
        if operation == "invoke_workflow":
            return "CHAIN"
        if operation in ("chat", "text_completion", "generate_content") or (
            operation is None and "gen_ai.request.model" in self.attributes
        ):
            return "LLM"
        return "UNKNOWN"


def spans_in(doc: Any, where: str = "") -> Iterator[Span]:
    """Every span in a parsed export document (any shape above), in document order."""
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            yield from spans_in(item, f"{where}{i}.")
        return
    if not isinstance(doc, dict):
        raise TrajectoryFormatError(
            "expected a span, a trace or an OTLP export object", field=where.rstrip(".") or None
        )
    if "resourceSpans" in doc:
        yield from _otlp(doc, where)
    elif isinstance(doc.get("spans"), list):
        for i, span in enumerate(doc["spans"]):
            if isinstance(span, dict) and isinstance(span.get("context"), dict):  # SDK spans in a wrapper
                yield _sdk(span, f"{where}spans.{i}")
            else:
                yield from _trail(span, id_text(doc.get("trace_id")), None, f"{where}spans.{i}")
    elif isinstance(doc.get("data"), list):  # a {"data": [...]} wrapper some exporters write
        yield from spans_in(doc["data"], f"{where}data.")
    else:
        yield _sdk(doc, where.rstrip("."))


def flatten(value: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Nested attribute objects as one flat dict with dotted keys (lists of objects indexed)."""
    out = {} if out is None else out
    if isinstance(value, dict):
        for key, inner in value.items():
            flatten(inner, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
        for i, inner in enumerate(value):
            flatten(inner, f"{prefix}.{i}", out)
    else:
        out[prefix] = value
    return out


def _otlp(doc: dict[str, Any], where: str) -> Iterator[Span]:
    for r, resource_spans in enumerate(doc.get("resourceSpans") or []):
        resource = _otlp_attributes((resource_spans.get("resource") or {}).get("attributes"))
        scopes = resource_spans.get("scopeSpans") or resource_spans.get("instrumentationLibrarySpans") or []
        for s, scope in enumerate(scopes):
            for i, raw in enumerate(scope.get("spans") or []):
                field_path = f"{where}resourceSpans.{r}.scopeSpans.{s}.spans.{i}"
                if not isinstance(raw, dict):
                    raise TrajectoryFormatError("expected a span object", field=field_path)
                trace_id, span_id = id_text(raw.get("traceId")), id_text(raw.get("spanId"))
                if trace_id is None or span_id is None:
                    raise TrajectoryFormatError(
                        "span has no traceId or spanId", field=f"{field_path}.traceId"
                    )
                status = raw.get("status") or {}
                code = status.get("code")
                yield Span(
                    trace_id=trace_id,
                    span_id=span_id,
                    parent_id=id_text(raw.get("parentSpanId")),
                    name=str(raw.get("name") or ""),
                    start=parse_time(raw.get("startTimeUnixNano")),
                    end=parse_time(raw.get("endTimeUnixNano")),
                    attributes=_otlp_attributes(raw.get("attributes")),
                    status_code=_status_name(code),
                    status_message=status.get("message") or None,
                    events=[json_value(_otlp_event(e)) for e in raw.get("events") or []],
                    resource=resource,
                    extra=unmapped(
                        raw,
                        (
                            "traceId",
                            "spanId",
                            "parentSpanId",
                            "name",
                            "startTimeUnixNano",
                            "endTimeUnixNano",
                            "attributes",
                            "status",
                            "events",
                        ),
                    ),
                )


def _sdk(raw: dict[str, Any], field_path: str) -> Span:
    context: dict[str, Any] = raw["context"] if isinstance(raw.get("context"), dict) else {}
    trace_id = id_text(context.get("trace_id", raw.get("trace_id")))
    span_id = id_text(context.get("span_id", raw.get("span_id")))
    if trace_id is None or span_id is None:
        raise TrajectoryFormatError(
            "span has no trace_id or span_id (context.trace_id / context.span_id)", field=field_path or None
        )
    attributes = flatten(raw.get("attributes") or {})
    if raw.get("span_kind") and "openinference.span.kind" not in attributes:
        attributes["openinference.span.kind"] = raw["span_kind"]
    status: dict[str, Any] = raw["status"] if isinstance(raw.get("status"), dict) else {}
    resource: dict[str, Any] = raw["resource"] if isinstance(raw.get("resource"), dict) else {}
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=id_text(raw.get("parent_id", raw.get("parent_span_id"))),
        name=str(raw.get("name") or ""),
        start=parse_time(raw.get("start_time")),
        end=parse_time(raw.get("end_time")),
        attributes=attributes,
        status_code=_status_name(status.get("status_code", raw.get("status_code"))),
        status_message=status.get("description") or raw.get("status_message") or None,
        events=[json_value(e) for e in raw.get("events") or []],
        resource=flatten(resource.get("attributes", resource)),
        extra=unmapped(
            raw,
            (
                "context",
                "trace_id",
                "span_id",
                "parent_id",
                "parent_span_id",
                "name",
                "start_time",
                "end_time",
                "attributes",
                "span_kind",
                "status",
                "status_code",
                "status_message",
                "events",
                "resource",
            ),
        ),
    )


def _trail(raw: Any, trace_id: str | None, parent: str | None, field_path: str) -> Iterator[Span]:
    if not isinstance(raw, dict):
        raise TrajectoryFormatError("expected a span object", field=field_path)
    span_id = id_text(raw.get("span_id"))
    trace = id_text(raw.get("trace_id")) or trace_id
    if span_id is None or trace is None:
        raise TrajectoryFormatError("span has no span_id or trace_id", field=f"{field_path}.span_id")
    start = parse_time(raw.get("timestamp", raw.get("start_time")))
    attributes = flatten(raw.get("span_attributes") or raw.get("attributes") or {})
    if raw.get("span_kind") and "openinference.span.kind" not in attributes:
        kind = str(raw["span_kind"])
        if not kind.upper().startswith(("SPAN_KIND", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")):
            attributes["openinference.span.kind"] = kind
    duration = _duration(raw.get("duration"))
    yield Span(
        trace_id=trace,
        span_id=span_id,
        parent_id=id_text(raw.get("parent_span_id")) or parent,
        name=str(raw.get("span_name", raw.get("name")) or ""),
        start=start,
        end=start + duration if start is not None and duration is not None else None,
        attributes=attributes,
        status_code=_status_name(raw.get("status_code")),
        status_message=raw.get("status_message") or None,
        events=[json_value(e) for e in raw.get("events") or []],
        resource=flatten(raw.get("resource_attributes") or {}),
        extra=unmapped(
            raw,
            (
                "span_id",
                "trace_id",
                "parent_span_id",
                "span_name",
                "name",
                "timestamp",
                "start_time",
                "duration",
                "span_attributes",
                "attributes",
                "status_code",
                "status_message",
                "events",
                "resource_attributes",
                "child_spans",
                "span_kind",
            ),
        ),
    )
    for i, child in enumerate(raw.get("child_spans") or []):
        yield from _trail(child, trace, span_id, f"{field_path}.child_spans.{i}")


def _otlp_attributes(items: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        if isinstance(item, dict) and "key" in item:
            out[str(item["key"])] = _otlp_value(item.get("value"))
    return out


def _otlp_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    for key in ("stringValue", "boolValue", "doubleValue", "bytesValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])
    if "arrayValue" in value:
        return [_otlp_value(v) for v in (value["arrayValue"] or {}).get("values") or []]
    if "kvlistValue" in value:
        return _otlp_attributes((value["kvlistValue"] or {}).get("values"))
    return None


def _otlp_event(event: Any) -> Any:
    if not isinstance(event, dict):
        return event
    out = dict(event)
    if "attributes" in out:
        out["attributes"] = _otlp_attributes(out["attributes"])
    return out


def _status_name(code: Any) -> str | None:
    if code is None:
        return None
    names = {0: "UNSET", 1: "OK", 2: "ERROR"}
    if isinstance(code, int):
        return names.get(code, str(code))
    text = str(code).upper()
    for name in ("ERROR", "OK", "UNSET"):
        if name in text:
            return name
    return text


def _duration(value: Any) -> timedelta | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        # Seconds unless implausibly long for one span, then nanoseconds (OTel's unit).
        return timedelta(seconds=value / 1e9 if value > 1e7 else value)
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if match and any(match.groupdict().values()):
            parts = {k: float(v) for k, v in match.groupdict().items() if v}
            return timedelta(
                days=parts.get("d", 0),
                hours=parts.get("h", 0),
                minutes=parts.get("m", 0),
                seconds=parts.get("s", 0),
            )
        try:
            return _duration(float(value))
        except ValueError:
            return None
    return None
