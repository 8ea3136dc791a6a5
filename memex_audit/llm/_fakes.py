"""Offline models: real ``LLMClient``s that tests and offline policies drive without a network.

``ScriptedModel`` plays back a fixed list of replies; ``FunctionModel`` computes each reply from
the request. Neither checks the global request switch: they never leave the process.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Awaitable, Callable, Sequence

from memex_audit.errors import ModelError
from memex_audit.llm._tokens import estimate_request_tokens, estimate_tokens
from memex_audit.llm._types import LLMRequest, LLMResponse
from memex_audit.trajectory import Usage

Reply = str | LLMResponse
"""What a fake returns for one call: the reply's text, or a complete response."""


def _to_response(
    reply: Reply, request: LLMRequest, model: str, latency_s: float, cost_usd: float | None = None
) -> LLMResponse:
    if isinstance(reply, LLMResponse):
        return reply
    if not isinstance(reply, str):
        raise ModelError(f"{model}: a reply must be str or LLMResponse, got {type(reply).__name__}")
    usage = Usage(
        input_tokens=estimate_request_tokens(request), output_tokens=estimate_tokens(reply), cost_usd=cost_usd
    )
    return LLMResponse(text=reply, usage=usage, model=model, stop_reason="end_turn", latency_s=latency_s)


class ScriptedModel:
    """Replies with a fixed script, one entry per call, in order.

    Args:
        replies: Each entry is the reply text, a full ``LLMResponse`` (to script tool calls or
            usage), or an ``Exception`` to raise on that call.
        model: Name recorded as the model.
        delay_s: Seconds each call waits (``asyncio.sleep``), so concurrent agents overlap.

    Attributes:
        requests: Every request received, in order (a failed call's request included).

    Raises:
        ModelError: From ``complete`` once every reply has been used.
    """

    def __init__(
        self,
        replies: Sequence[str | LLMResponse | Exception],
        *,
        model: str = "scripted",
        delay_s: float = 0.0,
    ) -> None:
        self.model = model
        self.delay_s = delay_s
        self.replies: list[str | LLMResponse | Exception] = list(replies)
        self.requests: list[LLMRequest] = []
        self._next = 0
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int:
        """How many scripted replies are still unused."""
        return len(self.replies) - self._next

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Return the next scripted reply (after ``delay_s``), or raise it if it is an exception."""
        # Claim the reply before sleeping so concurrent callers each get their own.
        with self._lock:
            self.requests.append(request)
            position = self._next
            if position >= len(self.replies):
                raise ModelError(
                    f"ScriptedModel {self.model!r} ran out of replies: call {position + 1} "
                    f"but only {len(self.replies)} scripted"
                )
            self._next += 1
        reply = self.replies[position]
        started = time.perf_counter()
        if self.delay_s > 0:
            await asyncio.sleep(self.delay_s)
        if isinstance(reply, BaseException):
            raise reply
        return _to_response(reply, request, self.model, time.perf_counter() - started)


class FunctionModel:
    """Computes each reply by calling ``fn(request)``.

    Args:
        fn: Returns the reply text or an ``LLMResponse``; may be a coroutine function. Whatever
            it raises propagates to the caller.
        model: Name recorded as the model.
        cost_usd: The cost of each reply given as text (``0.0`` for a policy that costs nothing;
            ``None``: unknown).
        keep_requests: Keep every request in ``requests`` (off for a policy serving a long run).

    Attributes:
        requests: Every request received, in order (while ``keep_requests``).
    """

    def __init__(
        self,
        fn: Callable[[LLMRequest], str | LLMResponse | Awaitable[str | LLMResponse]],
        *,
        model: str = "function",
        cost_usd: float | None = None,
        keep_requests: bool = True,
    ) -> None:
        self.model = model
        self.fn = fn
        self.cost_usd = cost_usd
        self.keep_requests = keep_requests
        self.requests: list[LLMRequest] = []

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Call ``fn`` on the request and wrap its result as a response."""
        if self.keep_requests:
            self.requests.append(request)
        started = time.perf_counter()
        result = self.fn(request)
        if inspect.isawaitable(result):
            result = await result
        return _to_response(result, request, self.model, time.perf_counter() - started, self.cost_usd)
