"""Reading fields of loosely typed foreign records: text, tool arguments, usage, times, leftovers.

Foreign formats are permissive where ours is strict, so every adapter needs the same small
conversions. Whatever a conversion does not map is handed back so it can go to ``metadata``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import orjson
from pydantic import JsonValue

from memex_audit.errors import TrajectoryFormatError
from memex_audit.trajectory import Step, Usage

TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})
REASONING_PART_TYPES = frozenset({"reasoning", "thinking", "redacted_thinking"})


def unmapped(record: Mapping[str, Any], mapped: Iterable[str]) -> dict[str, JsonValue]:
    """The entries of ``record`` whose keys are not in ``mapped`` (``None`` values left out).

    ``record`` must hold JSON data already (as parsed from JSON text); values read from other
    sources (Parquet) go through ``json_value`` first.
    """
    skip = set(mapped)
    return {k: v for k, v in record.items() if k not in skip and v is not None}


def require_dict(value: Any, field: str) -> dict[str, Any]:
    """``value`` when it is a JSON object; otherwise a ``TrajectoryFormatError`` naming ``field``."""
    if not isinstance(value, dict):
        raise TrajectoryFormatError(f"expected a JSON object, got {_kind(value)}", field=field)
    return value


def require_list(value: Any, field: str) -> list[Any]:
    """``value`` when it is a JSON array; otherwise a ``TrajectoryFormatError`` naming ``field``."""
    if not isinstance(value, list):
        raise TrajectoryFormatError(f"expected a JSON array, got {_kind(value)}", field=field)
    return value


def optional_dict(value: Any, field: str) -> dict[str, Any]:
    """``value`` as an object, ``{}`` for ``None``; a ``TrajectoryFormatError`` for anything else."""
    if value is None:
        return {}
    return require_dict(value, field)


def id_text(value: Any) -> str | None:
    """An id as text (``27`` and ``"27"`` are the same task), or ``None``."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def split_content(content: Any) -> tuple[str | None, str | None, bool]:
    """Text and reasoning of a message's ``content``, and whether nothing else was in it.

    ``content`` may be a string or a list of parts (OpenAI, Anthropic, Inspect and Docent shapes:
    ``{"type": "text", "text": ...}``, ``{"type": "reasoning", "reasoning": ...}``,
    ``{"type": "thinking", "thinking": ...}``). The third value is false when some part (an image,
    a tool block, extra fields) is not represented by the text, so the caller keeps the original.
    """
    if content is None:
        return None, None, True
    if isinstance(content, str):
        return content, None, True
    if not isinstance(content, list):
        return orjson.dumps(content).decode(), None, False
    texts: list[str] = []
    reasoning: list[str] = []
    lossless = True
    for part in content:
        if isinstance(part, str):
            texts.append(part)
            continue
        if not isinstance(part, dict):
            lossless = False
            continue
        kind = part.get("type")
        if kind in TEXT_PART_TYPES and isinstance(part.get("text"), str):
            texts.append(part["text"])
            if set(part) - {"type", "text", "refusal"}:
                lossless = False
        elif kind in REASONING_PART_TYPES:
            value = part.get("reasoning", part.get("thinking", part.get("summary")))
            if isinstance(value, str) and value:
                reasoning.append(value)
            if set(part) - {"type", "reasoning", "thinking"}:
                lossless = False
        else:
            lossless = False
    text = "\n".join(texts) if texts else None
    return text, ("\n".join(reasoning) if reasoning else None), lossless


def parse_arguments(value: Any) -> tuple[dict[str, JsonValue], str | None]:
    """Tool-call arguments as a dict, plus the raw text when they are not a JSON object."""
    if value is None:
        return {}, None
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}, None
    if isinstance(value, str):
        if not value.strip():
            return {}, None
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return {}, value
        if isinstance(parsed, dict):
            return parsed, None
        return {}, value
    return {}, orjson.dumps(json_value(value)).decode()


def usage_from(data: Any, *, cost: Any = None) -> Usage | None:
    """A ``Usage`` from a usage mapping in OpenAI, Anthropic, Inspect or OpenInference naming.

    Anthropic counts cache reads and writes apart from ``input_tokens``; they are added to the
    input here, as ``Usage`` counts them as part of it.
    """
    if not isinstance(data, dict):
        return Usage(cost_usd=float(cost)) if _is_number(cost) else None
    inp = _int(data.get("prompt_tokens", data.get("input_tokens", data.get("prompt"))))
    out = _int(data.get("completion_tokens", data.get("output_tokens", data.get("completion"))))
    cache_read = _int(data.get("input_tokens_cache_read", data.get("cache_read_input_tokens")))
    cache_write = _int(data.get("input_tokens_cache_write", data.get("cache_creation_input_tokens")))
    details = data.get("prompt_tokens_details")
    if isinstance(details, dict) and not cache_read:
        cache_read = _int(details.get("cached_tokens"))
    if "cache_read_input_tokens" in data or "cache_creation_input_tokens" in data:
        inp += cache_read + cache_write
    found_cost = cost if _is_number(cost) else None
    for key in ("cost", "total_cost", "cost_usd"):
        if found_cost is None and _is_number(data.get(key)):
            found_cost = data[key]
    if not (inp or out or cache_read or cache_write) and found_cost is None:
        return None
    return Usage(
        input_tokens=inp,
        output_tokens=out,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cost_usd=float(found_cost) if found_cost is not None else None,
    )


def summed_usage(steps: Iterable[Step], *, cost: Any = None) -> Usage:
    """The sum of the steps' usage, for a record that gives no totals of its own.

    Args:
        steps: The steps to add up (those without usage count as nothing).
        cost: The record's own cost in US dollars; when it is a number it replaces the summed cost.
    """
    total = Usage()
    for step in steps:
        if step.usage is not None:
            total = total + step.usage
    found_cost = as_float(cost)
    if found_cost is not None:
        total.cost_usd = found_cost
    return total


def parse_time(value: Any) -> datetime | None:
    """A timestamp from ISO 8601 text or epoch seconds / milliseconds / nanoseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return parse_time(int(text))
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if _is_number(value):
        number = float(value)
        for scale in (1.0, 1e3, 1e6, 1e9):
            if number / scale < 1e11:
                return datetime.fromtimestamp(number / scale, tz=UTC)
    return None


def json_value(value: Any) -> JsonValue:
    """``value`` as plain JSON data (dates as ISO text, bytes as base64, NaN as ``None``)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return json_value(item())
    tolist = getattr(value, "tolist", None)  # numpy arrays
    if callable(tolist):
        return json_value(tolist())
    return str(value)


def as_float(value: Any) -> float | None:
    """A number as ``float``; booleans count as 1.0 / 0.0; anything else is ``None``."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if _is_number(value):
        return float(value)
    return None


def _int(value: Any) -> int:
    if value is None:  # the usual case: a count the record leaves out
        return 0
    return int(value) if _is_number(value) else 0


def _is_number(value: Any) -> bool:
    # Exact ``int`` and ``float`` first (what JSON parses to), without the isinstance chain.
    kind = type(value)
    if kind is float or kind is int:
        return math.isfinite(value)  # (raises for an int too large for a float, as below)
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )
