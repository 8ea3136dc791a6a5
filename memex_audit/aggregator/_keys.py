"""Answer keys: what two rollouts must share to count as giving the same answer.

A question-answering rollout's key is its final answer, read by ``parse_answer``. An environment
task (τ-bench / τ²-bench customer service) has no answer string: what the grader checks is the
state the agent left behind, so the key is the normalised multiset of the state-changing tool calls
that succeeded. Read-only tools are recognised by name (``get_``, ``list_``, ``search_``, ``find_``,
``calculate``, ``think``) or by configuration.

``transfer_to_human_agents`` counts as read-only by default: it changes no database row, and the
τ² airline reward (DB state and communicated information) does not look at it. Set
``KeyConfig.state_changing`` to count it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from memex_audit.reading import (
    DEFAULT_READ_ONLY_PATTERNS,
    AnswerConfig,
    AnswerValue,
    answer_text,
    call_results,
    failed_calls,
    is_error_text,
    is_read_only,
    memo_by_identity,
    parse_answer,
    values_match,
)
from memex_audit.trajectory import ToolCall, Trajectory

DEFAULT_IGNORED_ARGUMENTS: tuple[str, ...] = (
    "summary",
    "flights.*.price",
    "flights.*.origin",
    "flights.*.destination",
)
"""Argument paths left out of action keys: free text, and flight fields the airline tools ignore
(only ``flight_number`` and ``date`` select a flight) but some agents pass anyway."""

TAU_HARNESSES = frozenset({"tau2", "tau_bench", "tau-bench", "tau2_bench"})


class KeyConfig(BaseModel):
    """How rollouts are keyed.

    Attributes:
        mode: ``answer`` (final answers), ``actions`` (state-changing tool calls) or ``auto``
            (actions for τ-bench harnesses and for rollouts without a final answer).
        answer: How answers are compared.
        read_only_patterns: Regular expressions for read-only tool names.
        read_only: Tool names that are read-only whatever their name.
        state_changing: Tool names that change state whatever the patterns say.
        ignored_arguments: Dotted argument paths (``*`` for any list item or key) left out of keys.
        include_failed_calls: Count calls whose result was an error (they usually changed nothing).
        multiset: Count a repeated identical call as many times as it was made.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["auto", "answer", "actions"] = "auto"
    answer: AnswerConfig = Field(default_factory=AnswerConfig)
    read_only_patterns: tuple[str, ...] = DEFAULT_READ_ONLY_PATTERNS
    read_only: frozenset[str] = frozenset()
    state_changing: frozenset[str] = frozenset()
    ignored_arguments: tuple[str, ...] = DEFAULT_IGNORED_ARGUMENTS
    include_failed_calls: bool = False
    multiset: bool = True

    def is_read_only(self, tool_name: str) -> bool:
        """Whether a tool leaves the environment's state unchanged."""
        return is_read_only(tool_name, self.read_only_patterns, self.read_only, self.state_changing)


class ActionCall(BaseModel):
    """A state-changing tool call as it enters a key.

    Attributes:
        name: The tool.
        arguments: The arguments, normalised (strings case-folded and trimmed, integral floats as
            ints, ignored paths removed).
        step: The step that made the call (not part of the key).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    arguments: dict[str, JsonValue] = Field(default_factory=dict)
    step: int | None = None

    def signature(self) -> str:
        """The call as compact sorted JSON: what equality of keys compares."""
        return orjson.dumps(
            {"name": self.name, "arguments": self.arguments}, option=orjson.OPT_SORT_KEYS
        ).decode()


class AnswerKey(BaseModel):
    """What a rollout answered, in a comparable form.

    Attributes:
        kind: ``answer`` (a final answer), ``actions`` (state-changing calls) or ``none`` (nothing).
        label: A readable, canonical label; rollouts with equal labels gave the same answer.
        raw: The answer as the rollout wrote it (for ``answer`` keys).
        value: The parsed answer (for ``answer`` keys).
        actions: The state-changing calls, sorted by signature (for ``actions`` keys).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["answer", "actions", "none"]
    label: str
    raw: str | None = None
    value: AnswerValue | None = None
    actions: tuple[ActionCall, ...] = ()

    @property
    def is_none(self) -> bool:
        """True when the rollout gave no answer at all."""
        return self.kind == "none"


NO_ANSWER = AnswerKey(kind="none", label="(no answer)")


def normalize_arguments(arguments: dict[str, JsonValue], ignored: Sequence[str] = ()) -> dict[str, JsonValue]:
    """Arguments in canonical form, with the ``ignored`` dotted paths removed."""
    patterns = [tuple(path.split(".")) for path in ignored]
    result = _normalize_json(arguments, (), patterns)
    return result if isinstance(result, dict) else {}


