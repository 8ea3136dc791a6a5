"""Memoising views derived from a trajectory (its table rows, calls, picks) for as long as it lives.

The signals compare a failed trajectory with each of its siblings, and each sibling with the others
in turn: without a memo the same views would be recomputed once per pair. Entries are keyed by the
trajectory object itself (weakly), so a trajectory that is dropped takes its entries with it.
"""

from __future__ import annotations

import ast
import functools
import weakref
from collections.abc import Callable
from typing import TypeVar

from memex_audit.trajectory import Trajectory

R = TypeVar("R")


def per_trajectory(fn: Callable[[Trajectory], R]) -> Callable[[Trajectory], R]:
    """Cache ``fn(trajectory)`` while the trajectory object is alive (trajectories are not mutated).

    Pydantic models are not hashable, so entries are keyed by ``id()`` and hold a weak reference that
    removes the entry when the trajectory is collected (and guards against a reused ``id``).
    """
    cache: dict[int, tuple[weakref.ref[Trajectory], R]] = {}

    @functools.wraps(fn)
    def wrapper(trajectory: Trajectory) -> R:
        key = id(trajectory)
        entry = cache.get(key)
        if entry is not None and entry[0]() is trajectory:
            return entry[1]
        value = fn(trajectory)

        def forget(_ref: weakref.ref[Trajectory], key: int = key) -> None:
            cache.pop(key, None)

        cache[key] = (weakref.ref(trajectory, forget), value)
        return value

    return wrapper


def source_segment(lines: list[str], node: ast.expr) -> str | None:
    """The source text of ``node`` from the code's lines (``ast.get_source_segment`` re-splits the
    whole source on every call, which dominates the cost on long code blocks)."""
    if node.end_lineno is None or node.end_col_offset is None:
        return None
    first, last = node.lineno - 1, node.end_lineno - 1
    if first == last:
        return lines[first].encode()[node.col_offset : node.end_col_offset].decode(errors="replace")
    parts = [lines[first].encode()[node.col_offset :].decode(errors="replace")]
    parts += lines[first + 1 : last]
    parts.append(lines[last].encode()[: node.end_col_offset].decode(errors="replace"))
    return "\n".join(parts)
