"""One memo for every view derived from a trajectory, held for as long as the trajectory lives.

The auditor compares a failed trajectory with each of its siblings and the aggregator scores every
subset of a task's rollouts, so the same views (calls and their results, table rows, keys) are asked
for over and over. Entries are keyed by the trajectory object itself, weakly: pydantic models are not
hashable, so the key is ``id()`` guarded by a weak reference that drops the trajectory's entries when
it is collected (and so rules out a reused ``id``). Views that read only the steps are kept by the
list of steps instead (``per_steps``): copies of a trajectory share it, so an audit reuses what the
audits of its siblings read. Trajectories are not mutated once loaded.
"""

from __future__ import annotations

import ast
import functools
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

R = TypeVar("R")


_MISSING: Any = object()
"""Marks a key a dictionary does not hold (``None`` may be a value)."""


class _WeakMemo:
    """Per-object results of one function, for each configuration it was called with.

    One keyed weak reference per object, with one shared callback: an entry adds few objects for
    the garbage collector to scan (memos of steps hold many entries).
    """

    def __init__(self) -> None:
        self._refs: dict[int, weakref.KeyedRef[int, Any]] = {}
        self._values: dict[int, dict[Hashable, Any]] = {}
        self._callback = self._forget

    def _forget(self, ref: weakref.KeyedRef[int, Any]) -> None:
        if self._refs.get(ref.key) is ref:
            del self._refs[ref.key]
            del self._values[ref.key]

    def get(self, obj: Any, config: Hashable) -> tuple[bool, Any]:
        key = id(obj)
        ref = self._refs.get(key)
        if ref is None or ref() is not obj:
            return False, None
        value = self._values[key].get(config, _MISSING)
        if value is _MISSING:
            return False, None
        return True, value

    def put(self, obj: Any, config: Hashable, value: Any) -> None:
        key = id(obj)
        ref = self._refs.get(key)
        if ref is None or ref() is not obj:
            self._refs[key] = weakref.KeyedRef(obj, self._callback, key)
            self._values[key] = {config: value}
        else:
            self._values[key][config] = value

    def __len__(self) -> int:
        return len(self._refs)


def per_trajectory(fn: Callable[[Any], R]) -> Callable[[Any], R]:
    """Cache ``fn(trajectory)`` while the trajectory object is alive (the one-result case of
    ``_WeakMemo``, with its hit looked up inline: these views are asked for many times per audit)."""
    memo = _WeakMemo()
    refs, values = memo._refs, memo._values

    @functools.wraps(fn)
    def wrapper(trajectory: Any) -> R:
        key = id(trajectory)
        ref = refs.get(key)
        if ref is not None and ref() is trajectory:
            return values[key][None]  # type: ignore[no-any-return]
        result = fn(trajectory)
        memo.put(trajectory, None, result)
        return result

    return wrapper


def per_steps(fn: Callable[[Any], R]) -> Callable[[Any], R]:
    """Cache ``fn(trajectory)`` by the trajectory's list of steps, for views that read nothing else.

    Copies of a trajectory (``without_labels``, ``model_copy``) share one list of steps, so every
    audit of a task reuses the views of its siblings. The most recent ``_STEP_LISTS`` lists are kept,
    each held with its entry (so no other list can take its ``id`` meanwhile). Safe to share between
    threads.
    """
    entries: OrderedDict[int, tuple[list[Any], R]] = OrderedDict()
    lock = threading.Lock()

    @functools.wraps(fn)
    def wrapper(trajectory: Any) -> R:
        steps = trajectory.steps
        key = id(steps)
        with lock:
            entry = entries.get(key)
            if entry is not None and entry[0] is steps:
                entries.move_to_end(key)
                return entry[1]
        result = fn(trajectory)
        with lock:
            entries[key] = (steps, result)
            entries.move_to_end(key)
            while len(entries) > _STEP_LISTS:
                entries.popitem(last=False)
        return result

    return wrapper


_STEP_LISTS = 64
"""Step lists ``per_steps`` keeps views of: more than the rollouts of one task."""


def memo_by_identity(fn: Callable[[Any, Any], R]) -> Callable[..., R]:
    """Cache ``fn(trajectory, config)`` while the trajectory is alive; ``config`` must be hashable."""
    memo = _WeakMemo()

    @functools.wraps(fn)
    def wrapper(trajectory: Any, config: Any = None) -> R:
        hit, value = memo.get(trajectory, config)
        if hit:
            return value  # type: ignore[no-any-return]
        result = fn(trajectory, config)
        memo.put(trajectory, config, result)
        return result

    wrapper.memo = memo  # type: ignore[attr-defined]
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


class TextCache(Generic[R]):
    """Results of ``fn(text)`` for the most recently used texts, bounded by their total length.

    Several readings ask the same question of the same text (every signal reads the same tool
    outputs; every audit of a task reads its siblings' outputs). Texts shorter than ``min_chars``
    are worked out again (cheaper than a lookup); one longer than a quarter of ``max_chars`` is not
    kept (it would push out most of the others). Safe to share between threads.
    """

    def __init__(self, fn: Callable[[str], R], *, max_chars: int, min_chars: int = 0) -> None:
        self.fn = fn
        self.max_chars = max_chars
        self.min_chars = min_chars
        self._chars = 0
        self._entries: OrderedDict[str, R] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, text: str) -> R:
        if len(text) < self.min_chars:
            return self.fn(text)
        with self._lock:
            found = self._entries.get(text, _MISSING)
            if found is not _MISSING:
                self._entries.move_to_end(text)
                return found  # type: ignore[no-any-return]
        value = self.fn(text)
        if len(text) > self.max_chars // 4:
            return value
        with self._lock:
            if text not in self._entries:
                self._entries[text] = value
                self._chars += len(text)
                while self._chars > self.max_chars:
                    old, _ = self._entries.popitem(last=False)
                    self._chars -= len(old)
        return value


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):  # ValueError: a NUL byte in the source
        return None


parsed_code: Callable[[str], ast.Module | None] = TextCache(_parse, max_chars=4 << 20)
"""``code`` parsed (``None`` when it is not valid Python), recent parses kept. Callers must not
modify the tree."""
