"""Requests of concurrent agents sent through the OpenAI Batch API, over the real SDK and a fake
transport: one upload and one batch for concurrent turns, half price, failed requests fail their
turn, expired ones are sent again."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
import pytest

from memex_audit.errors import ModelError
from memex_audit.llm import (
    ChatMessage,
    LLMRequest,
    OpenAIBatchClient,
    OpenAICompatibleClient,
    allow_model_requests,
)
from memex_audit.llm._pricing import ModelPrice


class FakeBatchAPI:
    """Files and batches endpoints; a request whose last message says ``fail`` errors, ``expire``
    expires the first time it is sent, ``shapeless`` is answered with a body that is no chat
    completion, and ``garble`` gets an unreadable output line the first time."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.uploads = 0
        self.expired: set[str] = set()
        self.garbled: set[str] = set()

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if request.method == "POST" and path.endswith("/files"):
            self.uploads += 1
            body = request.content
            start = body.index(b"\r\n\r\n", body.index(b'name="file"')) + 4
            data = body[start : body.index(b"\r\n--", start)]
            file_id = f"file-{len(self.files)}"
            self.files[file_id] = data
            return httpx2.Response(
                200,
                json={
                    "id": file_id,
                    "object": "file",
                    "bytes": len(data),
                    "created_at": 0,
                    "filename": "requests.jsonl",
                    "purpose": "batch",
                    "status": "processed",
                },
            )
        if request.method == "POST" and path.endswith("/batches"):
            spec = json.loads(request.content)
            batch_id = f"batch-{len(self.batches)}"
            self.batches[batch_id] = self._run(batch_id, self.files[spec["input_file_id"]])
            return httpx2.Response(200, json={**self.batches[batch_id], "status": "in_progress"})
        if request.method == "GET" and "/batches/" in path:
            return httpx2.Response(200, json=self.batches[path.rsplit("/", 1)[1]])
        if request.method == "GET" and path.endswith("/content"):
            return httpx2.Response(200, content=self.files[path.split("/")[-2]])
        return httpx2.Response(404, json={"error": {"message": f"no route {path}"}})

    def _run(self, batch_id: str, data: bytes) -> dict[str, Any]:
        answered: list[Any] = []
        failed: list[Any] = []
        for line in data.decode().splitlines():
            item = json.loads(line)
            last = item["body"]["messages"][-1]["content"]
            if "shapeless" in last:
                answered.append(
                    {"custom_id": item["custom_id"], "response": {"status_code": 200, "body": {"id": "c"}}}
                )
            elif "garble" in last and item["custom_id"] not in self.garbled:
                self.garbled.add(item["custom_id"])
                answered.append(f'{{"custom_id": "{item["custom_id"]}", "respo')
            elif "fail" in last:
                failed.append(
                    {
                        "custom_id": item["custom_id"],
                        "response": {
                            "status_code": 400,
                            "body": {"error": {"message": "invalid request: too long"}},
                        },
                        "error": None,
                    }
                )
            elif "expire" in last and item["custom_id"] not in self.expired:
                self.expired.add(item["custom_id"])
                failed.append(
                    {
                        "custom_id": item["custom_id"],
                        "response": None,
                        "error": {"code": "batch_expired", "message": "expired"},
                    }
                )
            else:
                answered.append(
                    {
                        "custom_id": item["custom_id"],
                        "response": {
                            "status_code": 200,
                            "body": {
                                "id": "c",
                                "object": "chat.completion",
                                "created": 0,
                                "model": item["body"]["model"],
                                "choices": [
                                    {
                                        "index": 0,
                                        "message": {"role": "assistant", "content": f"re: {last}"},
                                        "finish_reason": "stop",
                                    }
                                ],
                                "usage": {"prompt_tokens": 1000, "completion_tokens": 100},
                            },
                        },
                        "error": None,
                    }
                )
        out_id, err_id = f"file-out-{batch_id}", f"file-err-{batch_id}"
        self.files[out_id] = "\n".join(a if isinstance(a, str) else json.dumps(a) for a in answered).encode()
        self.files[err_id] = "\n".join(json.dumps(f) for f in failed).encode()
        return {
            "id": batch_id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
            "input_file_id": "x",
            "created_at": 0,
            "status": "completed",
            "output_file_id": out_id if answered else None,
            "error_file_id": err_id if failed else None,
        }


def _client(fake: FakeBatchAPI) -> OpenAIBatchClient:
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(fake.handler))
    inner = OpenAICompatibleClient(
        "https://api.openai.com/v1",
        "gpt-4.1",
        api_key="sk",
        http_client=http,
        price=ModelPrice(input=2.0, output=8.0),
    )

    async def no_wait(_seconds: float) -> None:
        await asyncio.sleep(0)

    return OpenAIBatchClient(inner, window_s=0.05, poll_interval_s=0, sleep=no_wait)


def _ask(text: str) -> LLMRequest:
    return LLMRequest(system="be brief", messages=[ChatMessage(role="user", content=text)], max_tokens=100)


@pytest.mark.slow
def test_concurrent_turns_share_one_batch_at_half_price_and_failures_stay_per_request() -> None:
    fake = FakeBatchAPI()
    client = _client(fake)

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(client.complete(_ask(t)) for t in ("one", "two", "please fail", "expire once")),
            return_exceptions=True,
        )

    with allow_model_requests(True):
        one, two, failed, expired = asyncio.run(main())
    assert one.text == "re: one" and two.text == "re: two" and expired.text == "re: expire once"
    assert one.usage.cost_usd == pytest.approx((1000 * 1.0 + 100 * 4.0) / 1e6)  # half of 2 and 8 per Mtok
    assert isinstance(failed, ModelError) and "too long" in str(failed)
    assert client.stats.batches == 2 and client.stats.resubmitted == 1  # the expired one went again
    assert fake.uploads == 2


def test_an_answer_that_is_no_completion_fails_its_turn_and_an_unreadable_line_is_sent_again() -> None:
    fake = FakeBatchAPI()
    client = _client(fake)

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(client.complete(_ask(t)) for t in ("shapeless", "garble", "fine")), return_exceptions=True
        )

    with allow_model_requests(True):
        shapeless, garbled, fine = asyncio.run(main())
    assert isinstance(shapeless, ModelError) and "no choices" in str(shapeless)
    assert garbled.text == "re: garble" and fine.text == "re: fine"
    assert client.stats.resubmitted == 1 and client.stats.errored == 1
