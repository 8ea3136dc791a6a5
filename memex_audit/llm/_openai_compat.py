"""Any server speaking OpenAI's ``/chat/completions``, through the official ``openai`` SDK.

OpenAI itself, and the servers that copy its API: vLLM, Ollama, llama.cpp, LM Studio, hosted
open-weight APIs. Requests are translated from the typed ``LLMRequest``: the system prompt
becomes the first message, ``ToolUsePart``s become ``tool_calls``, ``ToolResultPart``s become
``role="tool"`` messages, and thinking parts (Anthropic's, signed) are not sent. The reply is
read from the SDK's ``ChatCompletion`` into an ``LLMResponse``.

Parameters differ by model family, and a server rejects what its models do not take:

- the token limit is ``max_completion_tokens`` on OpenAI's own API (its reasoning models reject
  ``max_tokens``) and for reasoning models anywhere, ``max_tokens`` on other servers (older
  vLLM, llama.cpp and Ollama know only that one);
- OpenAI's reasoning models (``o1``, ``o3``, ``o4-mini``, ``gpt-5``...) take neither a
  ``temperature`` nor ``stop`` sequences, so neither is sent to them (the agent loop cuts a
  reply after its first block either way).
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING, Any, Literal

import orjson

from memex_audit.errors import ModelError, UsageError
from memex_audit.llm._content import (
    RedactedThinkingPart,
    TextPart,
    ThinkingPart,
    ToolResultPart,
    ToolUsePart,
)
from memex_audit.llm._ledger import UsageLedger
from memex_audit.llm._pricing import ModelPrice, estimate_cost, price_for_endpoint
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

if TYPE_CHECKING:
    import httpx2
    import openai
    from openai.types.chat import (
        ChatCompletion,
        ChatCompletionAssistantMessageParam,
        ChatCompletionMessage,
        ChatCompletionMessageFunctionToolCallParam,
        ChatCompletionMessageParam,
        ChatCompletionMessageToolCallUnion,
    )
    from openai.types.completion_usage import CompletionUsage

OPENAI_BASE_URL = "https://api.openai.com/v1"
"""OpenAI's own API."""

TokenParam = Literal["max_tokens", "max_completion_tokens"]

_REASONING = re.compile(r"^(?:openai/)?(?:o\d|gpt-5)(?!.*-chat)", re.IGNORECASE)


def is_reasoning_model(model: str) -> bool:
    """Whether ``model`` is one of OpenAI's reasoning models (no temperature, no stop sequences)."""
    return bool(_REASONING.match(model.strip()))


def is_openai_endpoint(base_url: str) -> bool:
    """Whether ``base_url`` is OpenAI's own API."""
    return "://api.openai.com" in base_url.lower()


def token_limit_param(model: str, base_url: str) -> TokenParam:
    """The token-limit parameter ``model`` takes at ``base_url`` (see the module docstring)."""
    if is_openai_endpoint(base_url) or is_reasoning_model(model):
        return "max_completion_tokens"
    return "max_tokens"


