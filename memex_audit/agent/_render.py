"""Python stubs the model reads: tool signatures with types and docstrings, and model classes.

The model learns the API as Python, the language it writes: ``def search(...) -> list[int]:``
with the real parameter and return types, and ``class Trajectory(BaseModel):`` with its fields
and public methods, so it can use objects in scope without printing them first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import types
import typing
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

_MAX_DOC = 1500
_MAX_CLASSES = 20


def format_annotation(tp: Any) -> str:
    """A type as it is written in source: ``list[Trajectory]``, ``int | None``, ``Literal['a']``."""
    if tp is inspect.Parameter.empty:
        return ""
    if tp is None or tp is type(None):
        return "None"
    if isinstance(tp, str):
        return tp
    if isinstance(tp, typing.ForwardRef):
        return tp.__forward_arg__
    if tp is Any:
        return "Any"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return format_annotation(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(format_annotation(a) for a in args)
    if origin is typing.Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if origin is not None:
        name = getattr(origin, "__name__", None) or str(origin).replace("typing.", "")
        if not args:
            return name
        inner = ", ".join("..." if a is Ellipsis else format_annotation(a) for a in args)
        return f"{name}[{inner}]"
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


_HINTS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def type_hints(obj: Any) -> dict[str, Any]:
    """The resolved annotations of ``obj`` (kept per function or class while it lives: every run of
    an agent renders the same tools and types)."""
    try:
        cached = _HINTS.get(obj)
    except TypeError:  # not weakly referenceable: worked out every time
        return _type_hints(obj)
    if cached is None:
        cached = _type_hints(obj)
        with contextlib.suppress(TypeError):
            _HINTS[obj] = cached
    return dict(cached)


def _type_hints(obj: Any) -> dict[str, Any]:
    """The resolved annotations of ``obj``; those that cannot be resolved are left out.

    ``typing.get_type_hints`` gives up on all of them when one name was imported only for type
    checking; resolving them one by one keeps the others (stubs then show the unresolved ones
    as written).
    """
    try:
        return typing.get_type_hints(obj, include_extras=False)
    except Exception:
        pass
    namespace = getattr(obj, "__globals__", {})
    hints: dict[str, Any] = {}
    for name, annotation in getattr(obj, "__annotations__", {}).items():
        if not isinstance(annotation, str):
            hints[name] = annotation
            continue
        try:
            hints[name] = eval(annotation, dict(namespace))
        except Exception:
            continue
    return hints


def render_signature(fn: Callable[..., Any], *, name: str | None = None, skip_self: bool = False) -> str:
    """``def name(a: int, *, b: str = 'x') -> list[int]`` for ``fn`` (no trailing colon)."""
    signature = inspect.signature(fn)
    hints = type_hints(fn)
    parts: list[str] = []
    saw_star = False
    previous: inspect._ParameterKind | None = None
    for param in signature.parameters.values():
        if skip_self and not parts and param.name in ("self", "cls"):
            parts.append(param.name)
            previous = param.kind
            continue
        if (
            previous is inspect.Parameter.POSITIONAL_ONLY
            and param.kind is not inspect.Parameter.POSITIONAL_ONLY
        ):
            parts.append("/")
        if param.kind is inspect.Parameter.KEYWORD_ONLY and not saw_star:
            parts.append("*")
            saw_star = True
        annotation = format_annotation(hints.get(param.name, param.annotation))
        text = param.name
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            text, saw_star = "*" + text, True
        elif param.kind is inspect.Parameter.VAR_KEYWORD:
            text = "**" + text
        if annotation:
            text += f": {annotation}"
        if param.default is not inspect.Parameter.empty:
            default = repr(param.default)
            default = default if len(default) <= 40 else default[:37] + "..."
            text += f" = {default}" if annotation else f"={default}"
        parts.append(text)
        previous = param.kind
    if previous is inspect.Parameter.POSITIONAL_ONLY:
        parts.append("/")
    returns = format_annotation(hints.get("return", signature.return_annotation))
    prefix = "async def" if inspect.iscoroutinefunction(fn) else "def"
    arrow = f" -> {returns}" if returns else ""
    return f"{prefix} {name or fn.__name__}({', '.join(parts)}){arrow}"


def _docstring(obj: Any, indent: str, *, first_paragraph: bool = False) -> str:
    if isinstance(obj, type):
        # A class's own docstring only: inheriting BaseModel's would describe pydantic, not the class.
        own = obj.__dict__.get("__doc__")
        doc = inspect.cleandoc(own) if isinstance(own, str) else ""
    else:
        doc = inspect.getdoc(obj) or ""
    if not doc:
        return ""
    if first_paragraph:
        doc = doc.split("\n\n", 1)[0]
    if len(doc) > _MAX_DOC:
        doc = doc[: _MAX_DOC - 3] + "..."
    doc = doc.replace('"""', '\\"\\"\\"')
    lines = doc.splitlines()
    body = "\n".join((indent + line) if line else "" for line in lines)
    return f'{indent}"""{body.lstrip()}\n{indent}"""' if len(lines) > 1 else f'{indent}"""{lines[0]}"""'


