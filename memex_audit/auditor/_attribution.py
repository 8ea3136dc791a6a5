"""Who failed where: the decisive step and agent of a failed run, traced from its wrong answer.

The faulty step is the earliest step whose error the failure follows from: where a wrong value or
claim enters and later steps rely on it, not where the symptom shows (a rerun, a goodbye, the final
answer). ``trace_answer`` finds the run's answer claim (a ``FINAL ANSWER:`` line, else a bold or
concluding sentence among the last messages), keeps the values in it that are neither given by the
task nor the ground truth, and follows each back to the first step that states it; a value that
first appears in a tool output goes to the step that ran the code or call producing it. That is a
finding, with a quote. Without one, ``positional_guess`` says where failures most often start, and
says that it is a guess: the first step of the working agent that acts on the world, skipping the
plain search a browsing worker opens with.

Signals of any kind but ``SYMPTOM_KINDS`` mark where an error enters and place the faulty step ahead of
the trace (a retyped number, a wrong field, an edit that missed its tests). Symptoms (errors printed by tools, repetition, limits, few searches) label
a failure but measured on multi-agent logs (Who&When) they point at the faulty step less often than
the positional guess, so they do not override it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from memex_audit.auditor._scope import is_action, is_observation
from memex_audit.auditor._signal import Signal
from memex_audit.reading import NumberMention, find_numbers, same_value
from memex_audit.trajectory import Step, Trajectory

COORDINATOR = re.compile(r"orchestrator|manager|planner|coordinator|human|^user$|admin", re.IGNORECASE)
"""Agent names of coordinators: they route work and rarely introduce the wrong value themselves."""

SYMPTOM_KINDS = frozenset(
    {
        "tool_error",
        "api_error",
        "timeout",
        "environment_error",
        "few_searches",
        "repeated_searches",
        "repeated_steps",
        "turn_limit",
        "no_answer",
    }
)
"""Signal kinds whose step is where a failure shows, not where it enters: they label a failure but never
place the faulty step (on Who&When logs they point at it less often than the positional guess)."""

_FINAL_ANSWER = re.compile(r"FINAL ANSWER:\s*(?P<answer>.+?)(?:\s+[A-Z_]+\.PY\b|\n|$)")
_BOLD = re.compile(r"\*\*([^*\n]{1,120})\*\*")
_CONCLUDING_PHRASES = (
    "final answer",
    "the answer",
    "answer is",
    "answer:",
    "result is",
    "result:",
    "therefore",
    "thus",
    "conclude",
    "in conclusion",
    "is indeed",
    "confirm",
    "identified",
    "determined",
    "found that",
)
"""Phrases that conclude (any case): a sentence with one may state the answer."""
# The lookahead for the phrases' first letters lets the regex engine leave most positions at once.
_CONCLUDING = re.compile(
    "(?=[acdfirt])(?:" + "|".join(map(re.escape, _CONCLUDING_PHRASES)) + ")", re.IGNORECASE
)
_NOT_A_CLAIM = re.compile(
    r"\?|\b(?:should|let's|let us|we need|need to|to verify|to confirm|will|if|please|plan|step)\b|^\s*#",
    re.IGNORECASE,
)
_LIST_MARKER = re.compile(r"(?m)^\s*(?:[-*#]+\s*)?(?:step\s*)?\d{1,2}[.):]\s")
_CODE_BLOCK = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_SCALE = re.compile(r"\s*(thousand|million|billion|trillion)\b", re.IGNORECASE)
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_PLAIN_SEARCH = re.compile(r"^\s*I (?:typed|entered|searched for) .{0,300}? into\b", re.IGNORECASE)
_LAST_MESSAGES = 3
"""How many of the last substantive messages may carry the answer claim."""
_MIN_MESSAGE = 20


@dataclass(frozen=True)
class Attribution:
    """Where a failure is placed.

    Attributes:
        step: The faulty step (``None`` for a run without steps).
        agent: The agent of that step, without annotations.
        finding: Whether it rests on a finding (a traced value, a signal) rather than on position.
        reason: What it rests on, in one sentence.
        quote: Verbatim text of the step that shows the finding (``None`` for a guess).
    """

    step: int | None
    agent: str | None
    finding: bool
    reason: str
    quote: str | None = None


def agent_name(raw: str | None) -> str | None:
    """An agent's name without the annotations some logs add (``Orchestrator (thought)`` → ``Orchestrator``)."""
    if raw is None:
        return None
    return re.sub(r"\s*\(.*\)\s*$", "", raw).strip() or raw


def acting_step(trajectory: Trajectory, index: int) -> int:
    """The step that acted for ``index``: itself, or for an observation the nearest earlier step that acted."""
    for step in reversed(trajectory.steps[: index + 1]):
        if is_action(step):
            return step.index
    return index


def _speaks(step: Step) -> bool:
    return is_action(step) and not is_observation(step)


def _acts_on_the_world(step: Step) -> bool:
    return bool(step.code or step.tool_calls or "```" in (step.text or ""))


# -- positional guess ----------------------------------------------------------------------------


