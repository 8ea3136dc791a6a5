"""Offline signals for tool agents graded on gold actions (τ-bench / τ²-bench style).

The ground truth is the list of actions the agent should have taken, ``{"name", "arguments"}`` each.
Comparing it with the calls the trajectory made shows a missing action, the right action with wrong
arguments (or on the wrong entity), an action that should not have happened, or a transfer to a
human when none was due.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import JsonValue

from memex_audit.auditor._signal import STRENGTH, Signal, tail_quote
from memex_audit.trajectory import Step, ToolCall, Trajectory

_READ_ONLY = re.compile(
    r"^(get|list|search|find|calculate|think|check|lookup|read|query|fetch)", re.IGNORECASE
)
_TRANSFER = re.compile(r"transfer|escalat|handoff|hand_off", re.IGNORECASE)
_ENTITY_KEY = re.compile(r"(^|_)(id|user|email|name|number)s?$", re.IGNORECASE)


def _gold_actions(ground_truth: JsonValue) -> list[dict[str, Any]] | None:
    if not isinstance(ground_truth, list) or not ground_truth:
        return None
    actions = [a for a in ground_truth if isinstance(a, dict) and isinstance(a.get("name"), str)]
    return actions if len(actions) == len(ground_truth) else None


def is_state_changing(name: str) -> bool:
    """Whether a tool name looks like it changes state (not a read, search or calculation)."""
    return not _READ_ONLY.match(name)


def _quote_for(step: Step, value: object) -> str | None:
    text = value if isinstance(value, str) else str(value)
    return text if text and step.contains(text) else None


def _make(kind: str, step: Step, quote: str, detail: str) -> Signal:
    return Signal(
        kind=kind, step=step.index, quote=quote, agent=step.agent, detail=detail, strength=STRENGTH[kind]
    )  # type: ignore[arg-type]


def detect_action_mismatch(trajectory: Trajectory, ground_truth: JsonValue) -> list[Signal]:
    """Compare the trajectory's tool calls with gold actions (when the ground truth is a list of them)."""
    gold = _gold_actions(ground_truth)
    if gold is None or not trajectory.steps:
        return []
    calls: list[tuple[Step, ToolCall]] = [
        (step, call) for step in trajectory.steps for call in step.tool_calls
    ]
    signals: list[Signal] = []
    gold_names = {a["name"] for a in gold}
    for action in gold:
        if not is_state_changing(action["name"]):
            continue
        same = [(s, c) for s, c in calls if c.name == action["name"]]
        wanted: dict[str, Any] = action.get("arguments") or {}
        if not same:
            last = trajectory.steps[-1]
            tail = tail_quote(last)
            if tail:
                signals.append(
                    _make(
                        "missing_action", last, tail, f"the required action {action['name']} was never taken"
                    )
                )
            continue
        if any(all(c.arguments.get(k) == v for k, v in wanted.items()) for _, c in same):
            continue
        step, call = same[0]
        wrong = [k for k, v in wanted.items() if call.arguments.get(k) != v]
        key = wrong[0]
        arg_quote = _quote_for(step, call.arguments.get(key)) or _quote_for(step, call.name)
        if arg_quote is None:
            continue
        kind = "wrong_entity" if _ENTITY_KEY.search(key) else "wrong_arguments"
        signals.append(
            _make(
                kind,
                step,
                arg_quote,
                f"{call.name} was called with {key}={call.arguments.get(key)!r}, expected {wanted[key]!r}",
            )
        )
    for step, call in calls:
        if call.name in gold_names or not is_state_changing(call.name):
            continue
        quote = _quote_for(step, call.name)
        if quote is None:
            continue
        if _TRANSFER.search(call.name):
            signals.append(
                _make(
                    "premature_transfer", step, quote, f"{call.name}: handed off though no transfer was due"
                )
            )
        else:
            signals.append(
                _make(
                    "unexpected_action",
                    step,
                    quote,
                    f"{call.name} changed state but is not among the gold actions",
                )
            )
        break
    return signals
