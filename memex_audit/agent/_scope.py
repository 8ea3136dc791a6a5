"""The scope summary: what each name in scope is, in a line, never the object itself.

The model's context must stay bounded whatever is in scope (a 100 MB trajectory included), so
each object gets its type, its size (items, steps, characters) and a short preview of scalar
fields; to see more, the model writes code.
"""

from __future__ import annotations

import inspect
import reprlib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from memex_audit.agent._render import render_signature

_LINE = 300
_MAX_NAMES = 60
_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlist = 4
_repr.maxdict = 4
_repr.maxlevel = 2


def type_name(value: Any) -> str:
    """``list[Trajectory]``, ``dict[str, int]``, ``Trajectory``: the type as the model would write it."""
    if isinstance(value, list | tuple | set | frozenset):
        kinds = sorted({type(item).__name__ for item in list(value)[:50]})
        inner = " | ".join(kinds) if kinds else "Any"
        return f"{type(value).__name__}[{inner}]"
    if isinstance(value, dict):
        keys = sorted({type(k).__name__ for k in list(value)[:50]}) or ["Any"]
        values = sorted({type(v).__name__ for v in list(value.values())[:50]}) or ["Any"]
        return f"dict[{' | '.join(keys)}, {' | '.join(values)}]"
    return type(value).__name__


def size_text(value: Any) -> str:
    """How big ``value`` is, in the unit that means something for it."""
    if isinstance(value, str):
        return f"{len(value):,} chars"
    if isinstance(value, bytes):
        return f"{len(value):,} bytes"
    if isinstance(value, dict):
        return f"{len(value):,} keys"
    if isinstance(value, list | tuple | set | frozenset):
        return f"{len(value):,} items"
    if isinstance(value, BaseModel):
        sizes = [
            f"{len(item):,} {name}"
            for name in type(value).model_fields
            if isinstance(item := getattr(value, name, None), list) and item
        ]
        return ", ".join(sizes[:3])
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple):
        return "shape " + " x ".join(f"{n:,}" for n in shape)
    return ""


def _scalar(value: Any) -> str:
    # Never ``repr`` a model or a container whole: a 100 MB trajectory's repr is 100 MB.
    if isinstance(value, BaseModel):
        return f"{type(value).__name__}(...)"
    if isinstance(value, list | tuple | set | frozenset):
        return f"[{len(value)} items]"
    if isinstance(value, dict):
        return f"{{{len(value)} keys}}"
    if isinstance(value, str | bytes | int | float | bool | None):
        return _repr.repr(value)
    return f"<{type(value).__name__}>"


def preview(value: Any, width: int = 200) -> str:
    """A short look at ``value``: scalar fields of a model, the first items of a list."""
    if isinstance(value, BaseModel):
        parts = []
        for name, field in type(value).model_fields.items():
            item = getattr(value, name, None)
            if (
                item is None
                or item == []
                or item == {}
                or (not field.is_required() and item == field.default)
            ):
                continue
            parts.append(f"{name}={_scalar(item)}")
        text = f"{type(value).__name__}({', '.join(parts)})"
    elif isinstance(value, list | tuple) and value:
        first = preview(value[0], width // 2)
        text = f"[{first}, ...]" if len(value) > 1 else f"[{first}]"
    elif isinstance(value, dict):
        items = [f"{_scalar(k)}: {_scalar(v)}" for k, v in list(value.items())[:6]]
        text = "{" + ", ".join(items) + (", ...}" if len(value) > 6 else "}")
    elif isinstance(value, set | frozenset):
        text = "{" + ", ".join(_scalar(v) for v in list(value)[:6]) + (", ...}" if len(value) > 6 else "}")
    elif isinstance(value, type):
        kind = "pydantic model" if issubclass(value, BaseModel) else "class"
        text = f"{kind} {value.__name__}"
    elif callable(value):
        try:
            text = render_signature(value)
        except (TypeError, ValueError):
            text = _repr.repr(value)
    elif hasattr(value, "columns") and hasattr(value, "shape"):
        text = f"columns {_repr.repr(list(value.columns))}"
    else:
        text = _repr.repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def scope_summary(scope: Mapping[str, Any]) -> str:
    """One line per name in scope: ``- name: type · size · preview``; bounded in length."""
    lines = []
    for n, (name, value) in enumerate(scope.items()):
        if n == _MAX_NAMES:
            lines.append(f"- ... and {len(scope) - _MAX_NAMES} more names (see `dir()`)")
            break
        kind = (
            "class"
            if isinstance(value, type)
            else ("function" if inspect.isroutine(value) else type_name(value))
        )
        parts = [kind]
        size = size_text(value)
        if size:
            parts.append(size)
        parts.append(preview(value))
        line = f"- {name}: " + " · ".join(parts)
        lines.append(line if len(line) <= _LINE else line[: _LINE - 3] + "...")
    return "\n".join(lines) if lines else "(nothing: the task is all you have)"
