"""The canonical trajectory models.

One ``Trajectory`` holds one rollout of one task, whatever harness produced it:

* MemEx-style runs: assistant steps carry ``code`` and the printed ``output`` of running it
  (a notebook cell and its result); the structured value passed to ``submit()`` is ``submitted``.
* JSON tool-calling runs: assistant steps carry ``tool_calls``; each result is a ``tool`` step whose
  ``tool_call_id`` links it to the call and whose ``output`` is the tool's text.
* Multi-agent conversations: every step names its ``agent``.

These models are canonical (``extra="forbid"``): adapters for foreign formats put whatever they do
not map into ``metadata`` so nothing is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

SCHEMA_VERSION = "1.0"
"""Version of the native trajectory format; files carry it and are upgraded on read."""

Role = Literal["system", "user", "assistant", "tool"]


class _Canonical(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class Usage(_Canonical):
    """Token counts and cost of one model call, a step, or a whole run."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float | None = None

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens (cache reads and writes are part of the input)."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        cost: float | None
        if self.cost_usd is None and other.cost_usd is None:
            cost = None
        else:
            cost = (self.cost_usd or 0.0) + (other.cost_usd or 0.0)
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            cost_usd=cost,
        )


class ToolCall(_Canonical):
    """A tool call an assistant step made.

    ``arguments`` holds the parsed arguments; when the model produced arguments that are not a
    JSON object, ``arguments`` is empty and the text is kept in ``arguments_raw``.
    """

    id: str | None = None
    name: str
    arguments: dict[str, JsonValue] = Field(default_factory=dict)
    arguments_raw: str | None = None


class Step(_Canonical):
    """One message or action in a trajectory.

    Attributes:
        index: Position in ``Trajectory.steps`` (0-based); evidence cites it.
        role: ``system``, ``user``, ``assistant`` or ``tool``.
        agent: Name of the agent that produced the step (multi-agent runs).
        text: Message text (for a user step in a MemEx run, the observation as the model saw it).
        reasoning: Thinking or reasoning text, when the harness recorded it apart from ``text``.
        code: A code block the step ran (MemEx-style and code-action agents).
        tool_calls: Structured tool calls made by an assistant step.
        tool_call_id: For a ``tool`` step, the id of the call it answers.
        tool_name: For a ``tool`` step, the name of the tool that produced ``output``.
        output: What running ``code`` printed, or a tool's result: raw and unbounded.
        error: An error raised by the code or reported by the tool.
        usage: Tokens and cost of the model call that produced the step.
        started_at: When the step started, when recorded.
        duration_s: How long the step took (model latency or tool time), in seconds.
        metadata: Fields of the source record that have no place above.
    """

    index: int
    role: Role
    agent: str | None = None
    text: str | None = None
    reasoning: str | None = None
    code: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    tool_name: str | None = None
    output: str | None = None
    error: str | None = None
    usage: Usage | None = None
    started_at: datetime | None = None
    duration_s: float | None = None
    metadata: dict[str, JsonValue] = Field(default_factory=dict)

    def searchable_text(self) -> str:
        """All the text of the step that a search or an evidence quote can match, joined by newlines."""
        parts = [p for p in (self.text, self.reasoning, self.code, self.output, self.error) if p]
        for call in self.tool_calls:
            parts.append(call.name)
            if call.arguments:
                parts.append(_compact_json(call.arguments))
            if call.arguments_raw:
                parts.append(call.arguments_raw)
        return "\n".join(parts)

    def contains(self, quote: str) -> bool:
        """Whether ``quote`` occurs verbatim in the step (whitespace runs compared as one space)."""
        if not quote:
            return False
        return _squash(quote) in _squash(self.searchable_text())


class Outcome(_Canonical):
    """How the rollout was graded. Any of the three may be missing."""

    correct: bool | None = None
    score: float | None = None
    reward: float | None = None
    details: dict[str, JsonValue] = Field(default_factory=dict)

    @property
    def success(self) -> bool | None:
        """``correct`` when known; otherwise a full reward or score counts as success."""
        if self.correct is not None:
            return self.correct
        for value in (self.reward, self.score):
            if value is not None:
                return value >= 1.0 - 1e-9
        return None


class HumanLabel(_Canonical):
    """A label a person (or a dataset) attached to the trajectory: what failed, where, and why.

    Auditors never see these: they are stripped before a trajectory enters an agent's scope.
    """

    category: str | None = None
    taxonomy: str | None = None
    faulty_step: int | None = None
    faulty_agent: str | None = None
    reason: str | None = None
    annotator: str | None = None
    metadata: dict[str, JsonValue] = Field(default_factory=dict)


class Source(_Canonical):
    """Where a trajectory was read from, so the original record stays reachable."""

    file: str | None = None
    format: str | None = None
    line: int | None = None
    """1-based line for line-oriented files."""
    position: int | None = None
    """0-based position of the record in a file that holds several (a list, a results file)."""


