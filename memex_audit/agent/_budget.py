"""One token and cost budget shared by a run and all its sub-agents.

The cap is a promise: before a model call is sent, the most it can cost (its prompt at the input
price plus ``max_tokens`` at the output price) is reserved against the cap, so concurrent agents can
never together overshoot it; the reservation is replaced by the real cost when the reply arrives.
A cost cap over a model whose price is unknown cannot be kept: the budget refuses such a call
unless it was told to allow unpriced calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from memex_audit.errors import BudgetExceeded
from memex_audit.trajectory import Usage

WorstCase = Callable[[object], float | None]
"""The most one request can cost in USD (``None``: unknown price)."""


class Budget:
    """Tokens and dollars a run may spend, shared by every agent it spawns.

    A run checks the budget before each model call and stops with ``stop_reason="budget"`` once
    it is spent; a call in flight is allowed to finish, so the total may overshoot by one reply.

    Args:
        max_tokens: Input plus output tokens over all model calls (``None``: no cap).
        max_cost_usd: Dollars over all model calls whose cost is known (``None``: no cap).
    """

    def __init__(
        self,
        max_tokens: int | None = None,
        max_cost_usd: float | None = None,
        *,
        spent_usd: float = 0.0,
        worst_case: WorstCase | None = None,
        allow_unpriced: bool = False,
    ) -> None:
        self.max_tokens = max_tokens
        self.max_cost_usd = max_cost_usd
        self.worst_case = worst_case
        self.allow_unpriced = allow_unpriced
        self._used = Usage(cost_usd=spent_usd) if spent_usd else Usage()
        self._reserved = 0.0
        self._lock = threading.Lock()

    def reserve(self, request: object) -> float:
        """Reserve the most ``request`` can cost before it is sent; returns the amount to ``settle``.

        Raises:
            BudgetExceeded: The reservation would pass the cost cap, or the price is unknown under
                a cost cap (and unpriced calls are not allowed).
        """
        if self.max_cost_usd is None:
            return 0.0
        worst = self.worst_case(request) if self.worst_case is not None else None
        if worst is None:
            if self.allow_unpriced:
                return 0.0
            raise BudgetExceeded(
                "the model's price is unknown, so a cost cap cannot be kept; give its price or allow "
                "unpriced calls explicitly"
            )
        with self._lock:
            spent = self._used.cost_usd or 0.0
            if spent + self._reserved + worst > self.max_cost_usd:
                raise BudgetExceeded(
                    f"the next call could cost up to ${worst:.4f}; ${spent:.4f} spent and "
                    f"${self._reserved:.4f} reserved of ${self.max_cost_usd:.2f}"
                )
            self._reserved += worst
        return worst

    def settle(self, reserved: float, usage: Usage | None) -> None:
        """Replace a reservation by what the call really cost (``usage`` is ``None`` if it failed)."""
        with self._lock:
            self._reserved = max(0.0, self._reserved - reserved)
            if usage is not None:
                self._used = self._used + usage

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
