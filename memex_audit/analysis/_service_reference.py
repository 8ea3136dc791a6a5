"""Reference judgements for customer-service rollouts, from the grading record they carry.

A τ-bench / τ²-bench rollout carries ``reward_info``: which gold actions matched, whether the
database ended as the gold one did, whether the required information was communicated. A label an
audit gives such a rollout can be checked against it: a missing or wrong write must be a failed
action check; an extra write, a policy violation, an unconfirmed write or a miscomputed amount must
leave the database different from the gold one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from memex_audit.auditor import detect_signals, verdict_from_signals
from memex_audit.reading import gold_action_diff, reward_view
from memex_audit.taxonomy import Taxonomy
from memex_audit.trajectory import Trajectory, group_by_task

_WRITE_KINDS = ("missing_action", "wrong_arguments", "wrong_entity")
_EXTRA_KINDS = ("unexpected_action", "policy_violation", "unconfirmed_write", "computed_mismatch")


def label_agrees_with_reward(kind: str, detail: str, step: int, run: Trajectory) -> bool | None:
    """Whether ``reward_info`` shows what a signal of ``kind`` (with its ``detail`` and ``step``) says
    failed; ``None`` when the rollout carries no grading record to check it against."""
    view = reward_view(run)
    if view is None or (view.db_match is None and not view.failed_writes):
        return None
    name = re.match(r"(?:the required action )?(\w+)", detail)
    tool = name.group(1) if name else ""
    if kind in _WRITE_KINDS:
        return tool in view.failed_writes or (not view.failed_writes and view.db_match is False)
    if kind in _EXTRA_KINDS:
        diff = gold_action_diff(run)
        bad = None if diff is None else {c.step for c in diff.extra} | {w.step for w in diff.wrong_arguments}
        return view.db_match is False and (bad is None or step in bad)
    return view.state_failed or bool(view.communicate_failed)


def reward_agreement(trajectories: Iterable[Trajectory], taxonomy: Taxonomy) -> tuple[int, int]:
    """How many classified offline audit labels of failed rollouts ``reward_info`` can check, and how
    many of those it carries (the label's finding is the strongest signal its category claims)."""
    checked = right = 0
    for group in group_by_task(trajectories):
        for run in group.failed:
            signals = detect_signals(run, group.trajectories, ground_truth=run.ground_truth)
            verdict = verdict_from_signals(signals, taxonomy, run)
            if verdict.primary == "unclassified":
                continue
            signal = next(
                s
                for s in signals
                if (c := taxonomy.category_for_signal(s.kind)) is not None and c.id == verdict.primary
            )
            ok = label_agrees_with_reward(signal.kind, signal.detail, signal.step, run)
            if ok is not None:
                checked += 1
                right += ok
    return checked, right
