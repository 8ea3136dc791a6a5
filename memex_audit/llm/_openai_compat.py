"""Any server speaking OpenAI's ``/chat/completions``: vLLM, Ollama, llama.cpp, hosted APIs.

Requests are translated from the Anthropic-shaped ``LLMRequest``: the system prompt becomes the
first message, ``tool_use`` blocks become ``tool_calls`` and ``tool_result`` blocks become
``role="tool"`` messages.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import orjson

from memex_audit.errors import ModelError
from memex_audit.llm._ledger import UsageLedger
from memex_audit.llm._pricing import ModelPrice, estimate_cost
from memex_audit.llm._retry import (
    RETRY_STATUSES,
    RetryPolicy,
    TransientModelError,
    call_with_retries,
    parse_retry_after,
)
from memex_audit.llm._switch import check_model_requests_allowed
from memex_audit.llm._types import ChatMessage, LLMRequest, LLMResponse
from memex_audit.trajectory import ToolCall, Usage


class OpenAICompatibleClient:
    """A model served behind an OpenAI-compatible ``/chat/completions`` endpoint.

    Args:
        base_url: The API root, e.g. ``http://localhost:8000/v1`` (vLLM),
            ``http://localhost:11434/v1`` (Ollama) or ``http://localhost:8080/v1`` (llama.cpp).
        model: The model name the server knows.
        api_key: Sent as a bearer token when given (local servers usually need none).
        http_client: An ``httpx.AsyncClient`` to send requests with (tests pass one with a
            ``httpx.MockTransport``); by default one is made per event loop.
        max_retries: Retries of a rate-limited or failed call (overrides ``retry``).
        retry: The full retry policy.
        timeout_s: Timeout of one HTTP attempt (local models can be slow).
        price: Prices of this model, instead of the built-in table's (e.g. zeros for your own GPU).
        ledger: Where every call's usage is also recorded.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        *,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        timeout_s: float = 600.0,
        price: ModelPrice | None = None,
        ledger: UsageLedger | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key
        self._http_client = http_client
        self._owned: tuple[asyncio.AbstractEventLoop, httpx.AsyncClient] | None = None
        policy = retry or RetryPolicy()
        if max_retries is not None:
            policy = RetryPolicy(**{**policy.__dict__, "max_retries": max_retries})
        self.retry = policy
        self._timeout_s = timeout_s
        self.ledger = ledger
        self.price = price

    def __repr__(self) -> str:
        return f"OpenAICompatibleClient(base_url={self.base_url!r}, model={self.model!r})"

    def _http(self) -> httpx.AsyncClient:
        if self._http_client is not None:
            return self._http_client
        # Pooled connections belong to the loop that opened them: one client per event loop.
        loop = asyncio.get_running_loop()
        if self._owned is None or self._owned[0] is not loop:
            self._owned = (loop, httpx.AsyncClient(timeout=self._timeout_s))
        return self._owned[1]

    def request_body(self, request: LLMRequest) -> dict[str, Any]:
        """The JSON body POSTed to ``/chat/completions`` for ``request``."""
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        for message in request.messages:
            messages.extend(_to_openai_messages(message))
        body: dict[str, Any] = {"model": self.model, "messages": messages, "max_tokens": request.max_tokens}
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.stop_sequences:
            body["stop"] = list(request.stop_sequences)
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.input_schema},
                }
                for t in request.tools
            ]
        return body

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """POST ``request`` to ``{base_url}/chat/completions``, retrying transient failures.

        Raises:
            ModelError: Real requests are switched off, the server rejected the request (its
                message is included), answered something unreadable, or the retries are spent.
        """
        check_model_requests_allowed(type(self).__name__, self.model)
        body = orjson.dumps(self.request_body(request))
        started = time.perf_counter()
        payload = await call_with_retries(
            lambda: self._attempt(body), self.retry, what=f"{self.base_url} {self.model}"
        )
        response = self._to_response(payload, time.perf_counter() - started)
        if self.ledger is not None:
            self.ledger.record(response)
        return response

    async def _attempt(self, body: bytes) -> dict[str, Any]:
        headers = {"content-type": "application/json"}
        if self._api_key:
            headers["authorization"] = f"Bearer {self._api_key}"
        url = f"{self.base_url}/chat/completions"
        try:
            reply = await self._http().post(url, content=body, headers=headers, timeout=self._timeout_s)
        except httpx.TransportError as err:
            raise TransientModelError(f"connection failed: {type(err).__name__}: {err}") from err
        if reply.status_code >= 400:
            detail = _error_message(reply)
            if reply.status_code in RETRY_STATUSES or reply.status_code >= 500:
                raise TransientModelError(
                    f"HTTP {reply.status_code}: {detail}",
                    status=reply.status_code,
                    retry_after_s=parse_retry_after(reply.headers),
                )
            raise ModelError(f"{url} ({self.model}): HTTP {reply.status_code}: {detail}")
        try:
            payload = orjson.loads(reply.content)
        except orjson.JSONDecodeError as err:
            raise ModelError(f"{url}: the reply is not JSON: {reply.text[:200]!r}") from err
        if not isinstance(payload, dict) or not payload.get("choices"):
            raise ModelError(f"{url}: the reply has no choices: {reply.text[:200]!r}")
        return payload

    def _to_response(self, payload: dict[str, Any], latency_s: float) -> LLMResponse:
        choice = payload["choices"][0]
        message = choice.get("message") or {}
        content = message.get("content")
        if isinstance(content, list):  # some servers return content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        calls = [_to_tool_call(call, n) for n, call in enumerate(message.get("tool_calls") or [])]
        raw = payload.get("usage") or {}
        details = raw.get("prompt_tokens_details") or {}
        usage = Usage(
            input_tokens=int(raw.get("prompt_tokens") or 0),
            output_tokens=int(raw.get("completion_tokens") or 0),
            cache_read_tokens=int(details.get("cached_tokens") or 0),
        )
        model = str(payload.get("model") or self.model)
        usage.cost_usd = estimate_cost(model, usage, price=self.price)
        if usage.cost_usd is None and model != self.model:
            usage.cost_usd = estimate_cost(self.model, usage)
        return LLMResponse(
            text=content or "",
            tool_calls=calls,
            usage=usage,
            model=model,
            stop_reason=choice.get("finish_reason"),
            latency_s=latency_s,
            # vLLM, llama.cpp and Ollama return a reasoning model's thinking apart from content.
            reasoning=message.get("reasoning_content") or message.get("reasoning") or None,
        )


