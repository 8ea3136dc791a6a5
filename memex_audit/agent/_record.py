"""Recording an agent's run as a native ``Trajectory``, so it can be loaded and audited.

Everything recorded is made encodable on the way in: agent code can print a lone surrogate
(``print('\\ud800')``), which no JSON writer accepts, and one such character must not cost the
run its record. Such characters become U+FFFD (``safe_text``).

A step's ``output`` is recorded capped (``RECORDED_OUTPUT_LIMIT`` characters, its head and its tail
around a note of how much was cut), so a run that prints a lot does not make ``agent_runs.jsonl``
grow by as much; the model saw no more than the kernel's own bounded observation anyway.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, JsonValue

from memex_audit.kernel import safe_text
from memex_audit.trajectory import Step, ToolCall, Trajectory, Usage

T = TypeVar("T")

StopReason = Literal["submitted", "max_turns", "budget", "error"]

RECORDED_OUTPUT_LIMIT = 64_000
"""Characters of a step's output kept in the recorded run: 60% from the head, 40% from the tail."""


def capped_output(text: str, limit: int = RECORDED_OUTPUT_LIMIT) -> tuple[str, int]:
    """``text`` at most about ``limit`` characters (head and tail around a note), and how many were cut."""
    if len(text) <= limit:
        return text, 0
    head = limit * 3 // 5
    tail = limit - head
    cut = len(text) - head - tail
    note = (
        f"\n[... {cut:,} characters of this output are not recorded: it was {len(text):,} characters; "
        f"the recorded run keeps the first {head:,} and the last {tail:,} ...]\n"
    )
    return text[:head] + note + text[-tail:], cut


class RunResult(Generic[T]):
    """The outcome of ``Agent.run``.

    Attributes:
        output: The validated value passed to ``submit()``; ``None`` unless ``stop_reason`` is
            ``"submitted"``.
        trajectory: The run itself as a native trajectory (``harness="memex"`` or
            ``"tool_calling"``): model text, code, full observations, usage and cost per step.
        usage: Tokens and cost of this run's own model calls (sub-agents' are in their runs).
        turns: Model calls made.
        stop_reason: Why the run ended.
        error: What went wrong, when ``stop_reason`` is not ``"submitted"``.
        sub_runs: The trajectories of every sub-agent this run spawned, at any depth.
        replied_at: When the run's last model reply was received, when the client recorded it (a
            response cache does); ``None`` otherwise.
    """

    def __init__(
        self,
        *,
        output: T | None,
        trajectory: Trajectory,
        usage: Usage,
        turns: int,
        stop_reason: StopReason,
        error: str | None = None,
        sub_runs: list[Trajectory] | None = None,
        replied_at: datetime | None = None,
    ) -> None:
        self.replied_at = replied_at
        self.output = output
        self.trajectory = trajectory
        self.usage = usage
        self.turns = turns
        self.stop_reason = stop_reason
        self.error = error
        self.sub_runs = sub_runs or []

    @property
    def total_usage(self) -> Usage:
        """This run's usage plus every sub-agent's."""
        total = self.usage
        for run in self.sub_runs:
            total = total + run.usage
        return total

    def __repr__(self) -> str:
        return (
            f"RunResult(stop_reason={self.stop_reason!r}, turns={self.turns}, "
            f"tokens={self.usage.total_tokens}, output={self.output!r})"
        )


def task_id_for(task: str) -> str:
    """A stable id for a task text (runs of the same task group together)."""
    return "task-" + hashlib.sha1(task.encode("utf-8")).hexdigest()[:12]


def json_safe(value: Any) -> JsonValue:
    """``value`` as JSON data for the record (models dumped, unknown objects as their repr)."""
    if isinstance(value, BaseModel):
        dumped: JsonValue = json_safe(value.model_dump(mode="json"))
        return dumped
    if isinstance(value, str):
        return safe_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {safe_text(str(k)): json_safe(v) for k, v in value.items()}
    return safe_text(repr(value))


class RunRecorder:
    """Collects the steps of one run and builds its trajectory at the end."""

    def __init__(self, *, run_id: str, agent: str, harness: str, model: str, task: str) -> None:
        self.run_id = run_id
        self.agent = agent
        self.harness = harness
        self.model = model
        self.task = task
        self.steps: list[Step] = []

    def add(self, role: Literal["system", "user", "assistant", "tool"], **fields: Any) -> Step:
        for name, value in fields.items():
            if isinstance(value, str):
                fields[name] = safe_text(value)
            elif name == "metadata" and isinstance(value, dict):
                fields[name] = json_safe(value)
        if isinstance(fields.get("output"), str):
            fields["output"], cut = capped_output(fields["output"])
            if cut:
                metadata = dict(fields.get("metadata") or {})
                metadata["output_chars_not_recorded"] = cut
                fields["metadata"] = metadata
        step = Step(index=len(self.steps), role=role, agent=self.agent, **fields)
        self.steps.append(step)
        return step

    def assistant(
        self,
        *,
        text: str,
        usage: Usage,
        started_at: datetime,
        duration_s: float | None,
        code: str | None = None,
        output: str | None = None,
        error: str | None = None,
        tool_calls: list[ToolCall] | None = None,
        metadata: dict[str, JsonValue] | None = None,
        reasoning: str | None = None,
    ) -> Step:
        return self.add(
            "assistant",
            text=text or None,
            reasoning=reasoning or None,
            code=code,
            output=output,
            error=error,
            tool_calls=tool_calls or [],
            usage=usage,
            started_at=started_at,
            duration_s=duration_s,
            metadata=metadata or {},
        )

    def finish(
        self,
        *,
        output: Any,
        usage: Usage,
        stop_reason: StopReason,
        error: str | None,
        metadata: dict[str, JsonValue],
    ) -> Trajectory:
        submitted = json_safe(output) if stop_reason == "submitted" else None
        final_answer = None
        if stop_reason == "submitted":
            answer = getattr(output, "answer", None)
            if isinstance(output, BaseModel):
                final_answer = str(answer) if answer is not None else _model_json(output)
            else:
                final_answer = str(output)
            final_answer = safe_text(final_answer)
        return Trajectory(
            id=self.run_id,
            task_id=task_id_for(self.task),
            question=safe_text(self.task),
            submitted=submitted,
            final_answer=final_answer,
            harness=self.harness,
            model=self.model,
            steps=self.steps,
            usage=usage,
            metadata=json_safe({**metadata, "agent": self.agent, "stop_reason": stop_reason, "error": error}),
        )


def _model_json(model: BaseModel) -> str:
    try:
        return model.model_dump_json()
    except ValueError:  # a string pydantic cannot encode (a lone surrogate)
        return json.dumps(json_safe(model), ensure_ascii=False, separators=(",", ":"))


def now() -> datetime:
    """The current time, timezone-aware (steps record when they started)."""
    return datetime.now(UTC)
