"""Functions over trajectories that the auditing agent has in scope (and the offline signals use).

They answer the questions an auditor asks of a task's rollouts: where does this text occur, which
numbers did the tools show and where, which sources did a rollout open, and which sources did the
correct siblings open that a failed one never did.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from memex_audit.reading import (
    NumberMention,
    TextCache,
    find_numbers,
    parsed_code,
    per_steps,
    per_trajectory,
    source_segment,
)
from memex_audit.trajectory import Step, Trajectory

_EXECUTOR = re.compile(r"terminal|executor|computer|interpreter|tool|environment", re.IGNORECASE)
_SEARCH_NAME = re.compile(r"search|query|find|lookup|grep|retriev|browse|visit|open_?page|web", re.IGNORECASE)
_SOURCE_LIKE = re.compile(r"^[\w./:#-]{3,160}$")
_SOURCE_MARK = re.compile(r"[\d./_#:-]")


@dataclass(frozen=True)
class StepHit:
    """A match of a search across trajectories.

    Attributes:
        trajectory_id: The trajectory.
        step: The step index.
        agent: The step's agent, if any.
        snippet: The matched text with some context, taken verbatim from the step.
    """

    trajectory_id: str
    step: int
    agent: str | None
    snippet: str


def search_steps(
    trajectories: Trajectory | Iterable[Trajectory], pattern: str, *, regex: bool = False, context: int = 60
) -> list[StepHit]:
    """Every occurrence of ``pattern`` (case-insensitive) in the steps of one or several trajectories.

    Args:
        trajectories: A trajectory, or several (e.g. a ``TaskGroup``).
        pattern: A substring, or a regular expression when ``regex`` is true.
        regex: Treat ``pattern`` as a regular expression.
        context: Characters of context either side of each match in the snippet.
    """
    items = [trajectories] if isinstance(trajectories, Trajectory) else list(trajectories)
    compiled = re.compile(pattern if regex else re.escape(pattern), re.IGNORECASE)
    hits = []
    for traj in items:
        for step in traj.steps:
            text = step.searchable_text()
            for match in compiled.finditer(text):
                lo, hi = max(0, match.start() - context), min(len(text), match.end() + context)
                hits.append(StepHit(traj.id, step.index, step.agent, text[lo:hi]))
    return hits


def is_observation(step: Step) -> bool:
    """Whether a step shows the agent what the world returned (a tool result, printed output, a terminal)."""
    if step.role == "tool" or step.output is not None or step.error is not None:
        return True
    return step.role == "user" and step.agent is not None and bool(_EXECUTOR.search(step.agent))


def is_action(step: Step) -> bool:
    """Whether a step is an agent acting (speaking, calling tools, running code), not the task or a tool."""
    if step.role == "assistant":
        return True
    if step.role != "user" or step.agent is None:
        return False
    return not _EXECUTOR.search(step.agent) and step.agent.casefold() not in ("human", "user")


def observation_text(step: Step) -> str:
    """The text of an observation step: its output and error, or its text when that is all there is."""
    parts = [p for p in (step.output, step.error) if p]
    if not parts and step.text:
        parts.append(step.text)
    return "\n".join(parts)


@dataclass(frozen=True)
class SeenNumber:
    """A number shown in a tool output: which step, and how it was written."""

    step: int
    mention: NumberMention


def numbers_in_outputs(trajectory: Trajectory) -> list[SeenNumber]:
    """Every number the trajectory's tool outputs (or printed observations) showed, in step order."""
    return list(_numbers_in_outputs(trajectory))


@per_trajectory
def _numbers_in_outputs(trajectory: Trajectory) -> tuple[SeenNumber, ...]:
    seen: list[SeenNumber] = []
    for step in trajectory.steps:
        if is_observation(step):
            seen.extend(SeenNumber(step.index, m) for m in find_numbers(observation_text(step)))
    return tuple(seen)


@dataclass(frozen=True)
class Call:
    """A call the trajectory made: a structured tool call, or a function call in a code block."""

    step: int
    name: str
    arguments: tuple[str, ...]
    """String and number arguments, as text."""
    text: str
    """How the call appears in the step (for evidence quotes)."""


def _code_calls(step: Step) -> list[Call]:
    return [Call(step.index, name, values, text) for name, values, text in _calls_in_code(step.code or "")]


_UNCALLED = {"print", "len", "str", "int", "float", "round", "submit"}
"""Builtins (and the answer tool) whose calls are not calls the trajectory made."""


