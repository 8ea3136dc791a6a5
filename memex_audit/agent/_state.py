"""The state of one run, shared by the code loop and the tool-calling loop."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from memex_audit.agent._budget import Budget
from memex_audit.agent._prompts import fill
from memex_audit.agent._record import RunRecorder, StopReason, now
from memex_audit.agent._validate import output_type_name
from memex_audit.errors import BudgetExceeded, ModelError
from memex_audit.llm import ChatMessage, LLMRequest, LLMResponse, estimate_request_tokens
from memex_audit.trajectory import Trajectory, Usage

if TYPE_CHECKING:
    from memex_audit.agent._agent import Agent
    from memex_audit.agent._run_memory import RunMemory


class Stop(Exception):
    """Ends a run's loop with a reason (raised by the loops, caught by ``Agent``)."""

    def __init__(self, reason: StopReason, error: str | None = None, output: Any = None) -> None:
        super().__init__(error or reason)
        self.reason = reason
        self.error = error
        self.output = output


@dataclass
class RunState:
    """Everything one run accumulates: record, usage, turns, failed submissions, sub-runs."""

    agent: Agent[Any]
    task: str
    scope: dict[str, Any]
    depth: int
    budget: Budget
    recorder: RunRecorder
    usage: Usage = field(default_factory=Usage)
    turns: int = 0
    submit_failures: int = 0
    sub_runs: list[Trajectory] = field(default_factory=list)
    memory: RunMemory | None = None
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
            response = await self.agent.model.complete(request)
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

    def reject_submission(self, errors: str) -> tuple[str, bool]:
        """Count a rejected ``submit`` and word the rejection for the model.

        Args:
            errors: Why the value is not of the run's output type, one line each.

        Returns:
            The rejection message, and whether no attempt is left so the run must end.
        """
        self.submit_failures += 1
        # Attempts allowed: the first plus max_submit_retries retries.
        left = self.agent.max_submit_retries - self.submit_failures + 1
        rejection = fill(
            "submit_rejected",
            output_type=output_type_name(self.agent.output_type),
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
        line = fill(
            "status",
            turn=self.turns,
            max_turns=self.agent.max_turns,
            context=self.memory.context_text(context) if self.memory is not None else f"{context:,}",
            spent=self.budget.status(),
        )
        extra = self.memory.status_lines() if self.memory is not None else ""
        return f"{line}\n{extra}" if extra else line
