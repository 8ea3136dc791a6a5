"""Requests of many in-flight agents sent as one Anthropic Message Batch, at half price.

Each agent awaits ``complete`` as with any client. The client gathers the requests that arrive
within ``window_s`` (or until ``max_batch`` are waiting) into one batch, polls it until it ends,
and resolves every agent's turn with its own result. A request that *expired* or was *canceled*
inside the batch is sent again in the next batch (up to ``max_resubmits`` times); one that
*errored* fails that agent's call with the API's message, as a synchronous call would.

Wrap it in ``CachedClient``: finished turns are then recorded as they resolve, and a killed run
that is rerun replays them from the cache and only batches the turns that were still pending.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from memex_audit.errors import ModelError
from memex_audit.llm._anthropic import AnthropicClient
from memex_audit.llm._pricing import ModelPrice, batch_price, estimate_cost, price_for_endpoint
from memex_audit.llm._switch import check_model_requests_allowed
from memex_audit.llm._types import LLMRequest, LLMResponse

if TYPE_CHECKING:
    from anthropic.types.messages import MessageBatchResult


@dataclass
class _Pending:
    custom_id: str
    params: dict[str, Any]
    future: asyncio.Future[LLMResponse]
    started: float
    resubmits: int = 0


@dataclass
class BatchStats:
    """What the batch client did: batches created, requests sent, resubmitted and failed."""

    batches: int = 0
    requests: int = 0
    resubmitted: int = 0
    errored: int = 0
    batch_ids: list[str] = field(default_factory=list)


class AnthropicBatchClient:
    """An ``LLMClient`` that sends requests through the Message Batches API.

    Args:
        client: The ``AnthropicClient`` whose SDK, request parameters and response reading are
            used (its model is this client's model).
        window_s: How long the first waiting request waits for others to join its batch.
        max_batch: Requests per batch at most (the API allows 100,000).
        poll_interval_s: Seconds between status checks of a batch in progress.
        max_resubmits: Times an expired or canceled request is sent again.
        sleep: The coroutine that waits (tests pass one that does not).

    Attributes:
        stats: Batches created and requests sent, resubmitted and failed.
    """

    def __init__(
        self,
        client: AnthropicClient,
        *,
        window_s: float = 2.0,
        max_batch: int = 10_000,
        poll_interval_s: float = 30.0,
        max_resubmits: int = 2,
        sleep: Any = None,
    ) -> None:
        self.client = client
        self.model = client.model
        self.window_s = window_s
        self.max_batch = max_batch
        self.poll_interval_s = poll_interval_s
        self.max_resubmits = max_resubmits
        self.stats = BatchStats()
        self._sleep = sleep or asyncio.sleep
        self._waiting: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self.price = self._batch_price()

    def __repr__(self) -> str:
        return f"AnthropicBatchClient(model={self.model!r})"

    def _batch_price(self) -> ModelPrice | None:
        """The model's price at its endpoint, at the batch discount (``None`` when unknown)."""
        price = price_for_endpoint(self.client.model, "anthropic", self.client._base_url)
        return batch_price(price) if price is not None else None

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Queue ``request`` for the next batch and wait for its result.

        Raises:
            ModelError: Real requests are switched off, the request errored inside the batch, it
                expired more than ``max_resubmits`` times, or the batch could not be sent.
        """
        check_model_requests_allowed(type(self).__name__, self.model)
        loop = asyncio.get_running_loop()
        pending = _Pending(
            custom_id=f"r{next(self._ids)}",
            params=self.client.request_params(request),
            future=loop.create_future(),
            started=time.perf_counter(),
        )
        self._enqueue(pending)
        return await pending.future

    def _enqueue(self, pending: _Pending) -> None:
        self._waiting.append(pending)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        deadline = time.perf_counter() + self.window_s
        while len(self._waiting) < self.max_batch and time.perf_counter() < deadline:
            await self._sleep(min(0.05, self.window_s))
            if self.window_s <= 0:
                break
        while self._waiting:
            group, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
            asyncio.get_running_loop().create_task(self._run_batch(group))

    async def _run_batch(self, group: list[_Pending]) -> None:
        try:
            await self._send(group)
        except Exception as exc:  # the batch as a whole failed: every agent in it learns why
            error = exc if isinstance(exc, ModelError) else ModelError(f"message batch failed: {exc}")
            for pending in group:
                if not pending.future.done():
                    pending.future.set_exception(error)

    async def _send(self, group: list[_Pending]) -> None:
        anthropic = self.client._anthropic
        sdk = self.client._sdk()
        by_id = {p.custom_id: p for p in group}
        try:
            requests: Any = [{"custom_id": p.custom_id, "params": p.params} for p in group]
            batch = await sdk.messages.batches.create(requests=requests)
            self.stats.batches += 1
            self.stats.requests += len(group)
            self.stats.batch_ids.append(batch.id)
            while batch.processing_status != "ended":
                await self._sleep(self.poll_interval_s)
                batch = await sdk.messages.batches.retrieve(batch.id)
            results = await sdk.messages.batches.results(batch.id)
            async for item in results:
                pending = by_id.pop(item.custom_id, None)
                if pending is not None and not pending.future.done():
                    self._resolve(pending, item.result)
        except anthropic.APIError as err:
            raise ModelError(f"Anthropic message batch ({self.model}): {err}") from err
        for pending in by_id.values():  # missing from the results: treat as expired
            self._retry_or_fail(pending, "missing from the batch results")

    def _resolve(self, pending: _Pending, result: MessageBatchResult) -> None:
        from anthropic.types.messages import MessageBatchErroredResult, MessageBatchSucceededResult

        match result:
            case MessageBatchSucceededResult(message=message):
                response = self.client._to_response(message, time.perf_counter() - pending.started)
                cost = estimate_cost(response.model, response.usage, price=self.price) if self.price else None
                response.usage.cost_usd = cost
                if self.client.ledger is not None:
                    self.client.ledger.record(response)
                pending.future.set_result(response)
            case MessageBatchErroredResult(error=error):
                self.stats.errored += 1
                detail = getattr(error.error, "message", None) or str(error)
                pending.future.set_exception(
                    ModelError(f"Anthropic {self.model} (in a message batch): {detail}")
                )
            case _:  # expired or canceled: the request never ran
                self._retry_or_fail(pending, f"the request {result.type} inside its batch")

    def _retry_or_fail(self, pending: _Pending, why: str) -> None:
        if pending.future.done():
            return
        if pending.resubmits >= self.max_resubmits:
            pending.future.set_exception(
                ModelError(f"Anthropic {self.model}: {why} {pending.resubmits + 1} times; giving up")
            )
            return
        pending.resubmits += 1
        self.stats.resubmitted += 1
        self._enqueue(pending)
