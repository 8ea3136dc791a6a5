"""Offline signals: deterministic evidence of how a failed trajectory went wrong.

Each detector is a pure function of the trajectory (and, where comparison helps, its siblings and the
ground truth) that returns ``Signal`` objects. A signal always cites a step and a quote taken
verbatim from that step, so the evidence built from it checks by construction. A taxonomy maps
signal kinds to its categories; the offline policy turns the strongest mapped signal into the label.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from memex_audit.auditor._numbers import (
    NumberMention,
    find_numbers,
    is_retyping,
    is_rounding_of,
    same_value,
    unit_factor,
)
from memex_audit.auditor._scope import (
    calls_made,
    compare_sources,
    is_action,
    is_observation,
    is_search,
    numbers_in_outputs,
    observation_text,
)
from memex_audit.taxonomy import SignalKind
from memex_audit.trajectory import Step, Trajectory


class Signal(BaseModel):
    """One piece of deterministic evidence.

    Attributes:
        kind: What the signal is (see ``memex_audit.taxonomy.SIGNAL_KINDS``).
        step: The step it points to; also the guess for the faulty step.
        quote: Text taken verbatim from that step.
        agent: The agent held responsible (for an executor's output, the agent whose call produced it).
        detail: What was found, in one sentence.
        strength: How strongly it indicates the failure (0..1); the strongest mapped signal wins.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SignalKind
    step: int
    quote: str
    agent: str | None = None
    detail: str
    strength: float = Field(ge=0.0, le=1.0)


STRENGTH: dict[str, float] = {
    "format_mismatch": 0.9,
    "rounding_mismatch": 0.85,
    "unit_mismatch": 0.85,
    "retyped_number": 0.85,
    "wrong_entity": 0.8,
    "wrong_arguments": 0.75,
    "missing_action": 0.7,
    "premature_transfer": 0.7,
    "unexpected_action": 0.65,
    "preliminary_value": 0.75,
    "duplicated_source": 0.75,
    "corrupted_source": 0.75,
    "wrong_field": 0.7,
    "ground_truth_seen": 0.7,
    "wandered_past_answer": 0.8,
    "missing_sibling_source": 0.65,
    "turn_limit": 0.6,
    "tool_error": 0.55,
    "api_error": 0.55,
    "timeout": 0.55,
    "environment_error": 0.55,
    "no_answer": 0.5,
    "few_searches": 0.5,
    "repeated_searches": 0.45,
    "repeated_steps": 0.4,
}
"""Base strength of each signal kind: specific, hard-to-fake findings above circumstantial ones."""

_RESOLVED_DISCOUNT = 0.25
"""An error the trajectory recovered from (the same tool later succeeded) says less about the failure."""


def _signal(
    kind: SignalKind,
    step: Step,
    quote: str,
    detail: str,
    *,
    agent: str | None = None,
    strength: float | None = None,
) -> Signal:
    return Signal(
        kind=kind,
        step=step.index,
        quote=quote.strip(),
        agent=agent if agent is not None else step.agent,
        detail=detail,
        strength=STRENGTH[kind] if strength is None else strength,
    )


def responsible_agent(trajectory: Trajectory, step_index: int) -> str | None:
    """The agent behind a step: for an observation, the agent of the nearest earlier step that acted."""
    for step in reversed(trajectory.steps[: step_index + 1]):
        if is_action(step):
            return step.agent
    return trajectory.steps[step_index].agent if trajectory.steps else None


def answer_text(trajectory: Trajectory) -> str | None:
    """The answer the trajectory gave: ``final_answer``, else the ``answer`` it submitted."""
    if trajectory.final_answer:
        return trajectory.final_answer
    sub = trajectory.submitted
    if isinstance(sub, dict):
        for key in ("answer", "final_answer", "value"):
            if sub.get(key) is not None:
                return str(sub[key])
    if isinstance(sub, str | int | float) and not isinstance(sub, bool):
        return str(sub)
    return None


def _last_step_with(trajectory: Trajectory, quote: str) -> Step | None:
    for step in reversed(trajectory.steps):
        if is_action(step) and step.contains(quote):
            return step
    return None


def _first_line_with(text: str, match: re.Match[str]) -> str:
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    line = text[start : end if end >= 0 else len(text)].strip()
    return line[:200] if len(line) > 200 else line


# -- errors in tool outputs ---------------------------------------------------------------------

_ERROR = re.compile(
    r"Traceback \(most recent call last\)|exitcode: [1-9]\d*|\b\w*(?:Error|Exception)\b:|"
    r"command not found|No such file or directory|Permission denied|\bHTTP(?:Error)?\s?[45]\d\d\b|"
    r"\bstatus(?: code)?:? [45]\d\d\b|rate.?limit|timed? ?out\b"
)
_ERROR_KIND: list[tuple[SignalKind, re.Pattern[str]]] = [
    ("timeout", re.compile(r"timed? ?out|TimeoutError|deadline exceeded", re.IGNORECASE)),
    (
        "api_error",
        re.compile(
            r"\b[45]\d\d\b.*(?:error|status|http)|rate.?limit|too many requests|unauthori[sz]ed|forbidden",
            re.IGNORECASE,
        ),
    ),
    (
        "environment_error",
        re.compile(
            r"ModuleNotFoundError|ImportError|command not found|No such file or directory|Permission denied"
        ),
    ),
]


def detect_tool_errors(trajectory: Trajectory) -> list[Signal]:
    """Errors and tracebacks in tool outputs; an error the same tool later recovered from is weaker."""
    signals = []
    observations = [s for s in trajectory.steps if is_observation(s)]
    for position, step in enumerate(observations):
        text = observation_text(step)
        match = _ERROR.search(text)
        if match is None and step.error:
            match = re.search(r"\S.*", step.error)
        if match is None:
            continue
        line = _first_line_with(text, match)
        kind: SignalKind = next((k for k, pattern in _ERROR_KIND if pattern.search(line)), "tool_error")
        later = [s for s in observations[position + 1 :] if s.tool_name == step.tool_name]
        recovered = any(not s.error and not _ERROR.search(observation_text(s)) for s in later)
        strength = STRENGTH[kind] - (_RESOLVED_DISCOUNT if recovered else 0.0)
        state = "the same tool later succeeded" if recovered else "never recovered from"
        signals.append(
            _signal(
                kind,
                step,
                line,
                f"error in the output of step {step.index} ({state})",
                agent=responsible_agent(trajectory, step.index),
                strength=strength,
            )
        )
    return signals


# -- numbers: retyped, and the answer against the truth -----------------------------------------


def _looks_like_year(m: NumberMention) -> bool:
    return m.decimals == 0 and "," not in m.text and 1800 <= m.value <= 2100


def detect_retyped_numbers(trajectory: Trajectory) -> list[Signal]:
    """A number used in a later call or code block that is an earlier tool output's number retyped
    with a slip (one digit changed or two swapped), never itself shown by any tool (3,501 → 3531)."""
    seen = numbers_in_outputs(trajectory)
    question = {m.value for m in find_numbers(trajectory.question or "")}
    signals = []
    reported: set[str] = set()
    for step in trajectory.steps:
        if not is_action(step) or step.role != "assistant":
            continue
        # Only what is transcribed into code or a call: prose to a user restates computed totals
        # (a sum, a fare difference) that look like slips but are not.
        used_text = "\n".join(
            [step.code or "", *(c.arguments_raw or str(c.arguments) for c in step.tool_calls)]
        )
        earlier = [s for s in seen if s.step < step.index]
        for use in find_numbers(used_text):
            if use.text in reported or use.value in question or _looks_like_year(use):
                continue
            if any(same_value(s.mention.value, use.value) for s in earlier):
                continue
            source = next((s for s in earlier if is_retyping(s.mention, use)), None)
            if source is None or not step.contains(use.text):
                continue
            reported.add(use.text)
            signals.append(
                _signal(
                    "retyped_number",
                    step,
                    use.text,
                    f"{source.mention.text} (tool output at step {source.step}) was retyped as {use.text}",
                )
            )
    return signals


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
    step = _last_step_with(trajectory, answer) or _last_step_with(trajectory, given.text)
    if step is None:
        return []
    quote = answer if step.contains(answer) else given.text
    if same_value(given.value, truth.value):
        if " ".join(answer.split()) == " ".join(str(ground_truth).split()):
            return []
        return [
            _signal(
                "format_mismatch",
                step,
                quote,
                f"answered {answer!r} where {ground_truth!r} was expected: same value, other format",
            )
        ]
    if is_rounding_of(given, truth):
        return [
            _signal(
                "rounding_mismatch",
                step,
                quote,
                f"answered {given.text}, a different rounding of {truth.text}",
            )
        ]
    factor = unit_factor(given.value, truth.value)
    if factor is not None:
        return [
            _signal(
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
            _signal(
                "wandered_past_answer",
                truth_step,
                truth_quote,
                f"the expected {truth_quote} was shown at step {truth_step.index}, but the answer "
                f"{given.text if given else answer!r} comes from step {answer_step.index}, after more searching",
            )
        ]
    return [
        _signal(
            "ground_truth_seen",
            truth_step,
            truth_quote,
            f"the expected {truth_quote} was in the output of step {truth_step.index}, yet the answer was {answer!r}",
        )
    ]


# -- search strategy ----------------------------------------------------------------------------


def detect_few_searches(trajectory: Trajectory, siblings: Sequence[Trajectory]) -> list[Signal]:
    """Far fewer calls than the correct siblings made (at most half of their median, which is ≥ 2)."""
    correct = sorted(len(calls_made(s)) for s in siblings if s.success is True and s.id != trajectory.id)
    calls = calls_made(trajectory)
    if not correct or not calls:
        return []
    median = correct[len(correct) // 2]
    if median < 2 or len(calls) * 2 > median:
        return []
    last = calls[-1]
    step = trajectory.steps[last.step]
    quote = last.text if step.contains(last.text) else last.name
    return [
        _signal(
            "few_searches",
            step,
            quote,
            f"stopped after {len(calls)} calls where the correct siblings made a median of {median}",
        )
    ]


def detect_repetition(trajectory: Trajectory) -> list[Signal]:
    """The same search issued three times or twice in a row, or the same long message repeated."""
    signals: list[Signal] = []
    counts: Counter[tuple[str, tuple[str, ...]]] = Counter()
    previous: tuple[str, tuple[str, ...]] | None = None
    for call in calls_made(trajectory):
        if not is_search(call):
            continue
        key = (call.name, call.arguments)
        counts[key] += 1
        if counts[key] == 3 or (key == previous and counts[key] == 2):
            step = trajectory.steps[call.step]
            quote = call.text if step.contains(call.text) else call.name
            signals.append(
                _signal("repeated_searches", step, quote, f"the search {call.text[:80]!r} was repeated")
            )
            break
        previous = key
    texts: dict[str, int] = {}
    for step in trajectory.steps:
        if not is_action(step) or not step.text:
            continue
        squashed = " ".join(step.text.split())
        if len(squashed) < 40:
            continue
        if squashed in texts:
            quote = step.text.strip()[:120]
            signals.append(
                _signal(
                    "repeated_steps",
                    step,
                    quote,
                    f"step {step.index} repeats step {texts[squashed]} verbatim",
                )
            )
            break
        texts[squashed] = step.index
    return signals


_LIMIT = re.compile(
    r"max.?(?:turns|steps|iterations)|limit|too.?many|context.?length|exhausted|ran out", re.IGNORECASE
)


def _tail_quote(step: Step) -> str:
    lines = [line.strip() for line in step.searchable_text().splitlines() if line.strip()]
    return lines[-1][:120] if lines else ""


def detect_turn_limit(trajectory: Trajectory, siblings: Sequence[Trajectory] = ()) -> list[Signal]:
    """The run ended at a turn, step or context limit, or without giving any answer."""
    if not trajectory.steps:
        return []
    last = trajectory.steps[-1]
    quote = _tail_quote(last)
    if not quote:
        return []
    reasons = [
        str(v)
        for k, v in {**trajectory.metadata, **trajectory.outcome.details}.items()
        if re.search(r"termination|exit_status|stop_reason|finish", k, re.IGNORECASE)
    ]
    limit = next((r for r in reasons if _LIMIT.search(r)), None)
    if limit is not None:
        return [_signal("turn_limit", last, quote, f"the run ended at a limit ({limit})")]
    others_answer = any(answer_text(s) is not None for s in siblings if s.id != trajectory.id)
    if answer_text(trajectory) is None and others_answer:
        return [
            _signal("no_answer", last, quote, "the run ended without an answer, while its siblings gave one")
        ]
    return []


def detect_source_mismatch(trajectory: Trajectory, siblings: Sequence[Trajectory]) -> list[Signal]:
    """Sources most correct siblings opened that this one never did, while it opened others instead."""
    comparison = compare_sources(trajectory, siblings)
    if not comparison.missing or not comparison.extra:
        return []
    source, first = min(comparison.extra.items(), key=lambda item: item[1])
    step = trajectory.steps[first]
    if not step.contains(source):
        return []
    missing = ", ".join(comparison.missing[:3])
    return [
        _signal(
            "missing_sibling_source",
            step,
            source,
            f"opened {source} where the {comparison.correct_siblings} correct sibling(s) used {missing}, which this run never opened",
        )
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
    from memex_audit.auditor._action_signals import detect_action_mismatch
    from memex_audit.auditor._readings import detect_bad_copy, detect_preliminary, detect_wrong_field

    others = [s for s in siblings if s.id != trajectory.id]
    truth = trajectory.ground_truth if ground_truth is None else ground_truth
    signals = [
        *detect_answer_mismatch(trajectory, truth),
        *detect_retyped_numbers(trajectory),
        *detect_action_mismatch(trajectory, truth),
        *detect_truth_seen(trajectory, truth),
        *detect_preliminary(trajectory, others),
        *detect_bad_copy(trajectory, others),
        *detect_wrong_field(trajectory, others),
        *detect_source_mismatch(trajectory, others),
        *detect_turn_limit(trajectory, others),
        *detect_tool_errors(trajectory),
        *detect_few_searches(trajectory, others),
        *detect_repetition(trajectory),
    ]
    return sorted(signals, key=lambda s: (-s.strength, s.step))
