"""Retrying transient model-call failures with exponential backoff, jitter and Retry-After.

Both real clients share this loop: a call attempt raises ``TransientModelError`` for what is
worth retrying (rate limits, overload, 5xx, dropped connections) and anything else for what is
not. The SDK's own retries are switched off so there is one policy, tested once.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from memex_audit.errors import ModelError

T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
"""HTTP statuses worth retrying: timeouts, conflicts, rate limits, server errors, overload (529)."""


class TransientModelError(ModelError):
    """One attempt failed in a way that may succeed later.

    Attributes:
        status: The HTTP status, when there was a response.
        retry_after_s: How long the server asked us to wait, when it said.
    """

    def __init__(
        self, message: str, *, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


async def _asyncio_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before retrying a transient failure.

    The n-th retry waits ``initial_delay_s * multiplier**n`` capped at ``max_delay_s``, of which
    the ``jitter`` fraction is random (so concurrent agents that hit a rate limit together do
    not retry together). A server's ``retry-after`` / ``retry-after-ms`` header wins over the
    computed delay, capped at ``max_retry_after_s``.

    Attributes:
        max_retries: Retries after the first attempt (0: no retry).
        initial_delay_s: Delay before the first retry.
        multiplier: Growth of the delay per retry.
        max_delay_s: Upper bound of a computed delay.
        jitter: Fraction of the delay drawn at random, in [0, 1].
        max_retry_after_s: Upper bound on a delay the server asks for.
        sleep: The coroutine that waits (tests substitute one that records the delays).
    """

    max_retries: int = 4
    initial_delay_s: float = 1.0
    multiplier: float = 2.0
    max_delay_s: float = 30.0
    jitter: float = 0.5
    max_retry_after_s: float = 120.0
    sleep: Callable[[float], Awaitable[None]] = field(default=_asyncio_sleep, compare=False, repr=False)

    def delay_s(self, retry: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        if retry_after_s is not None and retry_after_s >= 0:
            return min(retry_after_s, self.max_retry_after_s)
        base = min(self.initial_delay_s * self.multiplier**retry, self.max_delay_s)
        return base * (1.0 - self.jitter) + base * self.jitter * random.random()


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked to wait: ``retry-after-ms``, or ``retry-after`` in seconds or as a date."""
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return float(value) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(float(email.utils.mktime_tz(parsed)) - time.time(), 0.0)


async def call_with_retries(attempt: Callable[[], Awaitable[T]], policy: RetryPolicy, *, what: str) -> T:
    """Run ``attempt`` until it succeeds, fails permanently, or the retries are spent.

    Args:
        attempt: One try of the call; raises ``TransientModelError`` for retryable failures.
        policy: Retry count and delays.
        what: Names the call in the final error (e.g. ``"Anthropic claude-sonnet-4-6"``).

    Raises:
        ModelError: After the last retry, naming the number of attempts and the last failure.
    """
    retry = 0
    while True:
        try:
            return await attempt()
        except TransientModelError as err:
            if retry >= policy.max_retries:
                raise ModelError(f"{what}: {err} (gave up after {retry + 1} attempts)") from err
            await policy.sleep(policy.delay_s(retry, err.retry_after_s))
            retry += 1
