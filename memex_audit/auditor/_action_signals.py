"""Offline signals for tool agents graded on gold actions (τ-bench / τ²-bench style).

The ground truth is the list of actions the agent should have taken, ``{"name", "arguments"}`` each.
Comparing it with the calls the trajectory made (``reading.gold_action_diff``) shows a missing
action, the right action with wrong arguments (or on the wrong entity), an action that should not
have happened, or a transfer to a human while gold writes were still due. Without gold, the domain
pack's policy rules (``reading.policy_findings``) show state changes the policy forbids, and every
write is checked for the user's explicit agreement before it.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import JsonValue

from memex_audit.auditor._signal import STRENGTH, Signal, tail_quote
from memex_audit.reading import gold_action_diff, is_handoff, policy_findings, state_changes
from memex_audit.trajectory import Step, Trajectory

_TRANSFER = re.compile(r"transfer|escalat|handoff|hand_off", re.IGNORECASE)
_ENTITY_KEY = re.compile(
    r"^(user|customer|account|reservation|booking|order|ticket|member|client|line|subscriber)(_?id)?$|^email$",
    re.IGNORECASE,
)
"""Argument keys that select the record a call acts on (a payment method or item id does not)."""


def _gold_actions(ground_truth: JsonValue) -> list[dict[str, Any]] | None:
    if not isinstance(ground_truth, list) or not ground_truth:
        return None
    actions = [a for a in ground_truth if isinstance(a, dict) and isinstance(a.get("name"), str)]
    return actions if len(actions) == len(ground_truth) else None


def _quote_for(step: Step, value: object) -> str | None:
    text = value if isinstance(value, str) else str(value)
    return text if text and step.contains(text) else None


def _make(kind: str, step: Step, quote: str, detail: str) -> Signal:
    return Signal(
        kind=kind, step=step.index, quote=quote, agent=step.agent, detail=detail, strength=STRENGTH[kind]
    )


def detect_action_mismatch(trajectory: Trajectory, ground_truth: JsonValue) -> list[Signal]:
    """Compare the trajectory's state changes with the gold actions (when the ground truth lists them).

    Read through ``reading.gold_action_diff``: a gold write never made (``missing_action``), made
    with other arguments (``wrong_arguments``, or ``wrong_entity`` when the differing argument
    selects the record acted on: a user, reservation, order or account id; a payment method id is
    an argument, not the entity), and a successful write no gold action asks for
    (``unexpected_action``, or ``premature_transfer`` for a hand-off). Gold read-only actions are
    ignored: they are not graded by the state left behind.
    """
    gold = _gold_actions(ground_truth)
    if gold is None or not trajectory.steps:
        return []
    diff = gold_action_diff(trajectory, gold)  # type: ignore[arg-type]
    if diff is None:
        return []
    by_index = {step.index: step for step in trajectory.steps}
    signals: list[Signal] = []
    for index in diff.missing:
        last = trajectory.steps[-1]
        tail = tail_quote(last)
        if tail:
            signals.append(
                _make(
                    "missing_action", last, tail, f"the required action {gold[index]['name']} was never taken"
                )
            )
    for mismatch in diff.wrong_arguments:
        step = by_index[mismatch.step]
        key = next(
            (k for k in mismatch.keys if _ENTITY_KEY.search(k)), mismatch.keys[0] if mismatch.keys else None
        )
        if key is None:
            continue
        made = mismatch.made.get(key)
        quote = _quote_for(step, made) if isinstance(made, str | int | float) else None
        quote = quote or _quote_for(step, mismatch.name)
        if quote is None:
            continue
        kind = "wrong_entity" if _ENTITY_KEY.search(key) else "wrong_arguments"
        signals.append(
            _make(
                kind,
                step,
                quote,
                f"{mismatch.name} was called with {key}={made!r}, expected {mismatch.expected.get(key)!r}"
                + (
                    f" (also differs: {', '.join(k for k in mismatch.keys if k != key)})"
                    if len(mismatch.keys) > 1
                    else ""
                ),
            )
        )
    if not any(_TRANSFER.search(a["name"]) for a in gold):
        handoff = next(
            ((step, call) for step in trajectory.steps for call in step.tool_calls if is_handoff(call.name)),
            None,
        )
        if handoff is not None and (diff.missing or diff.wrong_arguments):
            step, call = handoff
            quote = _quote_for(step, call.name)
            if quote is not None:
                signals.append(
                    _make(
                        "premature_transfer",
                        step,
                        quote,
                        f"{call.name}: handed off while gold actions were still to be made",
                    )
                )
    for change in diff.extra[:1]:
        step = by_index[change.step]
        quote = _quote_for(step, change.name)
        if quote is None:
            continue
        if _TRANSFER.search(change.name):
            signals.append(
                _make(
                    "premature_transfer", step, quote, f"{change.name}: handed off though no transfer was due"
                )
            )
        else:
            signals.append(
                _make(
                    "unexpected_action",
                    step,
                    quote,
                    f"{change.name} changed state but matches no gold action",
                )
            )
    return signals


def detect_policy_breaches(trajectory: Trajectory) -> list[Signal]:
    """State changes the domain policy forbids under conditions the rollout's own outputs showed.

    From the trajectory's domain pack (``reading.policy_findings``): ``policy_violation`` (e.g. a
    cancellation the refund rules do not allow, a basic-economy flight changed) and
    ``computed_mismatch`` (an amount in the call that the shown prices and allowances contradict).
    A pack that claims nothing, or rules whose conditions were never looked up, give no signal.
    """
    by_index = {step.index: step for step in trajectory.steps}
    signals: list[Signal] = []
    for finding in policy_findings(trajectory):
        step = by_index.get(finding.step)
        if step is None or not step.contains(finding.quote):
            continue
        signals.append(_make(finding.kind, step, finding.quote, f"{finding.tool}: {finding.detail}"))
    return signals


def detect_unconfirmed_writes(trajectory: Trajectory) -> list[Signal]:
    """State changes made without the user agreeing in the turn before (``unconfirmed_write``).

    Policies of customer-service domains ask for an explicit yes before any write; a write after a
    user turn that gives information but does not agree is a breach of that rule. One signal, at
    the first such write.
    """
    for change in state_changes(trajectory):
        if change.failed or change.confirmed:
            continue
        step = trajectory.steps[change.step]
        quote = _quote_for(step, change.name)
        if quote is None:
            continue
        where = (
            f"the user's last turn (step {change.confirm_step})"
            if change.confirm_step is not None
            else "no user turn"
        )
        return [
            _make(
                "unconfirmed_write",
                step,
                quote,
                f"{change.name} changed state after {where} that does not agree to it",
            )
        ]
    return []
