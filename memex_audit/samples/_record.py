"""Recording a scripted rollout as steps, with plausible tokens, cost and timing.

Every assistant step is one model call: its input is the whole context so far (the earlier part
read from the provider's prefix cache), its output is what the step shows plus some hidden
thinking. Latency grows with both. Tool time is added to the step that ran the tool. The clock
starts at a time drawn from the rollout's own seeded generator, never from the wall clock.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from memex_audit.trajectory import Role, Step, Usage

MODEL = "qwen-3.6-27b"
"""The model the sample solvers stand for."""

PRICES_PER_MTOK: dict[str, tuple[float, float, float]] = {MODEL: (0.20, 0.05, 0.80)}
"""Illustrative prices in USD per million tokens: input, cached input, output."""

EPOCH = datetime(2026, 4, 6, 8, 0, tzinfo=UTC)


def count_tokens(text: str | None) -> int:
    """A rough token count (about 3.6 characters per token for this kind of text)."""
    return 0 if not text else max(1, round(len(text) / 3.6))


class Recorder:
    """Builds the steps of one rollout, keeping the context size, the clock and the costs."""

    def __init__(self, rng: random.Random, *, model: str = MODEL, day_offset: int = 0) -> None:
        self.rng = rng
        self.model = model
        self.steps: list[Step] = []
        self.context = 0
        self._cached = 0
        seconds = day_offset * 86400 + rng.randrange(0, 10 * 3600)
        self.clock = EPOCH + timedelta(seconds=seconds, milliseconds=rng.randrange(1000))

    @property
    def started_at(self) -> datetime:
        return self.steps[0].started_at if self.steps and self.steps[0].started_at else self.clock

    def message(self, role: Role, text: str) -> int:
        """A system or user message: it enters the context, costs no model call."""
        return self._append(Step(index=len(self.steps), role=role, text=text), shown=text, duration=None)

    def assistant(
        self,
        *,
        text: str | None = None,
        code: str | None = None,
        output: str | None = None,
        tool_calls: list[Any] | None = None,
        tool_s: float = 0.0,
        thinking: tuple[int, int] = (40, 420),
    ) -> int:
        """One model call producing ``text``/``code``/``tool_calls``; ``output`` is what the code printed."""
        written = "\n".join(p for p in (text, code) if p)
        for call in tool_calls or []:
            written += f"\n{call.name}({call.arguments})"
        out_tokens = count_tokens(written) + self.rng.randint(*thinking)
        in_tokens = self.context
        cached = min(self._cached, in_tokens)
        price_in, price_cached, price_out = PRICES_PER_MTOK.get(self.model, (0.0, 0.0, 0.0))
        cost = ((in_tokens - cached) * price_in + cached * price_cached + out_tokens * price_out) / 1e6
        latency = 0.35 + in_tokens / 9000 + out_tokens / self.rng.uniform(42.0, 58.0)
        usage = Usage(
            input_tokens=in_tokens,
            output_tokens=out_tokens,
            cache_read_tokens=cached,
            cost_usd=round(cost, 7),
        )
        step = Step(
            index=len(self.steps),
            role="assistant",
            text=text,
            code=code,
            output=output,
            tool_calls=tool_calls or [],
            usage=usage,
        )
        self._cached = in_tokens
        shown = written + ("\n" + output if output else "")
        return self._append(step, shown=shown, duration=latency + tool_s)

    def tool(self, call_id: str, name: str, output: str, *, seconds: float) -> int:
        """A tool result answering call ``call_id``."""
        step = Step(index=len(self.steps), role="tool", tool_call_id=call_id, tool_name=name, output=output)
        return self._append(step, shown=output, duration=seconds)

    def _append(self, step: Step, *, shown: str, duration: float | None) -> int:
        step.started_at = self.clock
        if duration is not None:
            step.duration_s = round(duration, 3)
            self.clock += timedelta(milliseconds=round(duration * 1000))
        self.context += count_tokens(shown)
        self.steps.append(step)
        return step.index

    def total_usage(self) -> Usage:
        """The sum of the steps' usage (cost rounded to a tenth of a micro-dollar)."""
        total = Usage(cost_usd=0.0)
        for step in self.steps:
            if step.usage is not None:
                total = total + step.usage
        return total.model_copy(update={"cost_usd": round(total.cost_usd or 0.0, 7)})

    def tool_seconds(self, name: str) -> float:
        """How long a tool takes to answer, by kind of tool."""
        low, high = {
            "search": (0.25, 1.1),
            "open_document": (0.08, 0.35),
            "read_table": (0.05, 0.4),
            "python_exec": (0.03, 0.25),
        }.get(name, (0.05, 0.3))
        return self.rng.uniform(low, high)