@functools.lru_cache(maxsize=512)
def render_function(fn: Callable[..., Any]) -> str:
    """A tool as a stub: its signature and its docstring (kept per function: every run of an agent
    renders the same tools)."""
    doc = _docstring(fn, "    ")
    return f"{render_signature(fn)}:\n{doc or '    ...'}"


def models_in(tp: Any) -> list[type[BaseModel]]:
    """The pydantic classes a type mentions (``list[Trajectory] | None`` gives ``[Trajectory]``)."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(tp):
        found.extend(models_in(arg))
    return found


def documented_in(tp: Any) -> list[type]:
    """The classes a type mentions that get a stub: pydantic models and dataclasses."""
    if isinstance(tp, type) and (issubclass(tp, BaseModel) or dataclasses.is_dataclass(tp)):
        return [tp]
    found: list[type] = []
    for arg in typing.get_args(tp):
        found.extend(documented_in(arg))
    return found


def referenced_models(roots: Iterable[Any], limit: int = _MAX_CLASSES) -> list[type]:
    """The models and dataclasses reachable from ``roots`` (types) through field types, breadth first."""
    key = tuple(roots)
    try:
        return list(_referenced_models_cached(key, limit))
    except TypeError:  # an unhashable root
        return _referenced_models(key, limit)


def _referenced_models(roots: Iterable[Any], limit: int) -> list[type]:
    queue: list[type] = []
    for root in roots:
        queue.extend(documented_in(root))
    seen: list[type] = []
    names: set[str] = set()
    while queue and len(seen) < limit:
        cls = queue.pop(0)
        # Two classes of one name (a generated subclass of a tool's return type) would read as one
        # class defined twice; the first, the output type, is the one the model must submit.
        if cls is BaseModel or cls.__name__ in names:
            continue
        seen.append(cls)
        names.add(cls.__name__)
        for annotation in _field_types(cls).values():
            queue.extend(documented_in(annotation))
    return seen


@functools.lru_cache(maxsize=256)
def _referenced_models_cached(roots: tuple[Any, ...], limit: int) -> tuple[type, ...]:
    return tuple(_referenced_models(roots, limit))


def _field_types(cls: type) -> dict[str, Any]:
    if issubclass(cls, BaseModel):
        return {name: field.annotation for name, field in cls.model_fields.items()}
    hints = type_hints(cls)
    return {f.name: hints.get(f.name, f.type) for f in dataclasses.fields(cls)}  # type: ignore[arg-type]


@functools.lru_cache(maxsize=512)
def render_model(cls: type) -> str:
    """A model or dataclass as a class stub: first docstring paragraph, fields, public methods
    (kept per class: every run of an agent renders the same types)."""
    is_model = issubclass(cls, BaseModel)
    lines = [f"class {cls.__name__}(BaseModel):" if is_model else f"@dataclass\nclass {cls.__name__}:"]
    doc = _docstring(cls, "    ", first_paragraph=True)
    if doc and not (not is_model and doc.strip().startswith(f'"""{cls.__name__}(')):
        lines.append(doc)  # (a dataclass without a docstring gets a generated signature: skipped)
    if issubclass(cls, BaseModel):
        for name, field in cls.model_fields.items():
            line = f"    {name}: {format_annotation(field.annotation)}"
            if not field.is_required():
                line += f" = {_default_text(field)}"
            if field.description:
                line += f"  # {field.description.splitlines()[0][:160]}"
            lines.append(line)
    else:
        types = _field_types(cls)
        for item in dataclasses.fields(cls):  # type: ignore[arg-type]
            line = f"    {item.name}: {format_annotation(types[item.name])}"
            if item.default is not dataclasses.MISSING:
                text = repr(item.default)
                line += f" = {text if len(text) <= 40 else '...'}"
            elif item.default_factory is not dataclasses.MISSING:
                line += " = ..."
            lines.append(line)
    for name, member in _own_members(cls):
        if isinstance(member, property):
            returns = format_annotation(type_hints(member.fget).get("return", "")) if member.fget else ""
            summary = (inspect.getdoc(member) or "").split("\n", 1)[0]
            lines.append(
                f"    @property\n    def {name}(self) -> {returns or 'Any'}: ...{'  # ' + summary if summary else ''}"
            )
        elif callable(member):
            summary = (inspect.getdoc(member) or "").split("\n", 1)[0]
            try:
                signature = render_signature(member, skip_self=True)
            except (TypeError, ValueError):
                continue
            lines.append(f"    {signature}: ...{'  # ' + summary if summary else ''}")
    return "\n".join(lines)


def _default_text(field: FieldInfo) -> str:
    if field.default_factory is not None:
        if field.default_factory in (list, dict, set):
            return repr(field.default_factory())
        return "..."
    text = repr(field.default)
    return text if len(text) <= 40 else "..."


def _own_members(cls: type) -> list[tuple[str, Any]]:
    fields = set(_field_types(cls))
    members: list[tuple[str, Any]] = []
    for klass in cls.__mro__:
        if klass in (BaseModel, object) or (issubclass(cls, BaseModel) and not issubclass(klass, BaseModel)):
            continue
        for name, member in vars(klass).items():
            if name.startswith("_") or name in fields or any(name == n for n, _ in members):
                continue
            if isinstance(member, property) or inspect.isfunction(member):
                members.append((name, member))
    return members