def action_key(trajectory: Trajectory, config: KeyConfig | None = None) -> AnswerKey:
    """The key of an environment rollout: its successful state-changing calls, as a sorted multiset."""
    cfg = config or KeyConfig()
    failed = failed_calls(trajectory)
    calls: list[ActionCall] = []
    for step_index, pos, call in _calls(trajectory):
        if cfg.is_read_only(call.name):
            continue
        if not cfg.include_failed_calls and (step_index, pos) in failed:
            continue
        calls.append(
            ActionCall(
                name=call.name,
                arguments=normalize_arguments(call.arguments, cfg.ignored_arguments),
                step=step_index,
            )
        )
    calls.sort(key=lambda c: (c.name, c.signature()))
    if not cfg.multiset:
        unique: dict[str, ActionCall] = {}
        for c in calls:
            unique.setdefault(c.signature(), c)
        calls = list(unique.values())
    label = "; ".join(c.signature() for c in calls) if calls else "(no state changes)"
    return AnswerKey(kind="actions", label=label, actions=tuple(calls))


def answer_key(trajectory: Trajectory, config: KeyConfig | None = None) -> AnswerKey:
    """The key of a question-answering rollout: its final (or submitted) answer, parsed."""
    cfg = config or KeyConfig()
    raw = answer_text(trajectory)
    if raw is None:
        return NO_ANSWER
    value = parse_answer(raw, cfg.answer)
    if value.kind == "empty":
        return NO_ANSWER
    return AnswerKey(kind="answer", label=value.text, raw=raw, value=value)


@memo_by_identity
def key_of(trajectory: Trajectory, config: KeyConfig | None = None) -> AnswerKey:
    """The key of a rollout under ``config.mode`` (see ``KeyConfig``)."""
    cfg = config or KeyConfig()
    if cfg.mode == "actions":
        return action_key(trajectory, cfg)
    if cfg.mode == "answer":
        return answer_key(trajectory, cfg)
    if (trajectory.harness or "").lower() in TAU_HARNESSES:
        return action_key(trajectory, cfg)
    key = answer_key(trajectory, cfg)
    if key.is_none and any(True for _ in trajectory.tool_calls()):
        return action_key(trajectory, cfg)
    return key


def keys_match(a: AnswerKey, b: AnswerKey, config: KeyConfig | None = None) -> bool:
    """Whether two keys are the same answer (no answer matches nothing)."""
    cfg = config or KeyConfig()
    if a.kind != b.kind or a.is_none:
        return False
    if a.kind == "actions":
        return a.label == b.label
    if a.value is None or b.value is None:
        return a.label == b.label
    return a.label == b.label or values_match(a.value, b.value, cfg.answer)


def cluster_keys(keys: Sequence[AnswerKey], config: KeyConfig | None = None) -> list[list[int]]:
    """Group positions of ``keys`` that give the same answer, in order of first appearance.

    A key joins the first cluster whose first member it matches (tolerances make matching
    non-transitive, so the first member anchors the cluster). Rollouts without an answer form no
    cluster.
    """
    cfg = config or KeyConfig()
    clusters: list[list[int]] = []
    for i, key in enumerate(keys):
        if key.is_none:
            continue
        for cluster in clusters:
            if keys_match(keys[cluster[0]], key, cfg):
                cluster.append(i)
                break
        else:
            clusters.append([i])
    return clusters


def _calls(trajectory: Trajectory) -> list[tuple[int, int, ToolCall]]:
    return [(step.index, pos, call) for step in trajectory.steps for pos, call in enumerate(step.tool_calls)]


def _normalize_json(value: JsonValue, path: tuple[str, ...], ignored: list[tuple[str, ...]]) -> JsonValue:
    if isinstance(value, dict):
        out: dict[str, JsonValue] = {}
        for k in sorted(value):
            child = (*path, k)
            if any(_path_matches(child, pattern) for pattern in ignored):
                continue
            out[k] = _normalize_json(value[k], child, ignored)
        return out
    if isinstance(value, list):
        return [_normalize_json(item, (*path, "*"), ignored) for item in value]
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _path_matches(path: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    return len(path) == len(pattern) and all(p == "*" or p == q for p, q in zip(pattern, path, strict=True))


final_answer_of = answer_text
"""The rollout's answer as text (``memex_audit.reading.answer_text``)."""

__all__ = [
    "DEFAULT_IGNORED_ARGUMENTS",
    "DEFAULT_READ_ONLY_PATTERNS",
    "ActionCall",
    "AnswerKey",
    "KeyConfig",
    "action_key",
    "answer_key",
    "call_results",
    "cluster_keys",
    "failed_calls",
    "final_answer_of",
    "is_error_text",
    "key_of",
    "keys_match",
    "normalize_arguments",
]
