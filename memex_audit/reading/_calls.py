"""Tool calls and what came back: call ↔ result pairing, error outputs, state changes, the answer.

Both stock agents read trajectories through these functions, so they agree on what a rollout did.
An output is an error only when its structure says so (the tool's error flag or a non-zero return
code, an exception type opening a line after a traceback header, an error object), never because
an error-like word occurs in code, a diff or a source listing the tool printed successfully.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import orjson
from pydantic import BaseModel, ConfigDict

from memex_audit.reading._memo import memo_by_identity, per_trajectory
from memex_audit.trajectory import Step, ToolCall, Trajectory

DEFAULT_READ_ONLY_PATTERNS: tuple[str, ...] = (
    r"^(get|list|search|find|lookup|read|fetch|query|check|calculate|compute|think|view|show|describe)(_|$)",
    r"^transfer_to_human",
)
"""Tool names matching one of these (case-insensitively) do not change the environment's state.

A hand-off to a person changes no record: it is recognised apart, by ``is_handoff``."""

_HANDOFF = re.compile(r"transfer|escalat|hand_?off", re.IGNORECASE)


class ToolConfig(BaseModel):
    """Which tools change state.

    Attributes:
        read_only_patterns: Regular expressions for read-only tool names.
        read_only: Tool names that are read-only whatever their name.
        state_changing: Tool names that change state whatever the patterns say.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    read_only_patterns: tuple[str, ...] = DEFAULT_READ_ONLY_PATTERNS
    read_only: frozenset[str] = frozenset()
    state_changing: frozenset[str] = frozenset()


DEFAULT_TOOLS = ToolConfig()


def is_read_only(
    name: str,
    patterns: Sequence[str] = DEFAULT_READ_ONLY_PATTERNS,
    read_only: frozenset[str] = frozenset(),
    state_changing: frozenset[str] = frozenset(),
) -> bool:
    """Whether a tool leaves the environment's state unchanged (lists first, then patterns)."""
    if name in state_changing:
        return False
    if name in read_only:
        return True
    return _matches_any(tuple(patterns), name)


@functools.lru_cache(maxsize=4096)
def _matches_any(patterns: tuple[str, ...], name: str) -> bool:
    return any(re.search(p, name, re.IGNORECASE) for p in patterns)


def is_state_changing(name: str, config: ToolConfig | None = None) -> bool:
    """Whether a call to the tool ``name`` changes the environment's state (a write, not a read)."""
    cfg = config or DEFAULT_TOOLS
    return not is_read_only(name, cfg.read_only_patterns, cfg.read_only, cfg.state_changing)


def is_handoff(name: str) -> bool:
    """Whether a tool hands the conversation to a person or another agent."""
    return bool(_HANDOFF.search(name))


# -- calls and their results ---------------------------------------------------------------------


def call_results(trajectory: Trajectory) -> dict[tuple[int, int], Step]:
    """The result step of each tool call, keyed by (step of the call, position among its calls).

    Results are linked by ``tool_call_id`` (or an ``id`` kept in the result's metadata); results
    without one are matched, in order, to the calls of the assistant step before them.
    """
    return _call_results(trajectory)


@per_trajectory
def _call_results(trajectory: Trajectory) -> dict[tuple[int, int], Step]:
    by_call_id: dict[str, tuple[int, int]] = {}
    pending: list[tuple[int, int]] = []
    results: dict[tuple[int, int], Step] = {}
    for step in trajectory.steps:
        if step.tool_calls:
            pending = []
            for pos, call in enumerate(step.tool_calls):
                if call.id is not None:
                    by_call_id[call.id] = (step.index, pos)
                pending.append((step.index, pos))
            continue
        if step.role != "tool":
            continue
        link = step.tool_call_id or step.metadata.get("tool_call_id") or step.metadata.get("id")
        slot = by_call_id.get(link) if isinstance(link, str) else None
        if slot is None and pending:
            slot = pending[0]
        if slot is not None:
            results[slot] = step
            if slot in pending:
                pending.remove(slot)
    return results


def calls_with_results(trajectory: Trajectory) -> list[tuple[Step, ToolCall, Step | None]]:
    """Every tool call in order, with the step that made it and its result step (``None`` if none)."""
    results = call_results(trajectory)
    return [
        (step, call, results.get((step.index, pos)))
        for step in trajectory.steps
        for pos, call in enumerate(step.tool_calls)
    ]


def failed_calls(trajectory: Trajectory) -> set[tuple[int, int]]:
    """The tool calls, as (step, position), whose result is an error (see ``is_error_output``)."""
    return {slot for slot, step in call_results(trajectory).items() if is_error_output(step)}


# -- errors judged by structure ------------------------------------------------------------------

