"""The Anthropic Messages API through the official ``anthropic`` SDK.

Prompt caching: the system prompt, the tool list and the newest message each carry a
``cache_control`` breakpoint. In an agent loop each request extends the previous one, so the
next turn reads everything up to the previous turn's last message from the cache (at a tenth of
the input price) and only the new observation is billed in full.
"""

from __future__ import annotations

import asyncio
import copy
import os
import time
from typing import TYPE_CHECKING, Any

from pydantic import JsonValue, TypeAdapter, ValidationError

from memex_audit.errors import ModelError, UsageError
from memex_audit.llm._content import (
    CacheControl,
    ContentPart,
    RedactedThinkingPart,
    TextPart,
    ThinkingPart,
    ToolResultPart,
    ToolUsePart,
)
from memex_audit.llm._ledger import UsageLedger
from memex_audit.llm._pricing import estimate_cost
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
    import anthropic
    import httpx2
    from anthropic.types import (
        AssistantMessageParam,
        CacheControlEphemeralParam,
        ContentBlockParam,
        Message,
        TextBlockParam,
        ToolParam,
        ToolResultBlockParam,
        ToolUseBlockParam,
        UserMessageParam,
    )

DEFAULT_MODEL = "claude-sonnet-4-6"
_EPHEMERAL = CacheControl()
_JSON_OBJECT: TypeAdapter[dict[str, JsonValue]] = TypeAdapter(dict[str, JsonValue])
_MAX_BREAKPOINTS = 4


