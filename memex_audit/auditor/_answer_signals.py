"""Signals comparing the answer with the ground truth: the same value in another format, a rounding
of it, another unit, or the truth shown in a tool output and then not answered."""

from __future__ import annotations

from pydantic import JsonValue

from memex_audit.auditor._scope import is_observation, observation_text
from memex_audit.auditor._signal import Signal, last_step_with, make_signal
from memex_audit.reading import answer_text
from memex_audit.reading._numbers import NumberMention, find_numbers, is_rounding_of, same_value, unit_factor
from memex_audit.trajectory import Step, Trajectory


def _truth_number(ground_truth: JsonValue) -> NumberMention | None:
    if isinstance(ground_truth, bool) or not isinstance(ground_truth, str | int | float):
        return None
    found = find_numbers(str(ground_truth))
    return found[0] if len(found) == 1 else None


def detect_answer_mismatch(trajectory: Trajectory, ground_truth: JsonValue) -> list[Signal]:
    """The answer against the ground truth: the same value in another format, a rounding of it, or the
    same digits at another unit (thousands for millions, a fraction for a percent)."""
    answer = answer_text(trajectory)
    truth = _truth_number(ground_truth)
    if answer is None or truth is None:
        return []
    numbers = find_numbers(answer)
    if not numbers:
        return []
    given = numbers[-1] if len(numbers) > 1 else numbers[0]
    step = last_step_with(trajectory, answer) or last_step_with(trajectory, given.text)
    if step is None:
        return []
    quote = answer if step.contains(answer) else given.text
    if same_value(given.value, truth.value):
        if " ".join(answer.split()) == " ".join(str(ground_truth).split()):
            return []
        return [
            make_signal(
                "format_mismatch",
                step,
                quote,
                f"answered {answer!r} where {ground_truth!r} was expected: same value, other format",
            )
        ]
    if is_rounding_of(given, truth):
        return [
            make_signal(
                "rounding_mismatch",
                step,
                quote,
                f"answered {given.text}, a different rounding of {truth.text}",
            )
        ]
    factor = unit_factor(given.value, truth.value)
    if factor is not None:
        return [
            make_signal(
                "unit_mismatch",
                step,
                quote,
                f"answered {given.text}, {factor:g} times the expected {truth.text}: units misread",
            )
        ]
    return []


def detect_truth_seen(trajectory: Trajectory, ground_truth: JsonValue) -> list[Signal]:
    """The ground truth appeared in a tool output the trajectory saw, but its answer is something else.

    When the answer's value first shows up in a later output than the truth did, the trajectory went
    past the answer (``wandered_past_answer``); otherwise it read the right output wrongly
    (``ground_truth_seen``).
    """
    answer = answer_text(trajectory)
    if answer is None or ground_truth is None or isinstance(ground_truth, list | dict | bool):
        return []
    truth_text = str(ground_truth).strip()
    truth = _truth_number(ground_truth)
    answer_numbers = find_numbers(answer)
    if truth is not None:
        if len(truth.digits) < 3 or any(same_value(m.value, truth.value) for m in answer_numbers):
            return []
    elif len(truth_text) < 4 or truth_text.casefold() in answer.casefold():
        return []
    truth_step: Step | None = None
    truth_quote = ""
    for step in trajectory.steps:
        if not is_observation(step):
            continue
        text = observation_text(step)
        if truth is not None:
            hit = next((m for m in find_numbers(text) if same_value(m.value, truth.value)), None)
            if hit is not None and step.contains(hit.text):
                truth_step, truth_quote = step, hit.text
        elif truth_text.casefold() in text.casefold():
            start = text.casefold().index(truth_text.casefold())
            truth_step, truth_quote = step, text[start : start + len(truth_text)]
        if truth_step is not None:
            break
    if truth_step is None:
        return []
    given = answer_numbers[-1] if answer_numbers else None
    answer_step = None
    if given is not None:
        answer_step = next(
            (
                s
                for s in trajectory.steps
                if is_observation(s)
                and any(same_value(m.value, given.value) for m in find_numbers(observation_text(s)))
            ),
            None,
        )
    if answer_step is not None and answer_step.index > truth_step.index:
        return [
            make_signal(
                "wandered_past_answer",
                truth_step,
                truth_quote,
                f"the expected {truth_quote} was shown at step {truth_step.index}, but the answer "
                f"{given.text if given else answer!r} comes from step {answer_step.index}, after more searching",
            )
        ]
    return [
        make_signal(
            "ground_truth_seen",
            truth_step,
            truth_quote,
            f"the expected {truth_quote} was in the output of step {truth_step.index}, yet the answer was {answer!r}",
        )
    ]
