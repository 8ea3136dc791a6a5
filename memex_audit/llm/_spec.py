"""One model spec for every command and the library: ``provider:name``, parsed in one place.

::

    anthropic:claude-sonnet-4-6       Claude through the Anthropic API
    openai:gpt-4.1                    OpenAI's API
    openai:qwen3-32b --base-url URL   any OpenAI-compatible server (vLLM, llama.cpp, Ollama...)
    offline                           no model: the agents' offline policies

A bare name is read as ``claude-*`` → anthropic; ``gpt-*``, ``o1``/``o3``/``o4-mini``...,
``chatgpt-*`` → openai; any other bare name is an OpenAI-compatible model when a base URL is
given (``--base-url`` or ``OPENAI_BASE_URL``), and an error otherwise (write the provider).
``OPENAI_BASE_URL`` only ever applies to ``openai`` models: a Claude model is never sent to it.

``client_for_spec`` builds the client the same way for ``audit``, ``aggregate`` and Python code,
with the run's defaults: temperature 0 where the API takes one, an optional response cache
that replays recorded runs, and the price of the model *at that endpoint* (unknown: ``None``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from memex_audit.errors import ModelError, UsageError
from memex_audit.llm._anthropic import AnthropicClient
from memex_audit.llm._batch import AnthropicBatchClient
from memex_audit.llm._cache import CachedClient
from memex_audit.llm._ledger import UsageLedger
from memex_audit.llm._openai_batch import OpenAIBatchClient
from memex_audit.llm._openai_compat import (
    OPENAI_BASE_URL,
    OpenAICompatibleClient,
    is_openai_endpoint,
    is_reasoning_model,
    token_limit_param,
)
from memex_audit.llm._pricing import ModelPrice, price_for_endpoint
from memex_audit.llm._protocol import LLMClient
from memex_audit.llm._types import LLMRequest, LLMResponse

Provider = Literal["anthropic", "openai", "offline"]

DEFAULT_TEMPERATURE = 0.0
"""Sampling temperature of every request whose API takes one, unless the caller sets another."""

_OPENAI_BARE = re.compile(r"^(gpt-|chatgpt-|o\d(?:$|-))", re.IGNORECASE)
_OFFLINE = re.compile(r"^(offline(:.*)?|offline-signals.*)$")


@dataclass(frozen=True)
class ModelSpec:
    """Which model, served where.

    Attributes:
        provider: ``anthropic``, ``openai`` (any OpenAI-compatible endpoint) or ``offline``.
        name: The model name the endpoint knows (``""`` offline).
        base_url: The endpoint; ``None`` is the provider's own API.
    """

    provider: Provider
    name: str = ""
    base_url: str | None = None

    def __str__(self) -> str:
        return "offline" if self.offline else f"{self.provider}:{self.name}"

    @property
    def offline(self) -> bool:
        """No model: the offline policies run."""
        return self.provider == "offline"

    @property
    def endpoint(self) -> str | None:
        """The URL requests go to (``None`` offline)."""
        if self.provider == "openai":
            return self.base_url or OPENAI_BASE_URL
        if self.provider == "anthropic":
            return self.base_url or "https://api.anthropic.com"
        return None

    @property
    def price(self) -> ModelPrice | None:
        """The model's list price at this endpoint; ``None`` when unknown (or offline)."""
        if self.offline:
            return None
        return price_for_endpoint(self.name, self.provider, self.base_url)

    def request_params(self, temperature: float | None = DEFAULT_TEMPERATURE) -> dict[str, Any]:
        """What is sent with every request besides the conversation: recorded in run manifests.

        Args:
            temperature: The temperature asked for; the value reported is what is actually sent.
        """
        if self.offline:
            return {}
        if self.provider == "anthropic":
            # The API version the SDK sends (2026-10-21) rejects sampling parameters on every
            # model: no temperature is sent; a replayed run is reproduced by the response cache.
            return {"temperature": None, "token_param": "max_tokens", "stop_param": "stop_sequences"}
        reasoning = is_reasoning_model(self.name)
        return {
            "temperature": None if reasoning else temperature,
            "token_param": token_limit_param(self.name, self.endpoint or OPENAI_BASE_URL),
            "stop_param": None if reasoning else "stop",
        }

    def describe(self) -> str:
        """One line for people: the spec, the endpoint and the price per million tokens."""
        if self.offline:
            return "offline (no model)"
        price = self.price
        cost = "price unknown" if price is None else f"${price.input:g} in / ${price.output:g} out per Mtok"
        return f"{self} at {self.endpoint} ({cost})"

    def manifest(self, *, temperature: float | None = DEFAULT_TEMPERATURE, **extra: Any) -> dict[str, Any]:
        """The spec and its request parameters as JSON for a run manifest."""
        return {
            "spec": str(self),
            "provider": self.provider,
            "name": self.name or None,
            "base_url": self.endpoint,
            "params": {**self.request_params(temperature), **extra},
        }


