"""Checking a ``submit()`` value against the run's output type."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from memex_audit.agent._render import format_annotation

_MAX_ERRORS = 20


def output_type_name(output_type: Any) -> str:
    """The output type as the model reads it."""
    return format_annotation(output_type) or "Any"


def validate_submission(
    output_type: Any, value: Any, *, context: Mapping[str, Any] | None = None
) -> tuple[Any, str | None]:
    """The validated value, or ``None`` and the errors (one line each: location, message, input).

    Args:
        output_type: What the value must be.
        value: What ``submit()`` received.
        context: Passed to pydantic as the validation context (what the output type's validators
            check the value against, such as the trajectory an answer quotes).
    """
    if isinstance(value, BaseModel) and (
        context is not None or not (isinstance(output_type, type) and isinstance(value, output_type))
    ):
        # A model of another class (defined by agent code, or rebuilt in another process) is
        # checked by its fields; so is an instance of the output type itself when there is a
        # context: built in the kernel, it was validated without one.
        value = value.model_dump()
    try:
        return _adapter(output_type).validate_python(value, context=context), None
    except ValidationError as exc:
        return None, format_validation_errors(exc)


@functools.lru_cache(maxsize=64)
def _cached_adapter(output_type: Any) -> TypeAdapter[Any]:
    return TypeAdapter(output_type)


def _adapter(output_type: Any) -> TypeAdapter[Any]:
    """The ``TypeAdapter`` of ``output_type``, built once per type (every run of an agent validates
    against the same type)."""
    try:
        return _cached_adapter(output_type)
    except TypeError:  # an unhashable type form
        return TypeAdapter(output_type)


def format_validation_errors(exc: ValidationError) -> str:
    """One ``- location: message (got ...)`` line per error, at most twenty."""
    lines = []
    for error in exc.errors()[:_MAX_ERRORS]:
        location = ".".join(str(part) for part in error.get("loc", ())) or "(value)"
        got = repr(error.get("input"))
        got = got if len(got) <= 80 else got[:77] + "..."
        lines.append(f"- {location}: {error.get('msg')} (got {got})")
    if exc.error_count() > _MAX_ERRORS:
        lines.append(f"- ... and {exc.error_count() - _MAX_ERRORS} more errors")
    return "\n".join(lines)