class ToolOutput(BaseModel):
    """A tool output or printed observation, as ``Trajectory.tool_outputs()`` yields it."""

    model_config = ConfigDict(frozen=True)

    step: int
    name: str | None
    text: str
    error: str | None = None


class Trajectory(_Canonical):
    """One rollout of one task, in memex_audit's native schema.

    Attributes:
        schema_version: Version of the native format.
        id: Unique id of the rollout.
        task_id: Id of the task; rollouts of one task share it and form a ``TaskGroup``.
        question: The task as posed to the agent.
        ground_truth: The reference answer (a string, number, or structure such as gold actions).
        final_answer: The answer the rollout gave, as text.
        submitted: The structured value a MemEx run passed to ``submit()``.
        outcome: Grading: correct flag, score, reward.
        harness: The agent harness or action space (``memex``, ``tool_calling``, ``tau2``...).
        model: The model that drove the rollout.
        steps: The steps, in order; ``steps[i].index == i``.
        usage: Totals for the whole rollout.
        labels: Human labels carried by the data (never shown to auditors).
        metadata: Anything else the source carried.
        source: Where the trajectory was read from.
    """

    schema_version: str = SCHEMA_VERSION
    id: str
    task_id: str
    question: str | None = None
    ground_truth: JsonValue = None
    final_answer: str | None = None
    submitted: JsonValue = None
    outcome: Outcome = Field(default_factory=Outcome)
    harness: str | None = None
    model: str | None = None
    steps: list[Step] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    labels: list[HumanLabel] = Field(default_factory=list)
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    source: Source | None = None

    # -- views ---------------------------------------------------------------------------------

    @property
    def success(self) -> bool | None:
        """Whether the rollout succeeded, when its outcome says so."""
        return self.outcome.success

    @property
    def failed(self) -> bool:
        """True when the outcome says the rollout did not succeed."""
        return self.outcome.success is False

    @property
    def agents(self) -> list[str]:
        """Names of the agents that took part, in order of first appearance."""
        seen: dict[str, None] = {}
        for step in self.steps:
            if step.agent:
                seen.setdefault(step.agent, None)
        return list(seen)

    def tool_outputs(self) -> Iterator[ToolOutput]:
        """Every tool output or printed observation, with the step it belongs to."""
        names_by_call = {
            call.id: call.name for step in self.steps for call in step.tool_calls if call.id is not None
        }
        for step in self.steps:
            if step.output is None and step.error is None:
                continue
            name = step.tool_name
            if name is None and step.tool_call_id is not None:
                name = names_by_call.get(step.tool_call_id)
            if name is None and step.code is not None:
                name = "python"
            yield ToolOutput(step=step.index, name=name, text=step.output or "", error=step.error)

    def tool_calls(self) -> Iterator[tuple[int, ToolCall]]:
        """Every structured tool call with the index of the step that made it."""
        for step in self.steps:
            for call in step.tool_calls:
                yield step.index, call

    def search(
        self,
        pattern: str,
        *,
        regex: bool = False,
        case_sensitive: bool = False,
        roles: set[str] | None = None,
    ) -> list[int]:
        """Indices of the steps whose text, code, tool calls or outputs match ``pattern``.

        Args:
            pattern: A substring, or a regular expression when ``regex`` is true.
            regex: Treat ``pattern`` as a regular expression.
            case_sensitive: Match case exactly.
            roles: Only look at steps with these roles.
        """
        flags = 0 if case_sensitive else re.IGNORECASE
        compiled = re.compile(pattern if regex else re.escape(pattern), flags)
        return [
            step.index
            for step in self.steps
            if (roles is None or step.role in roles) and compiled.search(step.searchable_text())
        ]

    def total_usage(self) -> Usage:
        """``usage`` when it was recorded, else the sum of the steps' usage."""
        if self.usage.total_tokens or self.usage.cost_usd is not None:
            return self.usage
        total = Usage()
        for step in self.steps:
            if step.usage is not None:
                total = total + step.usage
        return total

    def without_labels(self) -> Trajectory:
        """A copy with the human labels removed, as an auditor must see it."""
        return self.model_copy(update={"labels": []})

    def to_polars(self) -> pl.DataFrame:
        """The steps as a polars frame, one row per step."""
        from memex_audit.trajectory._frames import steps_frame

        return steps_frame([self])

    def to_pandas(self) -> pd.DataFrame:
        """The steps as a pandas frame, one row per step."""
        return self.to_polars().to_pandas()

    def summary_line(self) -> str:
        """One line naming the rollout: id, task, model, harness, outcome, steps."""
        ok = {True: "correct", False: "failed", None: "ungraded"}[self.success]
        return (
            f"{self.id} task={self.task_id} model={self.model} harness={self.harness} "
            f"{ok} steps={len(self.steps)}"
        )


def _squash(text: str) -> str:
    return " ".join(text.split())


def _compact_json(value: Any) -> str:
    import orjson

    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