def _find_code_calls(code: str) -> tuple[tuple[str, tuple[str, ...], str], ...]:
    """The calls written in ``code`` as (name, arguments, text), in the order they are written."""
    if "(" not in code:
        return ()  # no call is written without a parenthesis (most shell commands): no need to parse
    tree = parsed_code(code)
    if tree is None:
        return ()
    lines = code.splitlines()
    calls = []
    for node in _calls_in_tree(tree):
        func = node.func
        name = (
            func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        )
        if name is None or name in _UNCALLED:
            continue
        args = [a for a in [*node.args, *(k.value for k in node.keywords)] if isinstance(a, ast.Constant)]
        values = tuple(str(a.value) for a in args if isinstance(a.value, str | int | float))
        segment = source_segment(lines, node) or name
        calls.append((name, values, segment))
    calls.sort(key=lambda c: code.find(c[2]))
    return tuple(calls)


def _calls_in_tree(tree: ast.AST) -> list[ast.Call]:
    """The calls in ``tree`` in ``ast.walk`` order (breadth first), without its generator and deque.
    Subtrees that hold no call (names, constants, operators, contexts) are not entered: leaving them
    out keeps the order of the other nodes."""
    nodes = [tree]
    calls = []
    for node in nodes:  # the list grows while it is read: a queue
        if type(node) is ast.Call:
            calls.append(node)
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                nodes.extend(
                    item for item in value if isinstance(item, ast.AST) and type(item) not in _NO_CALLS
                )
            elif isinstance(value, ast.AST) and type(value) not in _NO_CALLS:
                nodes.append(value)
    return calls


_NO_CALLS = frozenset(
    {
        ast.Name,
        ast.Constant,
        ast.alias,
        *ast.expr_context.__subclasses__(),
        *ast.operator.__subclasses__(),
        *ast.unaryop.__subclasses__(),
        *ast.boolop.__subclasses__(),
        *ast.cmpop.__subclasses__(),
    }
)
"""Node types with no call below them."""


_calls_in_code = TextCache(_find_code_calls, max_chars=4 << 20)
"""The calls of recent code blocks: the same blocks are read again through the siblings of every
audit of a task."""


def calls_made(trajectory: Trajectory) -> list[Call]:
    """Every call the trajectory made, in order: tool calls, and calls written in code blocks."""
    return list(_calls_made(trajectory))


@per_steps
def _calls_made(trajectory: Trajectory) -> tuple[Call, ...]:
    calls: list[Call] = []
    for step in trajectory.steps:
        for tool_call in step.tool_calls:
            values = tuple(str(v) for v in tool_call.arguments.values() if isinstance(v, str | int | float))
            calls.append(Call(step.index, tool_call.name, values, tool_call.name))
        if step.code:
            calls.extend(_code_calls(step))
    return tuple(calls)


def is_search(call: Call) -> bool:
    """Whether a call looks like a search or a retrieval (by its name)."""
    return bool(_SEARCH_NAME.search(call.name))


def sources_used(trajectory: Trajectory) -> dict[str, int]:
    """The sources a trajectory opened (identifier-like call arguments: a file, a document id, a table
    name with a digit or separator), each with the first step that used it."""
    return dict(_sources_used(trajectory))


@per_steps
def _sources_used(trajectory: Trajectory) -> dict[str, int]:
    """``sources_used``, kept by the list of steps (read for every audit of a sibling); not to be
    modified."""
    found: dict[str, int] = {}
    for call in _calls_made(trajectory):
        for value in call.arguments:
            if _SOURCE_LIKE.match(value) and _SOURCE_MARK.search(value):
                found.setdefault(value, call.step)
    return found


@dataclass(frozen=True)
class SourceComparison:
    """Sources of a failed trajectory against those of its correct siblings.

    Attributes:
        missing: Sources most correct siblings opened that this trajectory never did.
        extra: Sources this trajectory opened that no correct sibling did, with the first step.
        correct_siblings: How many correct siblings were compared.
    """

    missing: list[str]
    extra: dict[str, int]
    correct_siblings: int


def compare_sources(target: Trajectory, siblings: Iterable[Trajectory]) -> SourceComparison:
    """Which sources the correct siblings used that ``target`` did not, and the other way round.

    A source counts as "used by the correct siblings" when at least half of them opened it.
    """
    correct = [s for s in siblings if s.success is True and s.id != target.id]
    mine = _sources_used(target)
    if not correct:
        return SourceComparison([], {}, 0)
    counts: Counter[str] = Counter()
    for sibling in correct:
        counts.update(_sources_used(sibling).keys())
    common = [s for s, n in counts.items() if n * 2 >= len(correct)]
    missing = [s for s in common if s not in mine]
    extra = {s: step for s, step in mine.items() if s not in counts}
    return SourceComparison(missing, extra, len(correct))
