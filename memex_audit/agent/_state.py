"""The state of one run, shared by the code loop and the tool-calling loop."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from memex_audit.agent._budget import Budget
from memex_audit.agent._capability import Capability
from memex_audit.agent._prompts import fill
from memex_audit.agent._record import RunRecorder, StopReason, now
from memex_audit.agent._settings import AgentSettings
from memex_audit.agent._validate import output_type_name, validate_submission
from memex_audit.errors import BudgetExceeded, ModelError
from memex_audit.llm import ChatMessage, LLMClient, LLMRequest, LLMResponse, estimate_request_tokens
from memex_audit.trajectory import Trajectory, Usage


class Stop(Exception):
    """Ends a run's loop with a reason (raised by the loops, caught by ``Agent``)."""

    def __init__(self, reason: StopReason, error: str | None = None, output: Any = None) -> None:
        super().__init__(error or reason)
        self.reason = reason
        self.error = error
        self.output = output


@dataclass
class RunState:
    """What one run works with (settings, model, output type, tools, capabilities) and everything
    it accumulates: record, usage, turns, failed submissions, sub-runs."""

    settings: AgentSettings
    model: LLMClient
    output_type: Any
    task: str
    scope: dict[str, Any]
    depth: int
    budget: Budget
    recorder: RunRecorder
    tools: Sequence[Callable[..., Any]] = ()
    capabilities: Sequence[Capability] = ()
    validation_context: Mapping[str, Any] | None = None
    usage: Usage = field(default_factory=Usage)
    turns: int = 0
    submit_failures: int = 0
    sub_runs: list[Trajectory] = field(default_factory=list)
    replied_at: datetime | None = None

    async def call_model(self, request: LLMRequest) -> LLMResponse:
        """One model call, charged to the run and the shared budget.

        Raises:
            Stop: The budget is spent, or the call failed (recorded as a step with the error).
        """
        if self.budget.exhausted:
            raise Stop("budget", f"budget spent before turn {self.turns + 1}: {self.budget.status()}")
        try:
            reserved = self.budget.reserve(request)
        except BudgetExceeded as exc:
            raise Stop("budget", f"budget would be passed at turn {self.turns + 1}: {exc}") from exc
        started_at, started = now(), time.perf_counter()
        try:
            response = await self.model.complete(request)
        except BudgetExceeded as exc:
            self.budget.settle(reserved, None)
            raise Stop("budget", str(exc)) from exc
        except ModelError as exc:
            self.budget.settle(reserved, None)
            self._record_failure(f"ModelError: {exc}", started_at, started)
            raise Stop("error", f"model call failed: {exc}") from exc
        except BaseException as exc:  # a policy function's bug ends this run, not the caller's work
            self.budget.settle(reserved, None)
            if not isinstance(exc, Exception):
                raise
            self._record_failure(f"{type(exc).__name__}: {exc}", started_at, started)
            raise Stop("error", f"model call failed: {type(exc).__name__}: {exc}") from exc
        self.turns += 1
        self.replied_at = response.received_at
        self.usage = self.usage + response.usage
        self.budget.settle(reserved, response.usage)
        return response

    def start_conversation(self, system: str, first: str) -> list[ChatMessage]:
        """Record the system prompt and the task message; returns the conversation so far."""
        self.recorder.add("system", text=system)
        self.recorder.add("user", text=first)
        return [ChatMessage(role="user", content=first)]

    def send_observation(
        self,
        system: str,
        messages: list[ChatMessage],
        observation: str,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Append ``observation`` and the context-status line to ``messages``; record it as a user step."""
        status = self.status_line(system, [*messages, ChatMessage(role="user", content=observation)])
        text = f"{observation}\n\n{status}"
        messages.append(ChatMessage(role="user", content=text))
        self.recorder.add("user", text=text, metadata=metadata if metadata is not None else {})

    def validate_submission(self, value: Any) -> tuple[Any, str | None]:
        """``value`` checked against the run's output type, with the run's validation context.

        Returns:
            The validated value and ``None``, or ``None`` and the errors (one line each).
        """
        return validate_submission(self.output_type, value, context=self.validation_context)

    def reject_submission(self, errors: str) -> tuple[str, bool]:
        """Count a rejected ``submit`` and word the rejection for the model.

        Args:
            errors: Why the value is not of the run's output type, one line each.

        Returns:
            The rejection message, and whether no attempt is left so the run must end.
        """
        self.submit_failures += 1
        # Attempts allowed: the first plus max_submit_retries retries.
        left = self.settings.max_submit_retries - self.submit_failures + 1
        rejection = fill(
            "submit_rejected",
            output_type=output_type_name(self.output_type),
            errors=errors,
            attempt=self.submit_failures,
            left=max(left, 0),
        )
        return rejection, left <= 0

    def _record_failure(self, error: str, started_at: Any, started: float) -> None:
        self.recorder.assistant(
            text="",
            usage=Usage(),
            started_at=started_at,
            duration_s=time.perf_counter() - started,
            error=error,
        )

    def status_line(self, system: str, messages: list[ChatMessage]) -> str:
        """The context-status line appended to each observation."""
        context = estimate_request_tokens(LLMRequest(system=system, messages=messages))
        memory = self.settings.memory
        line = fill(
            "status",
            turn=self.turns,
            max_turns=self.settings.max_turns,
            context=f"{context:,} of {memory.context_budget:,}" if memory is not None else f"{context:,}",
            spent=self.budget.status(),
        )
        extra = [text for capability in self.capabilities for text in capability.status_lines(context)]
        return "\n".join([line, *extra])