def positional_guess(trajectory: Trajectory) -> Attribution:
    """Where a failure most often starts when nothing points anywhere.

    The working agent is the first one (not a coordinator, the user or a tool) that acts on the world
    (runs code or calls a tool), else the first working agent to speak. Its first step is the guess,
    except that a plain search it opens with (``I typed '...' into``) is skipped: a browsing worker's
    error enters when it picks and reads a page, not when it types the query it was given.
    """
    acting = [s for s in trajectory.steps if is_action(s)]
    workers = [s for s in acting if not COORDINATOR.search(s.agent or "")]
    doing = [s for s in workers if _acts_on_the_world(s)]
    chosen = doing[0] if doing else workers[0] if workers else acting[0] if acting else None
    if chosen is None:
        return Attribution(None, None, False, "the run has no step that acts")
    if _PLAIN_SEARCH.match(chosen.text or ""):
        own = [s for s in workers if s.agent == chosen.agent]
        past_search = [s for s in own if not _PLAIN_SEARCH.match(s.text or "")]
        if past_search:
            chosen = past_search[0]
    return Attribution(
        chosen.index,
        agent_name(chosen.agent),
        False,
        "positional guess: the first step of the working agent that acts on the world",
    )


# -- tracing the answer --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Value:
    """A value of the answer claim: a number (with its precision) or a short phrase."""

    text: str
    number: float | None = None
    decimals: int = 0
    phrase: str | None = None


def _strip(text: str) -> str:
    return _LIST_MARKER.sub(" ", _CODE_BLOCK.sub(" ", text))


def _numbers(text: str) -> list[tuple[NumberMention, float]]:
    """Number mentions with their values, a scale word applied (``65 million`` → 65e6)."""
    found = []
    for m in find_numbers(text):
        end = m.start + len(m.text)
        scale = _SCALE.match(text, end)
        value = m.value * _SCALES[scale.group(1).lower()] if scale else m.value
        found.append((m, value))
    return found


def _claim_values(span: str, given: str) -> list[_Value]:
    """The values a claim states that the task did not give: numbers, and a small integer with the word
    before it (``Stanza 3``), since a small integer alone turns up everywhere."""
    given_numbers, given_words = _given(given)
    values = []
    for m, value in _numbers(span):
        if any(same_value(value, g) for g in given_numbers):
            continue
        if m.decimals == 0 and value < 10:
            before = re.findall(r"([A-Za-z]{3,})\s*$", span[: m.start])
            if before and before[0].casefold() not in given_words:
                phrase = f"{before[0]} {m.text}"
                values.append(_Value(phrase, phrase=phrase.casefold()))
            continue
        values.append(_Value(m.text, number=value, decimals=m.decimals))
    return values


@functools.lru_cache(maxsize=64)
def _given(given: str) -> tuple[tuple[float, ...], frozenset[str]]:
    """The numbers and words of the task (asked of every sentence of a claim)."""
    return tuple(v for _, v in _numbers(given)), frozenset(re.findall(r"\w+", given.casefold()))


def _states(text: str, value: _Value, numbers: list[tuple[NumberMention, float]] | None = None) -> bool:
    """Whether ``text`` states ``value`` (``numbers``: ``_numbers(text)`` when already known)."""
    if value.phrase is not None:
        return re.search(rf"(?<!\w){re.escape(value.phrase)}(?!\w)", text.casefold()) is not None
    assert value.number is not None
    for m, number in _numbers(text) if numbers is None else numbers:
        if same_value(number, value.number):
            return True
        # the claim rounds a value shown with more decimals (4.9361 for -4.9361047573920285)
        if (
            0 < value.decimals < m.decimals
            and abs(abs(number) - abs(value.number)) <= 0.5 * 10.0**-value.decimals
        ):
            return True
    return False


def _quote_of(step: Step, value: _Value) -> str | None:
    """How ``value`` is written in ``step`` (``$950,000`` for 950000), for an evidence quote."""
    text = step.searchable_text()
    if value.phrase is not None:
        match = re.search(rf"(?<!\w){re.escape(value.phrase)}(?!\w)", text, re.IGNORECASE)
        return match.group(0) if match else None
    for m, _ in _numbers(text):
        if _states(m.text, value) and step.contains(m.text):
            return m.text
    return None


def answer_claim(trajectory: Trajectory) -> tuple[int, str] | None:
    """The step and text of the run's answer claim: a ``FINAL ANSWER:`` line, else the last bold value
    or concluding sentence stating a value, among the last few substantive messages."""
    for step in reversed(trajectory.steps):
        text = step.text or ""
        # a plain string search turns away the steps without the marker faster than the pattern
        match = _FINAL_ANSWER.search(text) if "FINAL ANSWER:" in text else None
        if match:
            return step.index, match.group("answer").strip()
    given = trajectory.question or ""
    seen = 0
    for step in reversed(trajectory.steps):
        if not _speaks(step):
            continue
        text = _strip((step.text or "").replace("TERMINATE", ""))
        if len(text.strip()) < _MIN_MESSAGE:
            continue
        seen += 1
        if seen > _LAST_MESSAGES:
            return None
        bold = [b for b in _BOLD.findall(text) if not _NOT_A_CLAIM.search(b) and _claim_values(b, given)]
        if bold:
            return step.index, bold[-1]
        if not _concludes(text):
            continue  # no sentence of the message concludes (the phrases do not span sentences)
        sentences = [
            s
            for s in re.split(r"(?<=[.!?])\s+|\n+", text)
            if _concludes(s) and not _NOT_A_CLAIM.search(s) and _claim_values(s, given)
        ]
        if sentences:
            return step.index, sentences[-1]
    return None


