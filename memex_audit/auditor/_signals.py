"""Offline signals: deterministic evidence of how a failed trajectory went wrong.

Each detector is a pure function of the trajectory (and, where comparison helps, its siblings and the
ground truth) that returns ``Signal`` objects. A signal always cites a step and a quote taken
verbatim from that step, so the evidence built from it checks by construction. A taxonomy maps
signal kinds to its categories; the offline policy turns the strongest mapped signal into the label.

The detectors live by theme: ``_answer_signals`` (the answer against the truth), ``_process_signals``
(errors, retyped numbers, search strategy, limits, sources), ``_readings`` (values read from printed
tables) and ``_action_signals`` (tool calls against gold actions).
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import JsonValue

from memex_audit.auditor._action_signals import (
    detect_action_mismatch,
    detect_policy_breaches,
    detect_unconfirmed_writes,
)
from memex_audit.auditor._answer_signals import (
    detect_answer_mismatch,
    detect_truth_seen,
    detect_unsupported_amounts,
)
from memex_audit.auditor._coding_signals import detect_coding_findings
from memex_audit.auditor._error_signals import detect_tool_errors
from memex_audit.auditor._process_signals import (
    detect_few_searches,
    detect_intermediate_rounding,
    detect_repetition,
    detect_retyped_numbers,
    detect_source_mismatch,
    detect_turn_limit,
)
from memex_audit.auditor._readings import detect_bad_copy, detect_preliminary, detect_wrong_field
from memex_audit.auditor._signal import STRENGTH, Signal
from memex_audit.reading import answer_text
from memex_audit.trajectory import Trajectory

__all__ = [
    "STRENGTH",
    "Signal",
    "answer_text",
    "detect_answer_mismatch",
    "detect_few_searches",
    "detect_repetition",
    "detect_retyped_numbers",
    "detect_signals",
    "detect_source_mismatch",
    "detect_tool_errors",
    "detect_truth_seen",
    "detect_turn_limit",
]


def detect_signals(
    trajectory: Trajectory, siblings: Iterable[Trajectory] = (), *, ground_truth: JsonValue = None
) -> list[Signal]:
    """Every offline signal that fires on ``trajectory``, strongest first.

    Args:
        trajectory: The failed trajectory (its human labels are never read).
        siblings: Other rollouts of the same task; correct ones serve as the reference.
        ground_truth: The task's reference answer (defaults to the trajectory's own).
    """
    others = [s for s in siblings if s.id != trajectory.id]
    truth = trajectory.ground_truth if ground_truth is None else ground_truth
    signals = [
        *detect_coding_findings(trajectory),
        *detect_answer_mismatch(trajectory, truth),
        *detect_retyped_numbers(trajectory),
        *detect_action_mismatch(trajectory, truth),
        *detect_policy_breaches(trajectory),
        *detect_unconfirmed_writes(trajectory),
        *detect_unsupported_amounts(trajectory, truth),
        *detect_truth_seen(trajectory, truth),
        *detect_preliminary(trajectory, others),
        *detect_bad_copy(trajectory, others),
        *detect_wrong_field(trajectory, others),
        *detect_source_mismatch(trajectory, others),
        *detect_turn_limit(trajectory, others),
        *detect_tool_errors(trajectory),
        *detect_intermediate_rounding(trajectory),
        *detect_few_searches(trajectory, others),
        *detect_repetition(trajectory),
    ]
    return sorted(signals, key=lambda s: (-s.strength, s.step))