class OpenAICompatibleClient:
    """A model served behind an OpenAI-compatible ``/chat/completions`` endpoint.

    Args:
        base_url: The API root, e.g. ``https://api.openai.com/v1``, ``http://localhost:8000/v1``
            (vLLM), ``http://localhost:11434/v1`` (Ollama) or ``http://localhost:8080/v1``
            (llama.cpp).
        model: The model name the server knows.
        api_key: Sent as a bearer token (local servers usually need none; a placeholder is
            sent then, since the SDK insists on one).
        http_client: An ``httpx2.AsyncClient`` for the SDK to send requests with (tests pass
            one with a ``httpx2.MockTransport``); by default the SDK makes one per event loop.
        client: A ready ``openai.AsyncOpenAI`` to use instead (build it with ``max_retries=0``).
        max_retries: Retries of a rate-limited or failed call (overrides ``retry``).
        retry: The full retry policy.
        timeout_s: Timeout of one HTTP attempt (local models can be slow).
        price: Prices of this model, instead of the built-in table's (e.g. zeros for your own
            GPU); by default the list price applies only at the provider's own endpoint.
        token_param: Force the token-limit parameter (default: ``token_limit_param``).
        ledger: Where every call's usage is also recorded.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        http_client: httpx2.AsyncClient | None = None,
        *,
        client: openai.AsyncOpenAI | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        timeout_s: float = 600.0,
        price: ModelPrice | None = None,
        token_param: TokenParam | None = None,
        ledger: UsageLedger | None = None,
    ) -> None:
        try:
            import openai
        except ImportError as err:  # pragma: no cover - a declared dependency
            raise UsageError("OpenAICompatibleClient needs the 'openai' package: pip install openai") from err
        self._openai = openai
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key
        self._client = client
        self._http_client = http_client
        self._owned: tuple[asyncio.AbstractEventLoop, openai.AsyncOpenAI] | None = None
        policy = retry or RetryPolicy()
        if max_retries is not None:
            policy = RetryPolicy(**{**policy.__dict__, "max_retries": max_retries})
        self.retry = policy
        self._timeout_s = timeout_s
        self.ledger = ledger
        self.price = price if price is not None else price_for_endpoint(model, "openai", self.base_url)
        self.token_param: TokenParam = token_param or token_limit_param(model, self.base_url)
        self.reasoning = is_reasoning_model(model)

    def __repr__(self) -> str:
        return f"OpenAICompatibleClient(base_url={self.base_url!r}, model={self.model!r})"

    def _sdk(self) -> openai.AsyncOpenAI:
        if self._client is not None:
            return self._client
        # Pooled connections belong to the loop that opened them: one SDK client per event loop.
        loop = asyncio.get_running_loop()
        if self._owned is None or self._owned[0] is not loop:
            sdk = self._openai.AsyncOpenAI(
                api_key=self._api_key or "not-needed",
                base_url=self.base_url,
                http_client=self._http_client,
                max_retries=0,
                timeout=self._timeout_s,
            )
            self._owned = (loop, sdk)
        return self._owned[1]

    def request_params(self, request: LLMRequest) -> dict[str, Any]:
        """The keyword arguments of ``chat.completions.create`` (the JSON body) for ``request``."""
        messages: list[ChatCompletionMessageParam] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        for message in request.messages:
            messages.extend(_to_openai_messages(message))
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            self.token_param: request.max_tokens,
        }
        if request.temperature is not None and not self.reasoning:
            body["temperature"] = request.temperature
        if request.stop_sequences and not self.reasoning:
            body["stop"] = list(request.stop_sequences)[:4]  # OpenAI's limit
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.input_schema},
                }
                for t in request.tools
            ]
        return body

    request_body = request_params

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Send ``request`` to ``{base_url}/chat/completions``, retrying transient failures.

        Raises:
            ModelError: Real requests are switched off, the server rejected the request (its
                message is included), answered something unreadable, or the retries are spent.
        """
        check_model_requests_allowed(type(self).__name__, self.model)
        params = self.request_params(request)
        started = time.perf_counter()
        payload = await call_with_retries(
            lambda: self._attempt(params), self.retry, what=f"{self.base_url} {self.model}"
        )
        response = self.to_response(payload, time.perf_counter() - started)
        if self.ledger is not None:
            self.ledger.record(response)
        return response

    async def _attempt(self, params: dict[str, Any]) -> ChatCompletion:
        from openai.types.chat import ChatCompletion

        openai = self._openai
        url = f"{self.base_url}/chat/completions"
        try:
            completion = await self._sdk().chat.completions.create(**params)
        except openai.APIStatusError as err:
            detail = _error_message(err)
            if err.status_code in RETRY_STATUSES or err.status_code >= 500:
                raise TransientModelError(
                    f"HTTP {err.status_code}: {detail}",
                    status=err.status_code,
                    retry_after_s=parse_retry_after(err.response.headers),
                ) from err
            raise ModelError(f"{url} ({self.model}): HTTP {err.status_code}: {detail}") from err
        except openai.APIConnectionError as err:
            raise TransientModelError(f"connection failed: {type(err).__name__}: {err}") from err
        except openai.APIResponseValidationError as err:
            raise ModelError(f"{url}: the reply does not have the shape of a chat completion: {err}") from err
        except ValueError as err:  # the SDK could not parse the body as JSON
            raise ModelError(f"{url}: the reply is not JSON: {err}") from err
        if not isinstance(completion, ChatCompletion):  # a stream: never asked for
            raise ModelError(f"{url}: the reply is a {type(completion).__name__}, not a chat completion")
        return completion

    def to_response(self, completion: ChatCompletion, latency_s: float) -> LLMResponse:
        """A chat completion as an ``LLMResponse``, priced with this client's price.

        The SDK reads replies leniently (servers differ), so what it built is checked here.

        Raises:
            ModelError: The completion has no choice, or not the shape of one.
        """
        from openai.types.chat.chat_completion import Choice

        where = f"{self.base_url}/chat/completions"
        choices: object = completion.choices
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], Choice):
            raise ModelError(f"{where}: the reply has no choices: {str(completion)[:200]!r}")
        choice: Choice = choices[0]
        message: ChatCompletionMessage | None = choice.message
        try:
            text = _reply_text(message.content if message is not None else None)
            tool_calls = (message.tool_calls if message is not None else None) or []
            calls = [_to_tool_call(call, n) for n, call in enumerate(tool_calls)]
            usage = _usage(completion.usage)
        except (AttributeError, TypeError, ValueError) as err:
            raise ModelError(
                f"{where}: the reply does not have the shape of a chat completion: {err}"
            ) from err
        # Priced as the model asked for at this endpoint: never as whatever name the server echoes.
        usage.cost_usd = (
            estimate_cost(self.model, usage, price=self.price) if self.price is not None else None
        )
        finish: object = choice.finish_reason
        return LLMResponse(
            text=text,
            tool_calls=calls,
            usage=usage,
            model=str(completion.model or self.model),
            stop_reason=str(finish) if finish is not None else None,
            latency_s=latency_s,
            reasoning=_reasoning(message),
        )


