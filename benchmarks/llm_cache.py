"""Client-side overheads of the LLM layer (no network): what a turn costs before the model thinks.

Measures, for a MemEx-like conversation of ``--turns`` turns (each an assistant code block and a
~4 KB observation):

* ``estimate_tokens`` throughput (MB/s) and ``estimate_request_tokens`` per request;
* ``CachedClient``: key hashing, a miss (inner call + atomic write) and a hit (read + validate);
* ``AnthropicClient`` per call through the real SDK over ``httpx2.MockTransport`` (request
  building, cache breakpoints, SDK serialisation, response mapping), against a bare fake.

    python benchmarks/llm_cache.py              # 30 turns, 200 calls
    python benchmarks/llm_cache.py --turns 60
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time

import httpx2

from memex_audit.llm import (
    AnthropicClient,
    CachedClient,
    ChatMessage,
    FunctionModel,
    LLMRequest,
    allow_model_requests,
    estimate_request_tokens,
    estimate_tokens,
    request_key,
)

WORDS = "bulletin table revised preliminary total receipts outlays debt interest fiscal quarter".split()


def _observation(rng: random.Random, n_chars: int) -> str:
    lines: list[str] = []
    size = 0
    while size < n_chars:
        row = " | ".join(
            f"{rng.randint(1, 99_999):,}.{rng.randint(0, 9)}" if rng.random() < 0.4 else rng.choice(WORDS)
            for _ in range(8)
        )
        lines.append(row)
        size += len(row) + 1
    return "\n".join(lines)


def _conversation(turns: int, seed: int = 0) -> LLMRequest:
    rng = random.Random(seed)
    messages = [
        ChatMessage(role="user", content="Task: audit the failed trajectories.\n" + _observation(rng, 2000))
    ]
    for turn in range(turns):
        code = f"rows = find_rows(trajectories[{turn}], 'receipts')\nprint(rows[:20])"
        messages.append(ChatMessage(role="assistant", content=f"Checking {turn}.\n```python\n{code}\n```"))
        messages.append(ChatMessage(role="user", content="Output:\n" + _observation(rng, 4000)))
    return LLMRequest(system="You are an auditor. " * 200, messages=messages)


def _time(fn: object, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()

    request = _conversation(args.turns)
    text = "\n".join(m.text() for m in request.messages)
    est = estimate_request_tokens(request)
    print(f"conversation: {args.turns} turns, {len(text) / 1e3:.0f} KB of text, ~{est:,} tokens (estimated)")

    big = text * max(1, int(20e6 // len(text)))
    started = time.perf_counter()
    estimate_tokens(big)
    mb_s = len(big) / 1e6 / (time.perf_counter() - started)
    print(
        f"estimate_tokens: {mb_s:.1f} MB/s; estimate_request_tokens: "
        f"{_time(lambda: estimate_request_tokens(request), 20) * 1e3:.2f} ms/request"
    )
    print(
        f"request_key (sha256 of canonical JSON): {_time(lambda: request_key('m', request), 50) * 1e3:.2f} ms"
    )

    inner = FunctionModel(lambda r: "```python\nsubmit(report)\n```", model="fn")
    with tempfile.TemporaryDirectory() as folder:
        cached = CachedClient(inner, folder)
        variants = [request.model_copy(update={"max_tokens": 1000 + i}) for i in range(args.calls)]

        async def misses() -> float:
            started = time.perf_counter()
            for variant in variants:
                await cached.complete(variant)
            return (time.perf_counter() - started) / len(variants)

        async def hits() -> float:
            started = time.perf_counter()
            for variant in variants:
                assert (await cached.complete(variant)).cached
            return (time.perf_counter() - started) / len(variants)

        miss_s = asyncio.run(misses())
        hit_s = asyncio.run(hits())

        async def bare() -> float:
            started = time.perf_counter()
            for variant in variants:
                await inner.complete(variant)
            return (time.perf_counter() - started) / len(variants)

        bare_s = asyncio.run(bare())
    print(
        f"CachedClient: miss {miss_s * 1e3:.2f} ms (bare fake {bare_s * 1e3:.2f} ms), hit {hit_s * 1e3:.2f} ms"
    )

    body = (
        b'{"id":"m","type":"message","role":"assistant","model":"claude-sonnet-4-6","content":'
        b'[{"type":"text","text":"```python\\nprint(1)\\n```"}],"stop_reason":"end_turn",'
        b'"usage":{"input_tokens":30,"output_tokens":9,"cache_read_input_tokens":20000}}'
    )
    http = httpx2.AsyncClient(
        transport=httpx2.MockTransport(
            lambda r: httpx2.Response(200, content=body, headers={"content-type": "application/json"})
        )
    )
    client = AnthropicClient(api_key="sk-bench", http_client=http)

    async def sdk_calls() -> float:
        await client.complete(request)  # warm up
        started = time.perf_counter()
        for _ in range(args.calls):
            await client.complete(request)
        return (time.perf_counter() - started) / args.calls

    with allow_model_requests(True):
        sdk_s = asyncio.run(sdk_calls())
    print(f"AnthropicClient over MockTransport: {sdk_s * 1e3:.2f} ms per call (SDK + mapping, no network)")


if __name__ == "__main__":
    main()
