"""The self-contained source of a function an agent defined in its kernel, for ``register_skill``.

A function defined in a code block has no file: ``inspect.getsource`` cannot find it. Its code
object names its cell (``<cell 3>``) and first line, so its ``def`` is cut from the block the run
recorded. The module-level names it reads that are modules, or functions and classes importable
from a module, become import lines above it; any other name from the kernel (a variable, another
function the agent wrote) makes the skill not self-contained, and registration says so.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import re
import textwrap
import types
from collections.abc import Callable, Sequence
from typing import Any

_CELL = re.compile(r"^<cell (\d+)>$")


def function_source(fn: Callable[..., Any], blocks: Sequence[str]) -> str:
    """The ``def`` of ``fn`` (decorators included), dedented.

    Args:
        fn: A function defined with ``def``.
        blocks: The code blocks the kernel ran, in order (block ``n`` is ``<cell n>``).

    Raises:
        ValueError: ``fn`` is not a ``def`` function, or its source cannot be found.
    """
    if not inspect.isfunction(fn):
        raise ValueError(f"register_skill takes a function defined with def, not {type(fn).__name__}")
    if fn.__name__ == "<lambda>":
        raise ValueError("register_skill takes a function defined with def, not a lambda")
    code = fn.__code__
    match = _CELL.match(code.co_filename)
    if match is None:
        try:
            return textwrap.dedent(inspect.getsource(fn))
        except (OSError, TypeError) as exc:
            raise ValueError(f"the source of {fn.__name__} cannot be found: {exc}") from None
    number = int(match.group(1))
    if not 0 < number <= len(blocks):
        raise ValueError(f"the source of {fn.__name__} cannot be found (block {number} is not recorded)")
    block = blocks[number - 1]
    for node in ast.walk(ast.parse(block)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == code.co_name:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if first <= code.co_firstlineno <= (node.end_lineno or node.lineno):
                lines = block.splitlines()[first - 1 : node.end_lineno]
                return textwrap.dedent("\n".join(lines)) + "\n"
    raise ValueError(f"the def of {fn.__name__} was not found in block {number}")


def free_globals(source: str, name: str) -> list[str]:
    """Names the function in ``source`` reads but binds nowhere (globals or builtins)."""
    tree = ast.parse(source)
    loaded: set[str] = set()
    bound: set[str] = {name}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    # Names bound anywhere in the function count as local: a rough but safe approximation.
    return sorted(loaded - bound)


def import_line(name: str, value: Any) -> str | None:
    """An import that binds ``name`` to ``value`` in a fresh module, or ``None`` if there is none."""
    if isinstance(value, types.ModuleType):
        full = value.__name__
        if full == name:
            return f"import {full}"
        if "." in full and full.rsplit(".", 1)[1] == name:
            parent, _, child = full.rpartition(".")
            return f"from {parent} import {child}"
        return f"import {full} as {name}"
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or module in ("__memex__", "__main__"):
        return None
    if "." in qualname or module.startswith("memex_skill_"):
        return None
    try:
        found = getattr(importlib.import_module(module), qualname, None)
    except Exception:
        return None
    if found is not value:
        return None
    return f"from {module} import {qualname}" + (f" as {name}" if name != qualname else "")


def self_contained_source(fn: Callable[..., Any], blocks: Sequence[str]) -> str:
    """``fn``'s source with the imports it needs above it.

    Raises:
        ValueError: The source cannot be found, or ``fn`` reads a kernel variable or a function
            that no import can provide (the message names them).
    """
    source = function_source(fn, blocks)
    imports: list[str] = []
    missing: list[str] = []
    namespace = fn.__globals__
    for name in free_globals(source, fn.__name__):
        if name not in namespace:
            continue  # a builtin, or a name that is undefined anyway (the test call shows it)
        if hasattr(builtins, name) and namespace[name] is getattr(builtins, name):
            continue
        line = import_line(name, namespace[name])
        if line is None:
            missing.append(f"{name} ({type(namespace[name]).__name__})")
        else:
            imports.append(line)
    if missing:
        raise ValueError(
            f"{fn.__name__} reads kernel names no import provides: {', '.join(missing)}; define or "
            "import them inside the function (a skill must stand alone)"
        )
    header = "\n".join(sorted(set(imports)))
    return f"{header}\n\n\n{source}" if header else source
