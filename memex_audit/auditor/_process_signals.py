"""Signals about how a run went: errors in tool outputs, numbers retyped between steps, too few or
repeated searches, a turn limit or no answer, and sources the correct siblings used instead."""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Sequence

from memex_audit.auditor._attribution import COORDINATOR
from memex_audit.auditor._scope import (
    SeenNumber,
    calls_made,
    compare_sources,
    is_action,
    is_observation,
    is_search,
    observation_text,
)
from memex_audit.auditor._signal import (
    Signal,
    make_signal,
    tail_quote,
)
from memex_audit.reading import (
    NumberMention,
    answer_text,
    find_numbers,
    is_line_number,
    is_retyping,
    looks_like_year,
    parsed_code,
)
from memex_audit.trajectory import Step, Trajectory


def detect_retyped_numbers(trajectory: Trajectory) -> list[Signal]:
    """A number used in a later call or code block that is an earlier tool output's number retyped
    with a slip (one digit changed or two swapped), never itself shown by any tool (3,501 → 3531).

    Line numbers are not values: a listing's line prefixes (``cat -n``, ``grep -n``) and line references
    in commands (``sed -n '212,230p'``) are neither sources nor uses."""
    question: set[float] | None = None
    # What the tool outputs showed, once a use needs it (most uses are turned away before).
    shown: _Shown | None = None
    # The possible sources of a slip, once a use needs them.
    sources: dict[tuple[int, int], list[tuple[int, NumberMention]]] | None = None
    # Whether a shown number is a line number, worked out only for a number some use could be a
    # retyping of (most outputs' numbers are never one).
    line_numbers: dict[tuple[int, int], bool] = {}

    def is_source(texts: dict[int, str], index: int, mention: NumberMention) -> bool:
        key = (index, id(mention))
        if key not in line_numbers:
            line_numbers[key] = is_line_number(texts.get(index, ""), mention)
        return not line_numbers[key]

    signals = []
    reported: set[str] = set()
    for step in trajectory.steps:
        if step.role != "assistant":  # (and so an action)
            continue
        # Only what is transcribed into code or a call: prose to a user restates computed totals
        # (a sum, a fare difference) that look like slips but are not.
        used_text = "\n".join(
            [step.code or "", *(c.arguments_raw or str(c.arguments) for c in step.tool_calls)]
        )
        for use in find_numbers(used_text):
            if len(use.digits) < 3:
                continue
            if question is None:
                question = {m.value for m in find_numbers(trajectory.question or "")}
            if use.text in reported or use.value in question or looks_like_year(use):
                continue
            if is_line_number(used_text, use):
                continue
            if shown is None:
                shown = _shown_numbers(trajectory)
            texts, outputs, first_shown = shown
            if first_shown.get(use.value, step.index) < step.index:
                continue
            if sources is None:
                sources = _by_digit_count(outputs)
            source = next(
                (
                    SeenNumber(index, mention)
                    for index, mention in sources.get((len(use.digits), use.decimals), ())
                    if index < step.index and is_retyping(mention, use) and is_source(texts, index, mention)
                ),
                None,
            )
            if source is None or not step.contains(use.text):
                continue
            reported.add(use.text)
            signals.append(
                make_signal(
                    "retyped_number",
                    step,
                    use.text,
                    f"{source.mention.text} (tool output at step {source.step}) was retyped as {use.text}",
                )
            )
    return signals


_Shown = tuple[dict[int, str], list[tuple[int, tuple[NumberMention, ...]]], dict[float, int]]
"""What the tool outputs of a trajectory showed: each output's text and numbers by step, and the
first step showing each value."""


def _shown_numbers(trajectory: Trajectory) -> _Shown:
    """The tool outputs' texts and numbers (as ``numbers_in_outputs``), read in one pass, and the
    first step showing each value (parsed values of the same written number are the same float: a
    dict finds them exactly), filled from the last output back so that earlier steps win."""
    texts: dict[int, str] = {}
    outputs: list[tuple[int, tuple[NumberMention, ...]]] = []
    for step in trajectory.steps:
        if is_observation(step):
            text = texts[step.index] = observation_text(step)
            outputs.append((step.index, find_numbers(text)))
    first_shown: dict[float, int] = {}
    for index, mentions in reversed(outputs):
        first_shown.update({m.value: index for m in mentions})
    return texts, outputs, first_shown


def _by_digit_count(
    outputs: list[tuple[int, tuple[NumberMention, ...]]],
) -> dict[tuple[int, int], list[tuple[int, NumberMention]]]:
    """The numbers of three digits or more of each output (with its step), by count of digits and
    decimals, in step order.

    A retyping slip needs three digits or more and keeps the count of digits and decimals
    (``is_retyping``): shorter numbers are never sources, and the sources a use may come from are
    those with as many digits and decimals.
    """
    found: dict[tuple[int, int], list[tuple[int, NumberMention]]] = {}
    for index, mentions in outputs:
        for mention in mentions:
            digits = len(mention.digits)
            if digits >= 3:
                found.setdefault((digits, mention.decimals), []).append((index, mention))
    return found


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
        make_signal(
            "few_searches",
            step,
            quote,
            f"stopped after {len(calls)} calls where the correct siblings made a median of {median}",
        )
    ]


