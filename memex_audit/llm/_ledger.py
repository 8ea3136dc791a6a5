"""Token and cost accounting per model across many calls, agents and threads."""

from __future__ import annotations

import threading

from pydantic import BaseModel, ConfigDict, Field

from memex_audit.llm._types import LLMResponse
from memex_audit.trajectory import Usage


class ModelUsage(BaseModel):
    """What one model consumed: calls, replies served from the response cache, tokens and cost."""

    model_config = ConfigDict(extra="forbid")

    model: str
    calls: int = 0
    cached_calls: int = 0
    usage: Usage = Field(default_factory=Usage)


class UsageLedger:
    """Sums ``Usage`` per model; safe to share between threads and concurrent tasks.

    Real clients record every call into the ledger they were given (``ledger=``); any code can
    also ``record`` responses itself. Costs add up as ``Usage.__add__`` does: ``None`` only when
    no call of the model had a known cost.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_model: dict[str, ModelUsage] = {}

    def record(self, response: LLMResponse) -> None:
        """Add one response's usage under its model."""
        self.add(response.model, response.usage, cached=response.cached)

    def add(self, model: str, usage: Usage, *, cached: bool = False) -> None:
        """Add ``usage`` of one call of ``model``."""
        with self._lock:
            entry = self._by_model.get(model)
            if entry is None:
                entry = self._by_model[model] = ModelUsage(model=model)
            entry.calls += 1
            entry.cached_calls += int(cached)
            entry.usage = entry.usage + usage

    def by_model(self) -> dict[str, ModelUsage]:
        """A snapshot: model name to its totals, in the order models were first seen."""
        with self._lock:
            return {name: entry.model_copy(deep=True) for name, entry in self._by_model.items()}

    def total(self) -> Usage:
        """Totals over every model."""
        total = Usage()
        for entry in self.by_model().values():
            total = total + entry.usage
        return total
