"""The JSON-safe form of values that cross between the host and a subprocess kernel.

Never pickle: a pydantic model crosses as its JSON plus the import path of its class, and is
re-validated on the other side; a dataclass crosses field by field and is rebuilt with its class;
lists, tuples and dicts are walked; JSON scalars, dates and paths
pass as themselves. Anything else is refused with a message saying what to pass instead.

Objects the child received from the host's scope (and the items of scope lists and dicts) go
back to the host by reference: a tool called with ``rollouts[2]`` gets the host's own object, not
a copy shipped over the channel (so a 100 MB trajectory is never sent twice; changes the agent
made to its copy are not seen by the tool).

The child imports a model's module to re-validate it (the host is trusted). The host never
imports a module on the child's say-so: it only re-validates classes whose module is already
loaded, and otherwise keeps the plain JSON data.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import datetime as dt
import importlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from memex_audit.errors import KernelError

MODEL_TAG = "__memex_model__"
CLASS_TAG = "__memex_class__"
REF_TAG = "__memex_scope__"
DATACLASS_TAG = "__memex_dataclass__"
_TAGS = (MODEL_TAG, CLASS_TAG, REF_TAG, DATACLASS_TAG)


class ScopeRefs:
    """The objects a child received from the host's scope, each with its path (name, index/key)."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[Any, list[str | int]]] = {}

    def register(self, name: str, value: Any) -> None:
        self._add(value, [name])
        if isinstance(value, list | tuple):
            for n, item in enumerate(value):
                self._add(item, [name, n])
        elif isinstance(value, dict):
            for key, item in value.items():
                self._add(item, [name, key])

    def _add(self, value: Any, path: list[str | int]) -> None:
        # Only containers and models: small ints and strings share ids across unrelated values.
        if isinstance(value, BaseModel | list | dict):
            self._by_id.setdefault(id(value), (value, path))

    def path_of(self, value: Any) -> list[str | int] | None:
        entry = self._by_id.get(id(value))
        return entry[1] if entry is not None and entry[0] is value else None


