"""Prices per model, in USD per million tokens, and the cost of one call.

Only published list prices are in the table; a model that is not in it has no cost
(``None``), never a guessed one. Users add their own, e.g. a self-hosted model at zero,
with ``register_price``.

Sources (2026-11): Anthropic's pricing page (platform.claude.com/docs/en/about-claude/pricing)
for Claude models; OpenAI's pricing page (platform.openai.com/docs/pricing) for OpenAI models;
the serving provider's list price for the open-weight models (Together AI serverless; the same
weights cost something else elsewhere, and nothing on your own GPU).

A list price is the price of one provider's endpoint. ``price_for_endpoint`` applies a built-in
price only to a model served by that provider (``openai/gpt-oss-20b`` on your own vLLM is not
billed at Together's price, a model named ``claude-...`` behind an OpenAI-compatible proxy is not
billed at Anthropic's); prices added with ``register_price`` apply wherever the model is served.
Batch APIs bill every token at half the list price (``batch_price``).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from memex_audit.trajectory import Usage


@dataclass(frozen=True)
class ModelPrice:
    """List prices of one model, in USD per million tokens.

    Attributes:
        input: Uncached input tokens.
        output: Output tokens (thinking included).
        cache_write: Input tokens written to the prompt cache (5-minute TTL); ``None``: as input.
        cache_read: Input tokens read from the prompt cache; ``None``: as input.
        long_prompt_threshold: Prompt size (input + cache reads + writes) above which every token
            of the call is billed at the ``long_prompt`` prices instead.
        long_prompt: The prices above ``long_prompt_threshold``.
    """

    input: float
    output: float
    cache_write: float | None = None
    cache_read: float | None = None
    long_prompt_threshold: int | None = None
    long_prompt: ModelPrice | None = None


def _claude(input: float, output: float, cache_read: float | None = None) -> ModelPrice:
    # 5-minute cache writes cost 1.25x input everywhere on the price list; reads are 0.1x unless
    # the list says otherwise.
    return ModelPrice(
        input=input,
        output=output,
        cache_write=input * 1.25,
        cache_read=input * 0.1 if cache_read is None else cache_read,
    )


_OPUS_45 = _claude(5.0, 25.0)
_OPUS_4 = _claude(15.0, 75.0)
_SONNET_4 = _claude(3.0, 15.0)

PRICES: dict[str, ModelPrice] = {
    # Claude (Anthropic API)
    "claude-fable-5-2": _claude(8.0, 40.0, cache_read=0.20),
    "claude-fable-5-1": _claude(10.0, 50.0, cache_read=0.25),
    "claude-mythos-5-1": _claude(10.0, 50.0, cache_read=0.25),
    "claude-fable-5": _claude(10.0, 50.0),
    "claude-mythos-5": _claude(10.0, 50.0),
    "claude-opus-5-5": _claude(4.0, 20.0, cache_read=0.20),
    "claude-opus-5": _OPUS_45,
    "claude-opus-4-8": _OPUS_45,
    "claude-opus-4-7": _OPUS_45,
    "claude-opus-4-6": _OPUS_45,
    "claude-opus-4-5": _OPUS_45,
    "claude-opus-4-1": _OPUS_4,
    "claude-opus-4-0": _OPUS_4,
    "claude-sonnet-5-5": _claude(2.0, 10.0, cache_read=0.10),
    "claude-sonnet-5": _claude(2.0, 10.0),
    "claude-sonnet-4-6": _SONNET_4,
    "claude-sonnet-4-5": ModelPrice(
        input=3.0,
        output=15.0,
        cache_write=3.75,
        cache_read=0.30,
        long_prompt_threshold=200_000,
        long_prompt=_claude(6.0, 22.5),
    ),
    "claude-sonnet-4-0": _SONNET_4,
    "claude-haiku-5-5": ModelPrice(
        input=0.10,
        output=0.50,
        cache_write=0.125,
        cache_read=0.01,
        long_prompt_threshold=100_000,
        long_prompt=ModelPrice(input=0.50, output=2.50, cache_write=0.625, cache_read=0.05),
    ),
    "claude-haiku-4-5": _claude(1.0, 5.0),
    # OpenAI (api.openai.com); cached input at the listed cached-input price
    "gpt-5": ModelPrice(input=1.25, output=10.0, cache_read=0.125),
    "gpt-5-mini": ModelPrice(input=0.25, output=2.0, cache_read=0.025),
    "gpt-5-nano": ModelPrice(input=0.05, output=0.40, cache_read=0.005),
    "gpt-4.1": ModelPrice(input=2.0, output=8.0, cache_read=0.50),
    "gpt-4.1-mini": ModelPrice(input=0.40, output=1.60, cache_read=0.10),
    "gpt-4.1-nano": ModelPrice(input=0.10, output=0.40, cache_read=0.025),
    "gpt-4o": ModelPrice(input=2.50, output=10.0, cache_read=1.25),
    "gpt-4o-mini": ModelPrice(input=0.15, output=0.60, cache_read=0.075),
    "o3": ModelPrice(input=2.0, output=8.0, cache_read=0.50),
    "o4-mini": ModelPrice(input=1.10, output=4.40, cache_read=0.275),
    # Open-weight models, as served by Together AI (OpenAI-compatible endpoint)
    "meta-llama/llama-3.3-70b-instruct-turbo": ModelPrice(input=0.88, output=0.88),
    "openai/gpt-oss-120b": ModelPrice(input=0.15, output=0.60),
    "openai/gpt-oss-20b": ModelPrice(input=0.05, output=0.20),
}
"""The built-in price table, keyed by lower-case model id."""

_ALIASES = {"claude-opus-4": "claude-opus-4-0", "claude-sonnet-4": "claude-sonnet-4-0"}
_DATE_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2}|latest)$")
_lock = threading.Lock()

PROVIDER_HOSTS: dict[str, tuple[str, ...]] = {
    "anthropic": ("api.anthropic.com",),
    "openai": ("api.openai.com",),
    "together": ("api.together.xyz", "api.together.ai"),
}
"""The hosts whose list prices the built-in table holds, by provider."""

_REGISTERED: set[str] = set()


def _provider_of(key: str) -> str:
    """The provider whose list price the built-in entry ``key`` is."""
    if key.startswith("claude-"):
        return "anthropic"
    if "/" in key:
        return "together"
    return "openai"


def register_price(model: str, price: ModelPrice) -> None:
    """Add or replace the price of ``model`` (for example a self-hosted model at zero).

    A registered price applies wherever the model is served (see ``price_for_endpoint``).
    """
    with _lock:
        PRICES[model.lower()] = price
        _REGISTERED.add(model.lower())


def price_for(model: str) -> ModelPrice | None:
    """The prices of ``model``, or ``None`` when they are not known.

    Dated snapshots (``claude-haiku-4-5-20251001``), a ``[1m]`` context suffix and an
    ``anthropic/`` prefix resolve to the base model's prices.
    """
    name = model.strip().lower()
    candidates = [name]
    base = name.removesuffix("[1m]")
    base = base.removeprefix("anthropic/").removeprefix("anthropic.")
    base = _DATE_SUFFIX.sub("", base)
    candidates += [base, _ALIASES.get(base, base)]
    for candidate in candidates:
        if candidate in PRICES:
            return PRICES[candidate]
    return None


def _resolve(model: str) -> str | None:
    name = model.strip().lower()
    base = _DATE_SUFFIX.sub(
        "", name.removesuffix("[1m]").removeprefix("anthropic/").removeprefix("anthropic.")
    )
    for candidate in (name, base, _ALIASES.get(base, base)):
        if candidate in PRICES:
            return candidate
    return None


def endpoint_provider(provider: str, base_url: str | None) -> str | None:
    """Whose list prices apply to ``provider``'s requests sent to ``base_url``.

    ``None`` for an endpoint that is none of the providers of the built-in table (your own vLLM,
    Ollama, llama.cpp, a proxy): only registered prices apply there.
    """
    if base_url is None:
        return provider if provider in ("anthropic", "openai") else None
    host = (urlsplit(base_url if "//" in base_url else f"//{base_url}").hostname or "").lower()
    for name, hosts in PROVIDER_HOSTS.items():
        if host in hosts:
            return name
    return None


def price_for_endpoint(model: str, provider: str, base_url: str | None) -> ModelPrice | None:
    """The price of ``model`` served by ``provider`` at ``base_url``; ``None`` when it is not known.

    A built-in list price applies only at its provider's own endpoint; a price added with
    ``register_price`` applies everywhere. Never another model's or another provider's price.

    Args:
        model: The model name sent to the endpoint.
        provider: ``anthropic`` or ``openai`` (the API the endpoint speaks).
        base_url: The endpoint; ``None``: the provider's own API.
    """
    key = _resolve(model)
    if key is None:
        return None
    if key in _REGISTERED:
        return PRICES[key]
    served_by = endpoint_provider(provider, base_url)
    return PRICES[key] if served_by is not None and _provider_of(key) == served_by else None


def batch_price(price: ModelPrice) -> ModelPrice:
    """The price of ``price``'s model through a batch API: every token type at half price."""

    def half(value: float | None) -> float | None:
        return None if value is None else value / 2

    return replace(
        price,
        input=price.input / 2,
        output=price.output / 2,
        cache_write=half(price.cache_write),
        cache_read=half(price.cache_read),
        long_prompt=batch_price(price.long_prompt) if price.long_prompt is not None else None,
    )