class AnthropicClient:
    """A Claude model behind the ``LLMClient`` protocol.

    Args:
        model: The model id.
        api_key: The API key; defaults to the ``ANTHROPIC_API_KEY`` environment variable.
        client: A ready ``anthropic.AsyncAnthropic`` to use instead of building one (its own
            retries add to ours; build it with ``max_retries=0``).
        http_client: An ``httpx2.AsyncClient`` for the SDK to send requests with (tests pass one
            with a ``httpx2.MockTransport``).
        base_url: Another endpoint speaking the Anthropic API.
        max_retries: Retries of a rate-limited, overloaded or failed call (overrides ``retry``).
        retry: The full retry policy.
        prompt_caching: Mark the stable prefix (system prompt, tools, conversation so far) for
            prompt caching.
        timeout_s: Timeout of one HTTP attempt.
        ledger: Where every call's usage is also recorded.

    Raises:
        UsageError: No API key was given or found in the environment, or the SDK is missing.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        api_key: str | None = None,
        client: anthropic.AsyncAnthropic | None = None,
        http_client: httpx2.AsyncClient | None = None,
        base_url: str | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        prompt_caching: bool = True,
        timeout_s: float = 600.0,
        ledger: UsageLedger | None = None,
    ) -> None:
        try:
            import anthropic
        except ImportError as err:  # pragma: no cover - a declared dependency
            raise UsageError("AnthropicClient needs the 'anthropic' package: pip install anthropic") from err
        self._anthropic = anthropic
        self.model = model
        policy = retry or RetryPolicy()
        if max_retries is not None:
            policy = RetryPolicy(**{**policy.__dict__, "max_retries": max_retries})
        self.retry = policy
        self.prompt_caching = prompt_caching
        self.ledger = ledger
        self._client = client
        self._http_client = http_client
        self._base_url = base_url
        self._timeout_s = timeout_s
        self._owned: tuple[asyncio.AbstractEventLoop, anthropic.AsyncAnthropic] | None = None
        self._api_key = api_key or os.environ.get("ANTHROPIC_API_KEY") or None
        if client is None and self._api_key is None:
            raise UsageError(
                "AnthropicClient: no API key. Set ANTHROPIC_API_KEY (or pass api_key=...), "
                "or run with the offline policy, which needs no model."
            )

    def __repr__(self) -> str:
        return f"AnthropicClient(model={self.model!r})"

    def _sdk(self) -> anthropic.AsyncAnthropic:
        if self._client is not None:
            return self._client
        # An SDK client we build holds connections bound to the event loop that first used them;
        # each asyncio.run() (e.g. Agent.run_sync) gets its own, so build one per loop.
        loop = asyncio.get_running_loop()
        if self._owned is None or self._owned[0] is not loop:
            sdk = self._anthropic.AsyncAnthropic(
                api_key=self._api_key,
                base_url=self._base_url,
                http_client=self._http_client,
                max_retries=0,
                timeout=self._timeout_s,
            )
            self._owned = (loop, sdk)
        return self._owned[1]

    def request_params(self, request: LLMRequest) -> dict[str, Any]:
        """The keyword arguments of ``messages.create`` for ``request`` (cache breakpoints included)."""
        params: dict[str, Any] = {"model": self.model, "max_tokens": request.max_tokens}
        marked = self.prompt_caching
        if request.system:
            system_block: TextBlockParam = {"type": "text", "text": request.system}
            if marked:
                system_block["cache_control"] = {"type": "ephemeral"}
            params["system"] = [system_block]
        # Breakpoints go on copies of the parts (parts are immutable), never on the caller's.
        messages = list(request.messages)
        if request.tools:
            tools: list[ToolParam] = [
                {"name": t.name, "description": t.description, "input_schema": _schema_param(t.input_schema)}
                for t in request.tools
            ]
            if marked:
                tools[-1]["cache_control"] = {"type": "ephemeral"}
            params["tools"] = tools
        # The API allows 4 breakpoints per request; parts the caller marked count too.
        used = (
            (marked and bool(request.system))
            + (marked and bool(request.tools))
            + _count_breakpoints(messages)
        )
        if marked and messages and used < _MAX_BREAKPOINTS:
            messages[-1] = _mark_last_part(messages[-1])
        params["messages"] = [_message_param(m) for m in messages]
        # ``request.temperature`` is not sent: the API version the SDK speaks (2026-10-21)
        # rejects temperature, top_p and top_k on every model, even at their defaults, and the
        # SDK dropped the arguments. A Claude run is reproduced by replaying the response cache.
        if request.stop_sequences:
            params["stop_sequences"] = list(request.stop_sequences)
        return params

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Send ``request`` to the Messages API, retrying transient failures.

        Raises:
            ModelError: Real requests are switched off, the API rejected the request (the API's
                message is included), or the retries are spent.
        """
        check_model_requests_allowed(type(self).__name__, self.model)
        params = self.request_params(request)
        started = time.perf_counter()
        message = await call_with_retries(
            lambda: self._attempt(params), self.retry, what=f"Anthropic {self.model}"
        )
        response = self._to_response(message, time.perf_counter() - started)
        if self.ledger is not None:
            self.ledger.record(response)
        return response

    async def _attempt(self, params: dict[str, Any]) -> Message:
        from anthropic.types import Message

        anthropic = self._anthropic
        try:
            reply = await self._sdk().messages.create(**params)
        except anthropic.APIStatusError as err:
            detail = _api_message(err)
            headers = err.response.headers
            retryable = err.status_code in RETRY_STATUSES or err.status_code >= 500
            if headers.get("x-should-retry") == "false":
                retryable = False
            if retryable:
                raise TransientModelError(
                    f"HTTP {err.status_code}: {detail}",
                    status=err.status_code,
                    retry_after_s=parse_retry_after(headers),
                ) from err
            raise ModelError(f"Anthropic {self.model}: HTTP {err.status_code}: {detail}") from err
        except anthropic.APIConnectionError as err:
            raise TransientModelError(f"connection failed: {err}") from err
        if not isinstance(reply, Message):  # a stream: never asked for
            raise ModelError(f"Anthropic {self.model}: the reply is a {type(reply).__name__}, not a message")
        return reply

    def _to_response(self, message: Message, latency_s: float) -> LLMResponse:
        from anthropic.types import RedactedThinkingBlock, TextBlock, ThinkingBlock, ToolUseBlock

        texts: list[str] = []
        thoughts: list[str] = []
        calls: list[ToolCall] = []
        parts: list[ContentPart] = []
        for block in message.content:
            # Only the fields the API accepts back are kept, so ``as_message`` can resend them.
            match block:
                case TextBlock(text=text):
                    texts.append(text)
                    parts.append(TextPart(text=text))
                case ThinkingBlock(thinking=thinking, signature=signature):
                    thoughts.append(thinking)
                    parts.append(ThinkingPart(thinking=thinking, signature=signature))
                case RedactedThinkingBlock(data=data):
                    parts.append(RedactedThinkingPart(data=data))
                case ToolUseBlock(id=call_id, name=name, input=raw_input):
                    try:
                        arguments = _JSON_OBJECT.validate_python(raw_input)
                    except ValidationError:  # not a JSON object: kept as text, sent back empty
                        calls.append(ToolCall(id=call_id, name=name, arguments_raw=repr(raw_input)))
                        arguments = {}
                    else:
                        calls.append(ToolCall(id=call_id, name=name, arguments=arguments))
                    parts.append(ToolUsePart(id=call_id, name=name, input=arguments))
                case _:  # server-side tool blocks: nothing this client offered or sends back
                    pass
        raw = message.usage
        cache_read = raw.cache_read_input_tokens or 0
        cache_write = raw.cache_creation_input_tokens or 0
        usage = Usage(
            # Usage.input_tokens counts every input token; the API reports cached ones apart.
            input_tokens=raw.input_tokens + cache_read + cache_write,
            output_tokens=raw.output_tokens,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
        )
        model = message.model or self.model
        usage.cost_usd = estimate_cost(model, usage)
        return LLMResponse(
            text="".join(texts),
            tool_calls=calls,
            usage=usage,
            model=model,
            stop_reason=message.stop_reason,
            latency_s=latency_s,
            reasoning="\n\n".join(thoughts) or None,
            blocks=parts,
        )