def _concludes(text: str) -> bool:
    """Whether ``text`` holds a concluding phrase: plain string searches of the lowered text, which
    find what the case-insensitive pattern finds unless the text holds one of ``_FOLDS_TO_ASCII``."""
    if not text.isascii() and any(c in text for c in _FOLDS_TO_ASCII):
        return _CONCLUDING.search(text) is not None
    lowered = text.lower()
    return any(phrase in lowered for phrase in _CONCLUDING_PHRASES)


_FOLDS_TO_ASCII = "\u0130\u0131\u017f\u212a"
"""The characters besides ASCII ones that a case-insensitive pattern matches to an ASCII letter
(dotted and dotless i, long s, Kelvin sign): lowering a text without them keeps the matches of
ASCII phrases."""


def _task_statement(trajectory: Trajectory) -> set[int]:
    """Opening steps that restate the question (a team's task brief): what they state is given."""
    question = (trajectory.question or "").strip()[:80]
    opening = [s for s in trajectory.steps[:2] if question and question in (s.text or "")]
    return {s.index for s in opening}


class _StepTexts:
    """Each step's text as ``_origin`` reads it, and its numbers, worked out once for all the values
    of a claim."""

    def __init__(self, trajectory: Trajectory) -> None:
        self._question = trajectory.question or ""
        self._texts: dict[int, str] = {}
        self._numbers: dict[int, list[tuple[NumberMention, float]]] = {}

    def text(self, step: Step) -> str:
        text = self._texts.get(step.index)
        if text is None:
            question = self._question
            text = _LIST_MARKER.sub(
                " ", (step.text or "").replace(question, " ") if question else step.text or ""
            )
            if is_observation(step):
                text = "\n".join(p for p in (text, step.output or "") if p)
            self._texts[step.index] = text
        return text

    def numbers(self, step: Step) -> list[tuple[NumberMention, float]]:
        numbers = self._numbers.get(step.index)
        if numbers is None:
            numbers = self._numbers[step.index] = _numbers(self.text(step))
        return numbers


def _origin(
    trajectory: Trajectory, value: _Value, upto: int, given: set[int], texts: _StepTexts
) -> int | None:
    """The step where ``value`` enters: the first step stating it, or for a tool output, the step whose
    code or call produced it. ``None`` when it first appears in the task or nowhere."""
    for step in trajectory.steps[: upto + 1]:
        numbers = texts.numbers(step) if value.phrase is None else None
        if not _states(texts.text(step), value, numbers):
            continue
        if step.index in given or (step.role == "user" and not is_action(step) and not is_observation(step)):
            return None
        return acting_step(trajectory, step.index - 1) if is_observation(step) else step.index
    return None


def trace_answer(trajectory: Trajectory) -> Attribution | None:
    """The step where the wrong answer's value entered, when the answer claim states a value that can
    be followed back (not given by the task, not the ground truth); ``None`` otherwise."""
    claim = answer_claim(trajectory)
    if claim is None:
        return None
    at, span = claim
    truth = "" if trajectory.ground_truth is None else str(trajectory.ground_truth)
    given = _task_statement(trajectory)
    origins = []
    texts = _StepTexts(trajectory)
    for value in _claim_values(span, trajectory.question or ""):
        if truth and _states(truth, value):
            continue
        origin = _origin(trajectory, value, at, given, texts)
        # a FINAL ANSWER line only reports the answer: the value must have entered before it
        if origin is not None and (origin < at or not _FINAL_ANSWER.search(trajectory.steps[at].text or "")):
            origins.append((origin, value))
    if not origins:
        return None
    step, value = min(origins, key=lambda item: item[0])
    target = trajectory.steps[step]
    quote = _quote_of(target, value)
    return Attribution(
        step,
        agent_name(target.agent),
        True,
        f"the answer's value {value.text!r} (claimed at step {at}) enters at step {step}",
        quote,
    )


def attribute(trajectory: Trajectory, signals: Sequence[Signal] = ()) -> Attribution:
    """The faulty step and agent: the strongest signal whose kind marks where an error enters (any kind
    but a symptom), else the traced origin of the answer's value, else a positional guess."""
    for signal in signals:
        if signal.kind not in SYMPTOM_KINDS:
            step = acting_step(trajectory, signal.step)
            return Attribution(
                step,
                agent_name(trajectory.steps[step].agent),
                True,
                f"signal {signal.kind}: {signal.detail}",
                signal.quote if step == signal.step else None,
            )
    traced = trace_answer(trajectory)
    return traced if traced is not None else positional_guess(trajectory)