def _to_openai_messages(message: ChatMessage) -> list[dict[str, Any]]:
    if isinstance(message.content, str):
        return [{"role": message.role, "content": message.content}]
    texts: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    tool_results: list[dict[str, Any]] = []
    for block in message.content:
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            tool_calls.append(
                {
                    "id": str(block.get("id")),
                    "type": "function",
                    "function": {
                        "name": str(block.get("name")),
                        "arguments": orjson.dumps(block.get("input") or {}).decode(),
                    },
                }
            )
        elif kind == "tool_result":
            text = _result_text(block.get("content"))
            if block.get("is_error"):
                text = f"Error: {text}"
            tool_results.append(
                {"role": "tool", "tool_call_id": str(block.get("tool_use_id")), "content": text}
            )
    out: list[dict[str, Any]] = []
    if message.role == "assistant":
        entry: dict[str, Any] = {"role": "assistant", "content": "\n".join(texts) if texts else None}
        if tool_calls:
            entry["tool_calls"] = tool_calls
        elif entry["content"] is None:
            entry["content"] = ""
        out.append(entry)
        return out
    # Tool results answer the previous assistant turn, so they come before any new user text.
    out.extend(tool_results)
    if texts or not tool_results:
        out.append({"role": "user", "content": "\n".join(texts)})
    return out


def _result_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    return orjson.dumps(content).decode()


def _to_tool_call(call: dict[str, Any], position: int) -> ToolCall:
    function = call.get("function") or {}
    name = str(function.get("name") or "")
    raw = function.get("arguments")
    call_id = call.get("id") or f"call_{position}"
    if isinstance(raw, dict):
        return ToolCall(id=call_id, name=name, arguments=raw)
    if raw is None or raw == "":
        return ToolCall(id=call_id, name=name)
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        return ToolCall(id=call_id, name=name, arguments=parsed)
    return ToolCall(id=call_id, name=name, arguments_raw=str(raw))


def _error_message(reply: httpx.Response) -> str:
    try:
        body = orjson.loads(reply.content)
    except orjson.JSONDecodeError:
        return reply.text[:500] or reply.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        for key in ("message", "detail"):
            if body.get(key):
                return str(body[key])
    return reply.text[:500]