def _to_openai_messages(message: ChatMessage) -> list[ChatCompletionMessageParam]:
    if isinstance(message.content, str):
        if message.role == "assistant":
            return [{"role": "assistant", "content": message.content}]
        return [{"role": "user", "content": message.content}]
    texts: list[str] = []
    tool_calls: list[ChatCompletionMessageFunctionToolCallParam] = []
    tool_results: list[ChatCompletionMessageParam] = []
    for part in message.content:
        match part:
            case TextPart(text=text):
                texts.append(text)
            case ToolUsePart(id=call_id, name=name, input=arguments):
                tool_calls.append(
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": orjson.dumps(arguments).decode()},
                    }
                )
            case ToolResultPart(tool_use_id=call_id, is_error=is_error):
                text = part.text()
                tool_results.append(
                    {
                        "role": "tool",
                        "tool_call_id": call_id,
                        "content": f"Error: {text}" if is_error else text,
                    }
                )
            case ThinkingPart() | RedactedThinkingPart():
                pass  # signed for Anthropic's API; no OpenAI-compatible server takes it back
    if message.role == "assistant":
        entry: ChatCompletionAssistantMessageParam = {
            "role": "assistant",
            "content": "\n".join(texts) if texts else None,
        }
        if tool_calls:
            entry["tool_calls"] = tool_calls
        elif entry["content"] is None:
            entry["content"] = ""
        return [entry]
    # Tool results answer the previous assistant turn, so they come before any new user text.
    out = list(tool_results)
    if texts or not tool_results:
        out.append({"role": "user", "content": "\n".join(texts)})
    return out


def _reply_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # some servers return content parts
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _reasoning(message: ChatCompletionMessage | None) -> str | None:
    # vLLM, llama.cpp and Ollama return a reasoning model's thinking apart from content.
    extra = (message.model_extra if message is not None else None) or {}
    for key in ("reasoning_content", "reasoning"):
        value = extra.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _usage(raw: CompletionUsage | None) -> Usage:
    if raw is None:
        return Usage()
    details = raw.prompt_tokens_details
    cached: object = details.cached_tokens if details is not None else None
    return Usage(
        input_tokens=_count(raw.prompt_tokens),
        output_tokens=_count(raw.completion_tokens),
        cache_read_tokens=_count(cached),
    )


def _count(value: object) -> int:
    return int(value) if isinstance(value, int | float | str) and value else 0


def _to_tool_call(call: ChatCompletionMessageToolCallUnion, position: int) -> ToolCall:
    from openai.types.chat import ChatCompletionMessageCustomToolCall, ChatCompletionMessageFunctionToolCall

    raw_id: object = call.id
    call_id = str(raw_id) if raw_id else f"call_{position}"
    match call:
        case ChatCompletionMessageFunctionToolCall(function=function):
            return _function_call(call_id, str(function.name or ""), function.arguments)
        case ChatCompletionMessageCustomToolCall(custom=custom):
            return ToolCall(id=call_id, name=custom.name, arguments_raw=custom.input)
    raise TypeError(f"a tool call of type {type(call).__name__}")


def _function_call(call_id: str, name: str, raw: object) -> ToolCall:
    if isinstance(raw, dict):  # some servers send the arguments as an object
        return ToolCall(id=call_id, name=name, arguments=raw)
    if raw is None or raw == "":
        return ToolCall(id=call_id, name=name)
    try:
        parsed = orjson.loads(str(raw))
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        return ToolCall(id=call_id, name=name, arguments=parsed)
    return ToolCall(id=call_id, name=name, arguments_raw=str(raw))


def _error_message(err: Any) -> str:
    """The server's own words from an ``openai.APIStatusError`` (OpenAI, vLLM, Ollama, llama.cpp shapes)."""
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            for key in ("message", "detail"):
                if error.get(key):
                    return str(error[key])
        if isinstance(error, str):
            return error
        for key in ("message", "detail"):
            if body.get(key):
                return str(body[key])
    if isinstance(body, str) and body:
        return body[:500]
    response = getattr(err, "response", None)
    text = getattr(response, "text", "") if response is not None else ""
    return (text or str(getattr(err, "message", err)))[:500]