def encode(value: Any, where: str = "value", refs: ScopeRefs | None = None) -> Any:
    """The JSON-safe tree for ``value`` (pydantic models embedded as pre-serialised JSON).

    Args:
        value: What to send.
        where: Names the value in error messages.
        refs: Scope objects to send by reference (the child's side).

    Raises:
        KernelError: ``value`` holds an object that has no JSON-safe form.
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if refs is not None and (path := refs.path_of(value)) is not None:
        return {REF_TAG: path}
    if isinstance(value, BaseModel):
        cls = type(value)
        try:
            data = value.model_dump_json()
        except Exception as exc:  # a field pydantic cannot serialise (an arbitrary type)
            raise KernelError(f"{where}: a {cls.__qualname__} cannot be sent as JSON: {exc}") from exc
        return {MODEL_TAG: f"{cls.__module__}:{cls.__qualname__}", "data": orjson.Fragment(data)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # A dataclass (tools often return them) crosses field by field, rebuilt on the other side.
        kind = type(value)
        fields = {
            f.name: encode(getattr(value, f.name), f"{where}.{f.name}", refs)
            for f in dataclasses.fields(value)
        }
        return {DATACLASS_TAG: f"{kind.__module__}:{kind.__qualname__}", "fields": fields}
    if isinstance(value, type):
        # A class (say, the output type of a sub-agent) crosses as its import path.
        return {CLASS_TAG: f"{value.__module__}:{value.__qualname__}"}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode(item, f"{where}[{n}]", refs) for n, item in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or key in _TAGS:
                raise KernelError(
                    f"{where}: dict key {key!r} cannot cross to the subprocess kernel (use str keys)"
                )
            out[key] = encode(item, f"{where}[{key!r}]", refs)
        return out
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    raise KernelError(
        f"{where}: a {type(value).__module__}.{type(value).__qualname__} cannot cross to the subprocess "
        "kernel; pass pydantic models, JSON data (dicts, lists, str, numbers) or paths"
    )


def decode(
    tree: Any,
    *,
    allow_import: bool,
    problems: list[str] | None = None,
    where: str = "value",
    scope: Mapping[str, Any] | None = None,
) -> Any:
    """Rebuild values from ``encode``'s tree, re-validating models whose class can be found.

    Args:
        tree: What ``orjson.loads`` gave for an encoded value.
        allow_import: Import a model's module when it is not loaded yet (the child does; the host
            does not).
        problems: Collects a line per model kept as plain data (class not found or not valid).
        where: Names the value in those lines.
        scope: The host's scope, which references resolve against (the host's side).
    """
    if isinstance(tree, list):
        return [
            decode(item, allow_import=allow_import, problems=problems, where=f"{where}[{n}]", scope=scope)
            for n, item in enumerate(tree)
        ]
    if not isinstance(tree, dict):
        return tree
    if REF_TAG in tree and scope is not None:
        return _resolve_ref(scope, tree[REF_TAG], where)
    if CLASS_TAG in tree:
        path = str(tree[CLASS_TAG])
        found = resolve_class(path, allow_import=allow_import)
        if found is None and problems is not None:
            problems.append(f"{where}: class {path} is not importable here; left as None")
        return found
    if DATACLASS_TAG in tree:
        return _decode_dataclass(tree, allow_import=allow_import, problems=problems, where=where, scope=scope)
    if MODEL_TAG in tree:
        path = str(tree[MODEL_TAG])
        cls = resolve_model(path, allow_import=allow_import)
        if cls is None:
            if problems is not None:
                problems.append(f"{where}: class {path} is not importable here; kept as a dict")
            return tree.get("data")
        try:
            return cls.model_validate(tree.get("data"))
        except ValidationError as exc:
            if problems is not None:
                problems.append(
                    f"{where}: {path} did not re-validate ({exc.error_count()} errors); kept as a dict"
                )
            return tree.get("data")
    return {
        k: decode(v, allow_import=allow_import, problems=problems, where=f"{where}[{k!r}]", scope=scope)
        for k, v in tree.items()
    }


def _decode_dataclass(
    tree: dict[str, Any],
    *,
    allow_import: bool,
    problems: list[str] | None,
    where: str,
    scope: Mapping[str, Any] | None,
) -> Any:
    raw = tree.get("fields") or {}
    fields = {
        k: decode(v, allow_import=allow_import, problems=problems, where=f"{where}.{k}", scope=scope)
        for k, v in raw.items()
    }
    path = str(tree[DATACLASS_TAG])
    cls = resolve_class(path, allow_import=allow_import)
    if cls is None or not dataclasses.is_dataclass(cls):
        if problems is not None:
            problems.append(f"{where}: dataclass {path} is not importable here; kept as a dict")
        return fields
    init = {f.name for f in dataclasses.fields(cls) if f.init}
    obj = cls(**{k: v for k, v in fields.items() if k in init})
    for name, value in fields.items():
        if name not in init:
            object.__setattr__(obj, name, value)
    return obj


def _resolve_ref(scope: Mapping[str, Any], path: Any, where: str) -> Any:
    try:
        value = scope[path[0]]
        for part in path[1:]:
            value = value[part]
    except (KeyError, IndexError, TypeError) as exc:
        raise KernelError(f"{where}: no scope object at {path!r}") from exc
    return value


def resolve_model(path: str, *, allow_import: bool) -> type[BaseModel] | None:
    """The pydantic class named ``module:qualname``, or ``None`` when it cannot be found."""
    cls = resolve_class(path, allow_import=allow_import)
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return cls
    return None


def resolve_class(path: str, *, allow_import: bool) -> type | None:
    """The class named ``module:qualname``, or ``None`` when it cannot be found."""
    module_name, _, qualname = path.partition(":")
    module = sys.modules.get(module_name)
    if module is None and allow_import and module_name not in ("__main__", "__memex__"):
        try:
            module = importlib.import_module(module_name)
        except Exception:
            return None
    if module is None:
        return None
    obj: Any = module
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj if isinstance(obj, type) else None


_BUILTIN_TYPES = ("str", "int", "float", "bool", "dict", "list", "object")


@dataclass(frozen=True)
class ForeignType:
    """An output type the host cannot import (say, a class the agent defined in its kernel).

    The host cannot validate against it, so a sub-agent with this output type is shown its JSON
    Schema and its submission is checked where the class lives, in the kernel that spawned it.

    Attributes:
        name: The type's name.
        json_schema: Its JSON Schema, when pydantic could produce one.
    """

    name: str
    json_schema: dict[str, Any] | None = None


def encode_type(tp: Any) -> dict[str, Any]:
    """A reference to an output type: a builtin by name, else its name, import path and JSON Schema.

    The schema lets a host that cannot import the class still tell a sub-agent what to submit.
    """
    if isinstance(tp, type) and tp.__module__ == "builtins" and tp.__name__ in _BUILTIN_TYPES:
        return {"builtin": tp.__name__}
    ref: dict[str, Any] = {"repr": repr(tp), "name": getattr(tp, "__name__", repr(tp))}
    if isinstance(tp, type):
        ref["class"] = f"{tp.__module__}:{tp.__qualname__}"
    # Not every type has a JSON Schema; the name still tells the sub-agent something.
    with contextlib.suppress(Exception):
        ref["schema"] = TypeAdapter(tp).json_schema()
    return ref


def decode_type(ref: dict[str, Any], *, allow_import: bool) -> Any | None:
    """The type ``encode_type`` referred to; a ``ForeignType`` when it cannot be found here."""
    if "builtin" in ref and ref["builtin"] in _BUILTIN_TYPES:
        return getattr(builtins, ref["builtin"])
    if "class" in ref:
        found = resolve_class(str(ref["class"]), allow_import=allow_import)
        if found is not None:
            return found
    if "name" in ref:
        schema = ref.get("schema")
        return ForeignType(str(ref["name"]), schema if isinstance(schema, dict) else None)
    return None