def estimate_cost(model: str, usage: Usage, *, price: ModelPrice | None = None) -> float | None:
    """The list-price cost of ``usage`` on ``model``, in USD; ``None`` for an unknown model.

    ``usage.input_tokens`` counts every input token, cache reads and writes included (the
    convention of ``memex_audit.trajectory.Usage``); the cached parts are billed at their own
    rates and the rest at the input rate.

    Args:
        model: The model id, looked up with ``price_for``.
        usage: Tokens of one call (prices that depend on prompt size apply per call).
        price: Prices to use instead of the table's.
    """
    price = price or price_for(model)
    if price is None:
        return None
    if (
        price.long_prompt is not None
        and price.long_prompt_threshold is not None
        and usage.input_tokens > price.long_prompt_threshold
    ):
        price = price.long_prompt
    uncached = max(usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens, 0)
    cache_write = price.input if price.cache_write is None else price.cache_write
    cache_read = price.input if price.cache_read is None else price.cache_read
    micro_usd = (
        uncached * price.input
        + usage.cache_write_tokens * cache_write
        + usage.cache_read_tokens * cache_read
        + usage.output_tokens * price.output
    )
    return micro_usd / 1_000_000


def worst_case_cost(request: object, price: ModelPrice | None) -> float | None:
    """The most one request can cost: its whole prompt at the (uncached) input price plus its
    ``max_tokens`` at the output price; ``None`` when the price is unknown.

    A budget reserves this before the request is sent, so concurrent calls cannot overshoot a cap.
    The prompt is counted with ``estimate_tokens`` and rounded up by a fifth, to stay on the safe
    side of the provider's own count.
    """
    from memex_audit.llm._tokens import estimate_tokens
    from memex_audit.llm._types import LLMRequest

    if price is None or not isinstance(request, LLMRequest):
        return None
    prompt = estimate_tokens(request.system) + sum(estimate_tokens(m.text()) for m in request.messages)
    prompt = int(prompt * 1.2) + 16
    usage = Usage(input_tokens=prompt, output_tokens=request.max_tokens)
    return estimate_cost("", usage, price=price)
