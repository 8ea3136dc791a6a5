"""The functions an asking agent has in scope: views of the reading layer that cross to a kernel.

Each returns plain dataclasses, lists and models (no tuple-keyed dicts), so it works the same in the
in-process and the subprocess kernel, where tools run in the host and their results cross as JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import JsonValue

from memex_audit.reading import (
    answer_text,
    calls_with_results,
    coding_evidence,
    error_line,
    run_end,
    state_changes,
)
from memex_audit.trajectory import Trajectory

_OUTPUT_EXCERPT = 300


@dataclass(frozen=True)
class StepHit:
    """A match of ``search_steps``.

    Attributes:
        step: The step index.
        role: The step's role.
        agent: The step's agent, if any.
        snippet: The matched text with some context, taken verbatim from the step (quotable).
    """

    step: int
    role: str
    agent: str | None
    snippet: str


def search_steps(
    trajectory: Trajectory, pattern: str, *, regex: bool = False, context: int = 60
) -> list[StepHit]:
    """Every occurrence of ``pattern`` (case-insensitive) in the steps of ``trajectory``: its text,
    reasoning, code, tool calls, output and error.

    Args:
        trajectory: The trajectory to search.
        pattern: A substring, or a regular expression when ``regex`` is true.
        regex: Treat ``pattern`` as a regular expression.
        context: Characters of context either side of each match in the snippet.
    """
    compiled = re.compile(pattern if regex else re.escape(pattern), re.IGNORECASE)
    hits = []
    for step in trajectory.steps:
        text = step.searchable_text()
        for match in compiled.finditer(text):
            lo, hi = max(0, match.start() - context), min(len(text), match.end() + context)
            hits.append(StepHit(step.index, step.role, step.agent, text[lo:hi]))
    return hits


@dataclass(frozen=True)
class CallResult:
    """A tool call and its result, paired by ``memex_audit.reading.call_results``.

    Attributes:
        step: The step that made the call.
        position: Its position among that step's calls.
        name: The tool.
        arguments: The arguments, as called.
        result_step: The step holding the result (``None`` when there was none).
        output: The start of the result's output (the whole of it is ``target.steps[result_step].output``).
        error: The line that shows the call failed (judged by the output's structure), else ``None``.
    """

    step: int
    position: int
    name: str
    arguments: dict[str, JsonValue]
    result_step: int | None
    output: str | None
    error: str | None


def tool_calls(trajectory: Trajectory) -> list[CallResult]:
    """Every tool call of ``trajectory`` in order, with its result step, output excerpt and error line."""
    out = []
    position: dict[int, int] = {}
    for step, call, result in calls_with_results(trajectory):
        pos = position[step.index] = position.get(step.index, -1) + 1
        text = result.output if result is not None else None
        out.append(
            CallResult(
                step=step.index,
                position=pos,
                name=call.name,
                arguments=dict(call.arguments),
                result_step=result.index if result is not None else None,
                output=text[:_OUTPUT_EXCERPT] if text is not None else None,
                error=error_line(result) if result is not None else None,
            )
        )
    return out


def failed_steps(trajectory: Trajectory) -> list[int]:
    """The steps whose output reports an error, judged by its structure (a traceback, a non-zero
    return code, an error flag...), in order."""
    return [
        step.index
        for step in trajectory.steps
        if (step.output is not None or step.error is not None) and error_line(step) is not None
    ]


ASK_TOOLS = (
    search_steps,
    tool_calls,
    failed_steps,
    error_line,
    answer_text,
    state_changes,
    coding_evidence,
    run_end,
)
"""The functions in an asking agent's scope."""