def _mark_last_part(message: ChatMessage) -> ChatMessage:
    """``message`` with a breakpoint on its last part, where the API takes one."""
    content = message.content
    if isinstance(content, str):
        if not content:
            return message
        return ChatMessage(role=message.role, content=[TextPart(text=content, cache_control=_EPHEMERAL)])
    if not content:
        return message
    last = content[-1]
    match last:
        case TextPart(text=""):
            return message  # the API rejects cache_control on an empty text block
        case TextPart() | ToolResultPart() | ToolUsePart():
            marked = last.model_copy(update={"cache_control": _EPHEMERAL})
            return ChatMessage(role=message.role, content=[*content[:-1], marked])
        case _:
            return message


def _count_breakpoints(messages: list[ChatMessage]) -> int:
    count = 0
    for message in messages:
        if isinstance(message.content, str):
            continue
        for part in message.content:
            match part:
                case TextPart() | ToolUsePart():
                    count += part.cache_control is not None
                case ToolResultPart(content=content):
                    count += part.cache_control is not None
                    if not isinstance(content, str):
                        count += sum(text.cache_control is not None for text in content)
    return count


def _message_param(message: ChatMessage) -> UserMessageParam | AssistantMessageParam:
    content: str | list[ContentBlockParam] = (
        message.content if isinstance(message.content, str) else [_block_param(p) for p in message.content]
    )
    if message.role == "assistant":
        return {"role": "assistant", "content": content}
    return {"role": "user", "content": content}


def _block_param(part: ContentPart) -> ContentBlockParam:
    """One part as the Messages API takes it."""
    match part:
        case TextPart():
            return _text_param(part)
        case ToolUsePart(id=call_id, name=name, input=arguments, cache_control=cache):
            wire_input: dict[str, object] = dict(arguments)
            tool_use: ToolUseBlockParam = {
                "type": "tool_use",
                "id": call_id,
                "name": name,
                "input": wire_input,
            }
            if cache is not None:
                tool_use["cache_control"] = _cache_param(cache)
            return tool_use
        case ToolResultPart(tool_use_id=call_id, content=content, is_error=is_error, cache_control=cache):
            result: ToolResultBlockParam = {
                "type": "tool_result",
                "tool_use_id": call_id,
                "content": content if isinstance(content, str) else [_text_param(t) for t in content],
                "is_error": is_error,
            }
            if cache is not None:
                result["cache_control"] = _cache_param(cache)
            return result
        case ThinkingPart(thinking=thinking, signature=signature):
            return {"type": "thinking", "thinking": thinking, "signature": signature}
        case RedactedThinkingPart(data=data):
            return {"type": "redacted_thinking", "data": data}


def _schema_param(schema: dict[str, JsonValue]) -> dict[str, object]:
    # A deep copy: the SDK's request never shares (or mutates) the caller's schema.
    copied: dict[str, object] = dict(copy.deepcopy(schema))
    return copied


def _text_param(part: TextPart) -> TextBlockParam:
    block: TextBlockParam = {"type": "text", "text": part.text}
    if part.cache_control is not None:
        block["cache_control"] = _cache_param(part.cache_control)
    return block


def _cache_param(cache: CacheControl) -> CacheControlEphemeralParam:
    param: CacheControlEphemeralParam = {"type": "ephemeral"}
    if cache.ttl is not None:
        param["ttl"] = cache.ttl
    return param


def _api_message(err: Any) -> str:
    message = getattr(err, "api_message", None)
    kind = getattr(err, "type", None)
    if not message:
        body = getattr(err, "body", None)
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            message = body["error"].get("message")
            kind = kind or body["error"].get("type")
    text = str(message or getattr(err, "message", None) or err)
    return f"{kind}: {text}" if kind else text
