"""One token and cost budget shared by a run and all its sub-agents."""

from __future__ import annotations

import threading

from memex_audit.trajectory import Usage


class Budget:
    """Tokens and dollars a run may spend, shared by every agent it spawns.

    A run checks the budget before each model call and stops with ``stop_reason="budget"`` once
    it is spent; a call in flight is allowed to finish, so the total may overshoot by one reply.

    Args:
        max_tokens: Input plus output tokens over all model calls (``None``: no cap).
        max_cost_usd: Dollars over all model calls whose cost is known (``None``: no cap).
    """

    def __init__(self, max_tokens: int | None = None, max_cost_usd: float | None = None) -> None:
        self.max_tokens = max_tokens
        self.max_cost_usd = max_cost_usd
        self._used = Usage()
        self._lock = threading.Lock()

    @property
    def used(self) -> Usage:
        """What all agents sharing the budget have spent so far."""
        with self._lock:
            return self._used

    def charge(self, usage: Usage) -> None:
        """Add one model call's usage."""
        with self._lock:
            self._used = self._used + usage

    @property
    def exhausted(self) -> bool:
        """True once the tokens or the dollars are spent."""
        used = self.used
        if self.max_tokens is not None and used.total_tokens >= self.max_tokens:
            return True
        return self.max_cost_usd is not None and (used.cost_usd or 0.0) >= self.max_cost_usd

    @property
    def remaining_tokens(self) -> int | None:
        """Tokens left, or ``None`` when tokens are not capped."""
        if self.max_tokens is None:
            return None
        return max(0, self.max_tokens - self.used.total_tokens)

    def status(self) -> str:
        """A short line: tokens and dollars spent against the caps."""
        used = self.used
        tokens = f"{used.total_tokens:,}"
        if self.max_tokens is not None:
            tokens += f" of {self.max_tokens:,}"
        text = f"{tokens} tokens"
        if used.cost_usd is not None or self.max_cost_usd is not None:
            text += f", ${used.cost_usd or 0.0:.4f}"
            if self.max_cost_usd is not None:
                text += f" of ${self.max_cost_usd:.2f}"
        return text

    def __repr__(self) -> str:
        return f"Budget({self.status()})"
