"""Signals comparing the answer with the ground truth: the same value in another format, a rounding
of it, another unit, or the truth shown in a tool output and then not answered; and, for agents
serving a user, money amounts that nothing the agent saw supports."""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable

from pydantic import JsonValue

from memex_audit.auditor._scope import is_observation, observation_text
from memex_audit.auditor._signal import Signal, last_step_with, make_signal
from memex_audit.reading import (
    NumberMention,
    answer_text,
    find_numbers,
    is_rounding_of,
    same_value,
    unit_factor,
)
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


# ``\$\s?(\d[\d,]*(?:\.\d+)?)|\b(\d[\d,]*(?:\.\d+)?)\s?(?:dollars|usd)\b``, written to open with its
# first character (a ``$`` or a digit) so that the regex engine skips ahead to the next one: after a
# ``$`` comes the amount (``after_sign``); after a digit not preceded by a word character, the rest
# of the amount (``rest``) and the unit.
_MONEY = re.compile(
    r"[$\d](?:(?<=\$)\s?(?P<after_sign>\d[\d,]*(?:\.\d+)?)"
    r"|(?<!\w\d)(?<=\d)(?P<rest>[\d,]*(?:\.\d+)?)\s?(?:dollars|usd)\b)",
    re.IGNORECASE,
)
_AMOUNT_KEY = re.compile(r"amount|price|total|cost|fee|refund|balance", re.IGNORECASE)
MIN_AMOUNT = 10.0
"""Smaller amounts (counts of bags, passengers) are left alone: too many ways to reach them."""
MAX_POOL = 60
"""Distinct shown values tried as operands of a derivation."""


def detect_unsupported_amounts(trajectory: Trajectory, ground_truth: JsonValue = None) -> list[Signal]:
    """A money amount the agent wrote into a state change that nothing it saw supports.

    For agents serving a user through tools (a dialogue with tool calls): each amount-like argument
    of a call (a payment, a certificate) must be printed in an earlier tool output or user turn,
    have been told to the user before (and so put to them), follow from shown values by one step (a sum,
    a difference or a multiple of one value by a small count: fares times passengers), or add up
    three shown values; an amount so supported is itself an operand for later ones (a total, then
    the remainder after a certificate). An amount equal to one in the gold actions is never flagged: it is what
    was expected. One signal, at the first unsupported amount.
    """
    if not _is_dialogue(trajectory):
        return []
    expected = set(_gold_amounts(ground_truth))
    shown = _Operands()
    told_unchecked: list[tuple[float, str]] = []
    for step in trajectory.steps:
        candidates: list[tuple[float, str]] = []
        if step.role == "assistant":
            text = step.text or ""
            for match in _MONEY.finditer(text) if _may_name_amount(text) else ():
                after_sign, rest = match.group("after_sign", "rest")
                raw = after_sign if rest is None else match.group(0)[0] + rest
                value = _to_float(raw)
                if value is not None:
                    # amounts told to the user are operands for what follows, never flagged on their
                    # own: totals over many fares and passengers take more steps than are tried here
                    told = match.group(0).strip()
                    if _supported(value, shown) or any(same_value(value, v) for v, _ in told_unchecked):
                        shown.append(value)
                    else:
                        told_unchecked.append((value, told))
            for call in step.tool_calls:
                candidates += _amount_arguments(call.arguments)
        for value, quote in candidates:
            if value < MIN_AMOUNT or any(same_value(value, e) for e in expected):
                continue
            if _supported(value, shown) or any(same_value(value, v) for v, _ in told_unchecked):
                # a total the agent worked out is an operand of the next step (the remainder after it)
                shown.append(value)
            elif step.contains(quote):
                return [
                    make_signal(
                        "unsupported_amount",
                        step,
                        quote,
                        f"the amount {quote} is in no earlier tool output or user turn and follows from "
                        "no sum, difference or multiple of the values shown",
                    )
                ]
        if step.role in ("tool", "user") or (step.output and step.role != "assistant"):
            shown.show(step.output or step.text or "")
    return []


def _may_name_amount(text: str) -> bool:
    """Whether ``text`` may hold a ``_MONEY`` match: it has a ``$``, or ``dollars`` or ``usd`` in any
    case. Telling is quicker than the regex's pass (most messages name no amount); text beyond
    ASCII is always read (its case-insensitive matches go beyond ASCII letters)."""
    if "$" in text or not text.isascii():
        return True
    lowered = text.lower()
    return "usd" in lowered or "dollars" in lowered


def _is_dialogue(trajectory: Trajectory) -> bool:
    users = sum(1 for s in trajectory.steps if s.role == "user" and (s.text or "").strip())
    return users >= 2 and any(s.tool_calls for s in trajectory.steps)


def _gold_amounts(ground_truth: JsonValue) -> list[float]:
    out: list[float] = []

    def walk(value: JsonValue) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int | float):
            out.append(float(value))
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    if isinstance(ground_truth, list):
        walk(ground_truth)
    return out


def _amount_arguments(arguments: dict[str, JsonValue]) -> list[tuple[float, str]]:
    out: list[tuple[float, str]] = []

    def walk(value: JsonValue, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, int | float) and not isinstance(value, bool) and _AMOUNT_KEY.search(key):
            out.append((float(value), f"{value:g}" if isinstance(value, float) else str(value)))

    walk(arguments, "")
    return out


