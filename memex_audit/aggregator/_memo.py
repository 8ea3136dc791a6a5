"""Memoising per-rollout analyses by object identity.

A scaling curve runs every policy on many subsets of the same rollouts, so the same trajectory
object is keyed and scanned over and over. Trajectories are not hashable (they are mutable
models), so the memo keys on ``id()`` and keeps the object alive alongside the result, which rules
out a reused id while the entry exists.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

R = TypeVar("R")

MEMO_SIZE = 8192


def memo_by_identity(fn: Callable[[Any, Any], R]) -> Callable[..., R]:
    """Memoise ``fn(obj, config)`` on ``(id(obj), config)``; ``config`` must be hashable or None."""
    memo: dict[tuple[int, Any], tuple[Any, R]] = {}

    @wraps(fn)
    def wrapper(obj: Any, config: Any = None) -> R:
        key = (id(obj), config)
        hit = memo.get(key)
        if hit is not None and hit[0] is obj:
            return hit[1]
        result = fn(obj, config)
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        memo[key] = (obj, result)
        return result

    return wrapper
