"""Requests of many in-flight agents sent through the OpenAI Batch API, at half price.

The gathering, polling and resubmitting are the Anthropic batch client's (``_batch.py``); what
differs is the wire: the requests are uploaded as a JSONL file (``purpose="batch"``), a batch is
created on ``/v1/chat/completions`` with a 24-hour window, and the results come back as an output
file (answered requests) and an error file (requests that failed inside the batch). A request
missing from both, or that expired, is sent again in the next batch; one that failed fails that
agent's call with the API's message. Only endpoints that offer the Batch API (OpenAI's own) can
take it.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from memex_audit.errors import ModelError
from memex_audit.llm._batch import AnthropicBatchClient, _Pending
from memex_audit.llm._openai_compat import OpenAICompatibleClient
from memex_audit.llm._pricing import ModelPrice, batch_price, estimate_cost

_ENDPOINT: Literal["/v1/chat/completions"] = "/v1/chat/completions"
_FINAL = ("completed", "failed", "expired", "cancelled")
_RETRY_CODES = ("batch_expired", "batch_cancelled")


class OpenAIBatchClient(AnthropicBatchClient):
    """An ``LLMClient`` that sends requests through the OpenAI Batch API.

    Args:
        client: The ``OpenAICompatibleClient`` whose SDK, request body and response reading are used.
        window_s, max_batch, poll_interval_s, max_resubmits, sleep: As for ``AnthropicBatchClient``.
    """

    def __init__(self, client: OpenAICompatibleClient, **options: Any) -> None:
        self.openai_client = client
        super().__init__(client, **options)  # type: ignore[arg-type]

    def _batch_price(self) -> ModelPrice | None:
        price = self.openai_client.price
        return batch_price(price) if price is not None else None

    def __repr__(self) -> str:
        return f"OpenAIBatchClient(model={self.model!r})"

    async def _send(self, group: list[_Pending]) -> None:
        openai = self.openai_client._openai
        sdk = self.openai_client._sdk()
        by_id = {p.custom_id: p for p in group}
        lines = [
            orjson.dumps({"custom_id": p.custom_id, "method": "POST", "url": _ENDPOINT, "body": p.params})
            for p in group
        ]
        try:
            upload = await sdk.files.create(
                file=("requests.jsonl", b"\n".join(lines) + b"\n"), purpose="batch"
            )
            batch = await sdk.batches.create(
                input_file_id=upload.id, endpoint=_ENDPOINT, completion_window="24h"
            )
            self.stats.batches += 1
            self.stats.requests += len(group)
            self.stats.batch_ids.append(batch.id)
            while batch.status not in _FINAL:
                await self._sleep(self.poll_interval_s)
                batch = await sdk.batches.retrieve(batch.id)
            if batch.status == "failed":
                errors = getattr(getattr(batch, "errors", None), "data", None) or []
                detail = "; ".join(str(getattr(e, "message", e)) for e in errors) or "no reason given"
                raise ModelError(f"OpenAI batch {batch.id} ({self.model}) failed: {detail}")
            for file_id in (batch.output_file_id, batch.error_file_id):
                if not file_id:
                    continue
                content = await sdk.files.content(file_id)
                for raw in content.text.splitlines():
                    line = _read_line(raw)
                    if line is None:
                        continue
                    pending = by_id.pop(line.custom_id, None)
                    if pending is not None and not pending.future.done():
                        self._resolve_line(pending, line)
        except openai.APIError as err:
            raise ModelError(f"OpenAI batch ({self.model}): {err}") from err
        for pending in by_id.values():  # in neither file (an expired batch leaves them out)
            self._retry_or_fail(pending, "missing from the batch results")

    def _resolve_line(self, pending: _Pending, line: BatchOutputLine) -> None:
        from openai.types.chat import ChatCompletion

        response, error = line.response, line.error
        status = response.status_code if response is not None else None
        body = response.body if response is not None else None
        if status == 200 and isinstance(body, dict):
            # The SDK's own lenient reading, as for a direct call; ``to_response`` checks the shape.
            completion = ChatCompletion.construct(None, **body)
            try:
                reply = self.openai_client.to_response(completion, time.perf_counter() - pending.started)
            except ModelError as exc:
                self.stats.errored += 1
                pending.future.set_exception(exc)
                return
            reply.usage.cost_usd = (
                estimate_cost(self.model, reply.usage, price=self.price) if self.price is not None else None
            )
            if self.openai_client.ledger is not None:
                self.openai_client.ledger.record(reply)
            pending.future.set_result(reply)
            return
        code = (error.code if error is not None else None) or ""
        if code in _RETRY_CODES:
            self._retry_or_fail(pending, f"the request {code.removeprefix('batch_')} inside its batch")
            return
        self.stats.errored += 1
        message = (error.message if error is not None else None) or _body_error(body) or f"HTTP {status}"
        pending.future.set_exception(ModelError(f"OpenAI {self.model} (in a batch): {message}"))


class _Edge(BaseModel):
    # Read from OpenAI's files: keep what we use, ignore what the API adds.
    model_config = ConfigDict(extra="ignore")


class BatchResponse(_Edge):
    """The HTTP answer to one request of a batch."""

    status_code: int | None = None
    body: JsonValue = None


class BatchError(_Edge):
    """Why one request of a batch got no answer (``batch_expired``, ``batch_cancelled``...)."""

    code: str | None = None
    message: str | None = None


class BatchOutputLine(_Edge):
    """One line of a batch's output or error file."""

    custom_id: str
    response: BatchResponse | None = None
    error: BatchError | None = None


def _read_line(raw: str) -> BatchOutputLine | None:
    """A line of an output or error file; ``None`` for a blank or unreadable one (its request is
    then missing from the results, and sent again)."""
    if not raw.strip():
        return None
    try:
        return BatchOutputLine.model_validate_json(raw)
    except ValidationError:
        return None


def _body_error(body: JsonValue) -> str | None:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
    return None