def detect_repetition(trajectory: Trajectory) -> list[Signal]:
    """The same search issued three times or twice in a row, or the same long message repeated by an
    agent that does the work. A coordinator re-issuing an instruction (Magentic-One's orchestrator
    asking again) is the symptom of a worker that did not deliver, not a step that went wrong."""
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
                make_signal("repeated_searches", step, quote, f"the search {call.text[:80]!r} was repeated")
            )
            break
        previous = key
    # Texts are compared with their whitespace runs squashed to one space, which takes a pass over
    # each long text: a text is squashed only once an earlier one starts and ends with the same
    # words (the squashed texts then may be equal), and those are all it can repeat.
    earlier: dict[tuple[tuple[str, ...], tuple[str, ...]], list[tuple[Step, str | None]]] = {}
    for step in trajectory.steps:
        if not is_action(step) or not step.text or COORDINATOR.search(step.agent or ""):
            continue
        if len(step.text) < 40:
            continue  # and so is its squashed text
        ends = (tuple(step.text.split(None, 3)[:3]), tuple(step.text.rsplit(None, 3)[-3:]))
        alike = earlier.setdefault(ends, [])
        if not alike:
            alike.append((step, None))
            continue
        squashed = _squash(step.text)
        if len(squashed) < 40:
            continue
        for i, (other, other_squashed) in enumerate(alike):
            if other_squashed is None:
                other_squashed = _squash(other.text or "")
                alike[i] = (other, other_squashed)
            if other_squashed == squashed:
                quote = step.text.strip()[:120]
                signals.append(
                    make_signal(
                        "repeated_steps",
                        step,
                        quote,
                        f"step {step.index} repeats step {other.index} verbatim",
                    )
                )
                return signals
        alike.append((step, squashed))
    return signals


def _squash(text: str) -> str:
    return " ".join(text.split())


_LIMIT = re.compile(
    r"max.?(?:turns|steps|iterations)|limit|too.?many|context.?length|exhausted|ran out", re.IGNORECASE
)


_REASON_KEY = re.compile(r"termination|exit_status|stop_reason|finish", re.IGNORECASE)


def detect_turn_limit(trajectory: Trajectory, siblings: Sequence[Trajectory] = ()) -> list[Signal]:
    """The run ended at a turn, step or context limit, or without giving any answer."""
    if not trajectory.steps:
        return []
    last = trajectory.steps[-1]
    quote = tail_quote(last)
    if not quote:
        return []
    reasons = [
        str(v)
        for k, v in {**trajectory.metadata, **trajectory.outcome.details}.items()
        if _REASON_KEY.search(k)
    ]
    limit = next((r for r in reasons if _LIMIT.search(r)), None)
    if limit is not None:
        return [make_signal("turn_limit", last, quote, f"the run ended at a limit ({limit})")]
    others_answer = any(answer_text(s) is not None for s in siblings if s.id != trajectory.id)
    if answer_text(trajectory) is None and others_answer:
        return [
            make_signal(
                "no_answer", last, quote, "the run ended without an answer, while its siblings gave one"
            )
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
        make_signal(
            "missing_sibling_source",
            step,
            source,
            f"opened {source} where the {comparison.correct_siblings} correct sibling(s) used {missing}, which this run never opened",
        )
    ]


_ARITHMETIC_CALLS = {"sum", "mean", "fsum", "prod", "min", "max"}


def _intermediate_rounds(code: str) -> list[str]:
    """``round(...)`` calls whose result feeds further arithmetic (``round(x, 2) * 100``, ``sum(round(v) ...)``)."""
    # A name is written as is or, outside ASCII, in a form that normalizes to it: ASCII code that
    # never writes ``round`` calls no round.
    if code.isascii() and "round" not in code:
        return []
    tree = parsed_code(code)
    if tree is None:
        return []
    rounds = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "round"
    ]
    if not rounds:
        return []
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    found = []
    for node in rounds:
        parent = parents.get(node)
        while parent is not None and not isinstance(parent, ast.stmt):
            if isinstance(parent, ast.BinOp):
                found.append(ast.get_source_segment(code, node) or "round(")
                break
            if (
                isinstance(parent, ast.Call)
                and isinstance(parent.func, ast.Name)
                and parent.func.id in _ARITHMETIC_CALLS
            ):
                found.append(ast.get_source_segment(code, node) or "round(")
                break
            parent = parents.get(parent)
    return found


def detect_intermediate_rounding(trajectory: Trajectory) -> list[Signal]:
    """Code that rounds a value and then keeps computing with it, so the rounding error propagates."""
    for step in trajectory.steps:
        if not is_action(step):
            continue
        sources = [step.code or ""] + [
            v
            for call in step.tool_calls
            for v in call.arguments.values()
            if isinstance(v, str) and "round(" in v
        ]
        for code in sources:
            for segment in _intermediate_rounds(code):
                if step.contains(segment):
                    return [
                        make_signal(
                            "intermediate_rounding",
                            step,
                            segment,
                            f"{segment} rounds an intermediate value that is then computed with further",
                        )
                    ]
    return []