def parse_model_spec(
    spec: str | ModelSpec | None,
    *,
    base_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ModelSpec:
    """Read ``spec`` (see the module docstring) into a ``ModelSpec``.

    Args:
        spec: ``provider:name``, a bare name, ``offline``, or ``None`` (offline).
        base_url: ``--base-url``: the endpoint of the spec's provider.
        environ: Where ``OPENAI_BASE_URL`` is read (default ``os.environ``).

    Raises:
        UsageError: An unknown provider, an empty name, or a bare name whose provider cannot be told.
    """
    if isinstance(spec, ModelSpec):
        return spec
    env = os.environ if environ is None else environ
    text = (spec or "").strip()
    if not text or _OFFLINE.match(text):
        if base_url:
            raise UsageError("--base-url needs a model: give --model openai:NAME (or anthropic:NAME)")
        return ModelSpec("offline")
    provider, sep, name = text.partition(":")
    env_url = env.get("OPENAI_BASE_URL") or None
    if sep and provider in ("anthropic", "openai"):
        name = name.strip()
        if not name:
            raise UsageError(f"--model {text!r}: the model name after {provider}: is missing")
    else:  # a bare name; it may hold a colon of its own (Ollama's ``qwen3:32b``)
        provider, name = _bare(text, base_url, env_url)
    if provider == "anthropic":
        return ModelSpec("anthropic", name, base_url.rstrip("/") if base_url else None)
    url = base_url or env_url
    return ModelSpec("openai", name, url.rstrip("/") if url else None)


def _bare(name: str, base_url: str | None, env_url: str | None) -> tuple[Provider, str]:
    if name.lower().startswith("claude"):
        return "anthropic", name
    if _OPENAI_BARE.match(name) or base_url or env_url:
        return "openai", name
    raise UsageError(
        f"--model {name!r}: say which API serves it: anthropic:{name}, or openai:{name} with "
        "--base-url (or OPENAI_BASE_URL) for an OpenAI-compatible server"
    )


class _ReplayOnly:
    """Stands in for a client without a key behind a cache: any miss is an error that says so."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.model = spec.name

    async def complete(self, request: LLMRequest) -> LLMResponse:
        raise ModelError(
            f"{self.spec}: this request is not in the cache and there is no API key to send it "
            "(set ANTHROPIC_API_KEY to record it)"
        )


class WithDefaults:
    """Fills in a request's unset sampling parameters before passing it on.

    Sits outside the response cache, so the cache key holds the values actually sent.

    Args:
        inner: The client to send to.
        temperature: Used when a request's ``temperature`` is ``None``.
    """

    def __init__(self, inner: LLMClient, *, temperature: float | None) -> None:
        self.inner = inner
        self.model = inner.model
        self.temperature = temperature

    def __repr__(self) -> str:
        return f"WithDefaults({self.inner!r}, temperature={self.temperature!r})"

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Send ``request`` with its defaults filled in."""
        if request.temperature is None and self.temperature is not None:
            request = request.model_copy(update={"temperature": self.temperature})
        return await self.inner.complete(request)


def client_for_spec(
    spec: str | ModelSpec,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    temperature: float | None = DEFAULT_TEMPERATURE,
    cache_dir: str | os.PathLike[str] | None = None,
    cache_normalize: Callable[[LLMRequest], LLMRequest] | None = None,
    ledger: UsageLedger | None = None,
    http_client: Any = None,
    environ: Mapping[str, str] | None = None,
    batch: bool = False,
) -> LLMClient:
    """The client for ``spec``, built the same way for every command and for Python code.

    Args:
        spec: A model spec (see ``parse_model_spec``); not ``offline`` (the offline policies
            belong to the agents: check ``parse_model_spec(spec).offline`` first).
        base_url: ``--base-url``, when ``spec`` is a string.
        api_key: The key; default ``ANTHROPIC_API_KEY`` or ``OPENAI_API_KEY`` from ``environ``.
        temperature: Sent with every request that sets none, where the model takes one.
        cache_dir: Record every reply in this folder and replay it when the same request comes
            again: a rerun sends no request and reproduces the recorded results exactly.
        cache_normalize: What the cache key leaves out (see ``CachedClient``).
        ledger: Where every call's usage is also recorded.
        http_client: An ``httpx2.AsyncClient`` for the SDK (tests pass a mock transport).
        environ: Where keys and ``OPENAI_BASE_URL`` are read (default ``os.environ``).
        batch: Send the requests of all in-flight agents through the provider's batch API, at
            batch prices: Anthropic Message Batches (``AnthropicBatchClient``) or the OpenAI Batch
            API at OpenAI's endpoint (``OpenAIBatchClient``).

    Raises:
        UsageError: ``spec`` is offline or unreadable, the Anthropic API key is missing and
            there is no cache to replay from, or ``batch`` is asked of a non-Anthropic model.
    """
    env = os.environ if environ is None else environ
    parsed = parse_model_spec(spec, base_url=base_url, environ=env)
    if parsed.offline:
        raise UsageError("the offline spec has no client: the agents run their offline policies")
    inner: LLMClient
    if (
        batch
        and parsed.provider != "anthropic"
        and not is_openai_endpoint(parsed.endpoint or OPENAI_BASE_URL)
    ):
        raise UsageError(
            f"--batch needs a provider with a batch API: anthropic: models, or openai: models at OpenAI's "
            f"own endpoint; {parsed} is served at {parsed.endpoint}"
        )
    if parsed.provider == "anthropic":
        key = api_key or env.get("ANTHROPIC_API_KEY") or None
        if key is None and cache_dir is None:
            raise UsageError(
                f"--model {parsed} needs ANTHROPIC_API_KEY (or a --cache folder to replay from); "
                "omit --model to run offline"
            )
        if key is None:
            inner = _ReplayOnly(parsed)
        else:
            claude = AnthropicClient(
                parsed.name, api_key=key, base_url=parsed.base_url, http_client=http_client, ledger=ledger
            )
            inner = AnthropicBatchClient(claude) if batch else claude
        sent_temperature = None  # see ModelSpec.request_params
    else:
        compatible = OpenAICompatibleClient(
            parsed.endpoint or OPENAI_BASE_URL,
            parsed.name,
            api_key=api_key or env.get("OPENAI_API_KEY") or None,
            http_client=http_client,
            price=parsed.price,
            ledger=ledger,
        )
        inner = OpenAIBatchClient(compatible) if batch else compatible
        sent_temperature = None if is_reasoning_model(parsed.name) else temperature
    if cache_dir is not None:
        inner = CachedClient(inner, cache_dir, replay=True, normalize=cache_normalize)
    return WithDefaults(inner, temperature=sent_temperature)
