"""AnthropicBatchClient through the real SDK over a fake Message Batches API (no network)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from memex_audit.errors import ModelError
from memex_audit.llm import AnthropicClient, CachedClient, ChatMessage, LLMRequest, allow_model_requests
from memex_audit.llm._batch import AnthropicBatchClient


@pytest.fixture(autouse=True)
def _requests_over_the_fake_transport() -> Iterator[None]:
    with allow_model_requests(True):
        yield


def _message(text: str) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1000, "output_tokens": 100},
    }


class FakeBatches:
    """A Message Batches API: each batch is 'in_progress' once, then 'ended' with scripted results.

    ``outcome(question, attempt)`` says how each request ends: succeeded, errored, expired.
    """

    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome
        self.batches: dict[str, list[dict[str, Any]]] = {}
        self.polls: dict[str, int] = {}
        self.attempts: dict[str, int] = {}

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if request.method == "POST" and path == "/v1/messages/batches":
            batch_id = f"msgbatch_{len(self.batches) + 1}"
            self.batches[batch_id] = json.loads(request.content)["requests"]
            self.polls[batch_id] = 0
            return httpx2.Response(200, json=self._batch(batch_id, "in_progress"))
        batch_id = path.split("/")[4]
        if path.endswith("/results"):
            lines = [json.dumps(self._result(r)) for r in self.batches[batch_id]]
            return httpx2.Response(200, content="\n".join(lines).encode())
        self.polls[batch_id] += 1
        return httpx2.Response(
            200, json=self._batch(batch_id, "ended" if self.polls[batch_id] > 1 else "in_progress")
        )

    def _batch(self, batch_id: str, status: str) -> dict[str, Any]:
        return {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
            "created_at": "2026-11-01T00:00:00Z",
            "expires_at": "2026-11-02T00:00:00Z",
            "ended_at": None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"https://api.anthropic.com/v1/messages/batches/{batch_id}/results"
            if status == "ended"
            else None,
        }

    def _result(self, request: dict[str, Any]) -> dict[str, Any]:
        question = request["params"]["messages"][-1]["content"][-1]["text"]
        attempt = self.attempts[question] = self.attempts.get(question, 0) + 1
        kind = self.outcome(question, attempt)
        if kind == "succeeded":
            result: dict[str, Any] = {"type": "succeeded", "message": _message(f"answer to {question}")}
        elif kind == "errored":
            error = {"type": "invalid_request_error", "message": "prompt is too long"}
            result = {"type": "errored", "error": {"type": "error", "error": error}}
        else:
            result = {"type": kind}
        return {"custom_id": request["custom_id"], "result": result}


async def _no_sleep(_seconds: float) -> None:
    await asyncio.sleep(0)


def _client(fake: FakeBatches, **kwargs: Any) -> AnthropicBatchClient:
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(fake.handler))
    inner = AnthropicClient("claude-sonnet-4-6", api_key="sk-test", http_client=http)
    return AnthropicBatchClient(inner, window_s=0.01, poll_interval_s=0.0, sleep=_no_sleep, **kwargs)


def _request(text: str) -> LLMRequest:
    return LLMRequest(
        system="s", messages=[ChatMessage(role="user", content=text)], stop_sequences=["<end_code>"]
    )


async def _gather(client: Any, questions: list[str]) -> list[Any]:
    return await asyncio.gather(*(client.complete(_request(q)) for q in questions), return_exceptions=True)


def test_concurrent_requests_share_one_batch_and_cost_half() -> None:
    fake = FakeBatches(lambda _q, _a: "succeeded")
    client = _client(fake)
    replies = asyncio.run(_gather(client, ["q1", "q2", "q3"]))
    assert [r.text for r in replies] == ["answer to q1", "answer to q2", "answer to q3"]
    assert client.stats.batches == 1 and len(fake.batches["msgbatch_1"]) == 3
    params = fake.batches["msgbatch_1"][0]["params"]
    assert params["model"] == "claude-sonnet-4-6" and params["stop_sequences"] == ["<end_code>"]
    # Batch price: half of $3 / $15 per million tokens.
    assert replies[0].usage.cost_usd == pytest.approx((1000 * 1.5 + 100 * 7.5) / 1e6)


def test_errored_fails_its_turn_and_expired_is_sent_again() -> None:
    def outcome(question: str, attempt: int) -> str:
        if question == "bad":
            return "errored"
        if question == "slow":
            return "expired" if attempt == 1 else "succeeded"
        if question == "never":
            return "canceled"
        return "succeeded"

    fake = FakeBatches(outcome)
    client = _client(fake, max_resubmits=1)
    ok, bad, slow, never = asyncio.run(_gather(client, ["ok", "bad", "slow", "never"]))
    assert ok.text == "answer to ok" and slow.text == "answer to slow"
    assert isinstance(bad, ModelError) and "prompt is too long" in str(bad)
    assert isinstance(never, ModelError) and "canceled" in str(never) and "giving up" in str(never)
    # "slow" and "never" went out again together; "never" was canceled twice and gave up.
    assert client.stats.batches == 2 and client.stats.resubmitted == 2 and client.stats.errored == 1
    assert [len(fake.batches[b]) for b in sorted(fake.batches)] == [4, 2]


def test_a_killed_run_resumes_from_the_cache_and_batches_only_what_was_pending(tmp_path: Any) -> None:
    fake = FakeBatches(lambda _q, _a: "succeeded")
    asyncio.run(_gather(CachedClient(_client(fake), tmp_path, replay=True), ["q1", "q2"]))
    again = FakeBatches(lambda _q, _a: "succeeded")
    cached = CachedClient(_client(again), tmp_path, replay=True)
    replies = asyncio.run(_gather(cached, ["q1", "q2", "q3"]))
    assert [r.cached for r in replies] == [True, True, False]
    assert [len(b) for b in again.batches.values()] == [1]  # only q3 went out


def test_switch_blocks_batches_too() -> None:
    fake = FakeBatches(lambda _q, _a: "succeeded")
    with allow_model_requests(False), pytest.raises(ModelError, match="switched off"):
        asyncio.run(_client(fake).complete(_request("q")))
    assert fake.batches == {}
