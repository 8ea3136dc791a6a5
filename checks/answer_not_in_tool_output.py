"""An answer whose numbers (or whose text, for a short answer to a question) no tool output or user turn shows."""

from __future__ import annotations

from memex_audit.checks import Finding, check
from memex_audit.reading import answer_text, find_numbers, same_value, submitted_patch
from memex_audit.trajectory import Trajectory

SHORT = 60
"""A text answer longer than this is prose: whether a tool output supports it is not checked."""


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


@check(description="The answer states numbers (or a short text) that no tool output or user turn shows.")
def answer_not_in_tool_output(trajectory: Trajectory) -> Finding | None:
    answer = answer_text(trajectory)
    if not answer or not answer.strip() or submitted_patch(trajectory) is not None:
        return None
    outputs = [o.text for o in trajectory.tool_outputs() if o.text]
    if not outputs:  # no tools used: nothing to hold the answer against
        return None
    sources = outputs + [s.text for s in trajectory.steps if s.role in ("user", "system") and s.text]
    where = next(
        (s for s in reversed(trajectory.steps) if s.role == "assistant" and s.contains(answer)), None
    )
    numbers = [m for m in find_numbers(answer) if len(m.digits) > 1]
    if numbers:
        seen = [m.value for text in sources for m in find_numbers(text)]
        missing = [m for m in numbers if not any(same_value(m.value, v) for v in seen)]
        if not missing:
            return None
        shown = ", ".join(m.text for m in missing[:5])
        note = f"{shown} appear{'s' if len(missing) == 1 else ''} in no tool output or user turn (computed or invented)"
        quote = missing[0].text
    elif len(answer.strip()) <= SHORT and isinstance(trajectory.ground_truth, str | int | float):
        # A short text answer is held against the outputs only in a question-answer task (one
        # whose reference is a value): a conversation's closing message is not an answer.
        if any(_squash(answer) in _squash(text) for text in sources):
            return None
        note = "the answer appears in no tool output or user turn"
        quote = answer.strip()
    else:
        return None
    if where is None or not where.contains(quote):
        return Finding(
            label="answer_not_in_tool_output", note=f"{note}; the answer is {answer.strip()[:120]!r}"
        )
    return Finding(label="answer_not_in_tool_output", step=where.index, quote=quote, note=note)