_FIRST_LINE_ERROR = re.compile(
    r"^(?:error\b|exception\b|fatal\b|[A-Za-z_][\w.]*(?:Error|Exception)\b:?|"
    r"HTTP(?:/\d(?:\.\d)?)? [45]\d\d\b|(?:status|status code):? [45]\d\d\b|exitcode: [1-9]\d*)",
    re.IGNORECASE,
)
_SHORT_REPORT = re.compile(
    r"\b(timed? ?out|failed|failure|refused|unavailable|denied|invalid|exceeded|not allowed)\b", re.IGNORECASE
)
"""Words that make a short one-line output (a message, not data) an error report."""
_TRACEBACK = "Traceback (most recent call last):"
"""A traceback's header, which opens a line."""
_EXCEPTION_LINE = re.compile(
    r"^(?:[A-Za-z_][\w.]*\.)?[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Warning)\b.*$", re.MULTILINE
)
_EXITCODE_LINE = re.compile(r"^exitcode: [1-9]\d*.*$", re.MULTILINE)
_RETURNCODE_TAG = re.compile(r"^\s*<returncode>\s*(-?\d+)\s*</returncode>")
_OUTPUT_END = "</output>"
_OUTPUT_TAG = re.compile(r"^\s*<returncode>.*?</returncode>\s*(?:<output>\s*)?", re.DOTALL)


def return_code(step: Step) -> int | None:
    """The exit status a command's result reports (kept by the adapter or written as a tag)."""
    code = step.metadata.get("returncode", step.metadata.get("exit_code"))
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    match = _RETURNCODE_TAG.match(step.output or "")
    return int(match.group(1)) if match else None


def output_body(step: Step, text: str | None = None) -> str:
    """What a tool printed (``text`` when given, else the step's output), without the harness's
    wrapping (``<returncode>``/``<output>`` tags)."""
    text = (step.output or "") if text is None else text
    match = _OUTPUT_TAG.match(text)
    if match:
        text = text[match.end() :]
        # A closing tag with only whitespace around it at the end goes, the whitespace with it (what
        # ``re.sub(r"\s*</output>\s*$", "", text)`` does, without trying the pattern at every space).
        rest = text.rstrip()
        if rest.endswith(_OUTPUT_END):
            text = rest[: -len(_OUTPUT_END)].rstrip()
    return text


def error_line(step: Step, text: str | None = None) -> str | None:
    """The line of a result step that shows it failed, or ``None`` when it did not fail.

    Judged by structure: a non-zero return code (the exception line of a traceback it printed, else
    its last line), the tool's error flag, a first line that is an error report, or a traceback
    header followed by a line that opens with an exception type. A successful ``cat`` of code that
    contains ``except ValueError:`` or a passing test run that names a ``timeout`` plugin is not an
    error. ``text`` replaces the step's output where an observation is written elsewhere (an
    executor agent's message).
    """
    # Several readings judge the same result (state changes, failed calls, tool errors): the line
    # is kept with the step, for each text it was judged by.
    return _error_line(step, (step.output or "") if text is None else text)


@memo_by_identity
def _error_line(step: Step, text: str) -> str | None:
    body = output_body(step, text)
    code = return_code(step)
    if code is not None:
        if code == 0:
            return None
        return _exception_line(body) or _last_line(body) or f"return code {code}"
    first = _first_line(body)
    if first and _FIRST_LINE_ERROR.match(first):
        return first[:200]
    if first and len(body) <= 300 and body.count("\n") <= 2 and _SHORT_REPORT.search(first):
        return first[:200]
    if first.startswith("{"):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict) and data.get("error"):
            return first[:200]
    traced = _exception_line(body)
    if traced is not None:
        return traced
    exit_line = _EXITCODE_LINE.search(body) if "exitcode: " in body else None
    if exit_line is not None:
        return exit_line.group(0).strip()[:200]
    if step.error:
        return _first_line(step.error)[:200] or "error"
    return None


def is_error_output(step: Step) -> bool:
    """Whether a tool result step reports an error (see ``error_line``)."""
    return error_line(step) is not None


def is_error_text(text: str) -> bool:
    """Whether a bare tool output (no step around it) reads as an error report by its structure."""
    return error_line(Step(index=0, role="tool", output=text)) is not None


def _exception_line(body: str) -> str | None:
    end = _traceback_end(body)
    if end is None:
        return None
    last = None
    for match in _EXCEPTION_LINE.finditer(body, end):
        last = match
    return last.group(0).strip()[:200] if last else None


def _traceback_end(body: str) -> int | None:
    """Where the first traceback header that opens a line ends (what ``re.search`` of the header
    after ``^`` in multiline mode finds, with a plain string search)."""
    at = body.find(_TRACEBACK)
    while at > 0 and body[at - 1] != "\n":
        at = body.find(_TRACEBACK, at + 1)
    return None if at < 0 else at + len(_TRACEBACK)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _last_line(text: str) -> str:
    for line in reversed(text.splitlines()):
        if line.strip():
            return line.strip()[:200]
    return ""


# -- the answer ----------------------------------------------------------------------------------

_ANSWER_FIELDS = ("answer", "final_answer", "value", "result")


def answer_text(trajectory: Trajectory) -> str | None:
    """The rollout's answer as text: ``final_answer``, else the value it submitted.

    A submitted object answers through its ``answer``/``final_answer``/``value``/``result`` field
    when it has one; any other JSON value is its own answer, written as compact JSON.
    """
    if trajectory.final_answer is not None and trajectory.final_answer.strip():
        return trajectory.final_answer
    submitted = trajectory.submitted
    if submitted is None:
        return None
    if isinstance(submitted, dict):
        for field in _ANSWER_FIELDS:
            if field in submitted and submitted[field] is not None:
                inner = submitted[field]
                return inner if isinstance(inner, str) else orjson.dumps(inner).decode()
    return submitted if isinstance(submitted, str) else orjson.dumps(submitted).decode()