class _Operands:
    """The values an amount may follow from, in the order they were shown or worked out.

    Kept sorted as well, so that the values near a target are found by bisection rather than by
    comparing with every value (the amounts of a dialogue are checked against the same growing list).
    The numbers of the texts shown are added once a value is asked about (``settle``): those after
    the last amount of a dialogue are never needed.
    """

    def __init__(self) -> None:
        self.values: list[float] = []
        self.distinct: set[float] = set()
        self.ordered: list[float] = []
        """``distinct``, sorted."""
        self.pool: list[float] = []
        """The first ``MAX_POOL`` distinct values of at least 1: the operands of a derivation."""
        self.pool_ordered: list[float] = []
        self.small_index: dict[float, int] = {}
        """The position of each of the first 40 values of ``pool``: the operands of a sum of three."""
        self.small_ordered: list[float] = []
        self.largest = 0.0
        """The largest magnitude in ``pool`` (``inf`` once a value is not finite)."""
        self.pending: list[str] = []
        """Texts shown whose numbers are not added yet."""

    def show(self, text: str) -> None:
        """Add the numbers of ``text`` not seen yet, once each, when next needed."""
        self.pending.append(text)

    def settle(self) -> None:
        """Add the numbers of the texts shown so far (before a value is asked about or appended)."""
        if self.pending:
            texts, self.pending = self.pending, []
            # as ``extend_new`` of each text's numbers in turn: a value is added where it first occurs
            self.extend_new([m.value for text in texts for m in find_numbers(text)])

    def extend_new(self, values: Iterable[float]) -> None:
        """Append those of ``values`` not seen yet, once each."""
        distinct = self.distinct
        for value in dict.fromkeys(values):
            if value not in distinct:
                # ``append``, inlined (a dialogue's outputs show thousands of values)
                self.values.append(value)
                distinct.add(value)
                bisect.insort(self.ordered, value)
                if value >= 1 and len(self.pool) < MAX_POOL:
                    self._add_to_pool(value)

    def append(self, value: float) -> None:
        self.settle()
        self.values.append(value)
        if value in self.distinct:
            return
        self.distinct.add(value)
        bisect.insort(self.ordered, value)
        if value >= 1 and len(self.pool) < MAX_POOL:
            self._add_to_pool(value)

    def _add_to_pool(self, value: float) -> None:
        self.pool.append(value)
        bisect.insort(self.pool_ordered, value)
        self.largest = max(self.largest, value) if math.isfinite(value) else math.inf
        if len(self.pool) <= 40:
            self.small_index[value] = len(self.pool) - 1
            bisect.insort(self.small_ordered, value)


_FAST_LIMIT = 1e12
"""Up to this magnitude, the values near a target (by bisection within a margin far wider than
``same_value``'s tolerance and any rounding of a sum) hold every value ``same_value`` could accept."""


def _near(ordered: list[float], target: float, magnitude: float) -> list[float]:
    """The values of ``ordered`` within ``1e-6 * (1 + magnitude)`` of ``target``."""
    margin = 1e-6 * (1.0 + magnitude)
    return ordered[
        bisect.bisect_left(ordered, target - margin) : bisect.bisect_right(ordered, target + margin)
    ]


def _supported(value: float, shown: _Operands) -> bool:
    """Whether ``value`` was shown, or follows from the pool of shown values by a multiple (by 2 to 9),
    a sum or difference of two, or a sum of three (``_supported_by_scan``, answered faster).

    The values near a target are those ``_near`` gives, its bisections written out (this is asked
    of every amount of a dialogue)."""
    shown.settle()
    if value in shown.distinct:
        return True
    if not (abs(value) <= _FAST_LIMIT and shown.largest <= _FAST_LIMIT):
        return _supported_by_scan(value, shown.values)
    size = abs(value)
    if any(same_value(value, v) for v in _near(shown.ordered, value, size)):
        return True
    left, right = bisect.bisect_left, bisect.bisect_right
    pool_ordered = shown.pool_ordered
    for a in shown.pool:
        # a * k is near value for one k at most, the nearest to value / a
        k = round(value / a)
        if 2 <= k <= 9 and same_value(a * k, value):
            return True
        margin = 1e-6 * (1.0 + (size + a))
        # b near value - a (a sum), or near a + value (a difference, b the larger): the pair whose
        # difference makes value is found from its smaller value, so ``a - value`` is not tried
        for target in (value - a, a + value):
            lo = left(pool_ordered, target - margin)
            hi = right(pool_ordered, target + margin, lo)
            for b in pool_ordered[lo:hi] if lo < hi else ():
                if b != a and (same_value(a + b, value) or same_value(abs(a - b), value)):
                    return True
    small = shown.pool[:40]
    small_ordered, small_index = shown.small_ordered, shown.small_index
    for i, a in enumerate(small):
        if value - a <= 0:
            continue  # then every rest below is negative
        for j in range(i + 1, len(small)):
            rest = value - a - small[j]
            if rest <= 0:
                continue
            margin = 1e-6 * (1.0 + rest)
            lo = left(small_ordered, rest - margin)
            hi = right(small_ordered, rest + margin, lo)
            if lo < hi and any(small_index[c] > j and same_value(rest, c) for c in small_ordered[lo:hi]):
                return True
    return False


def _supported_by_scan(value: float, shown: list[float]) -> bool:
    """``_supported`` by trying every operand: the definition, and the way for values out of range."""
    pool = [v for v in dict.fromkeys(shown) if v >= 1][:MAX_POOL]
    if any(same_value(value, v) for v in shown):
        return True
    for i, a in enumerate(pool):
        for k in range(2, 10):
            if same_value(a * k, value):
                return True
        for b in pool[i + 1 :]:
            if same_value(a + b, value) or same_value(abs(a - b), value):
                return True
    small = pool[:40]
    for i, a in enumerate(small):
        for j in range(i + 1, len(small)):
            rest = value - a - small[j]
            if rest > 0 and any(same_value(rest, c) for c in small[j + 1 :]):
                return True
    return False


def _to_float(raw: str) -> float | None:
    try:
        return float(raw.replace(",", ""))
    except ValueError:
        return None
