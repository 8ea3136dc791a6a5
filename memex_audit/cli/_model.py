"""The model options every command shares: ``--model``, ``--base-url``, ``--cache``, ``--temperature``.

``audit``, ``aggregate`` and ``ask`` resolve them here, through ``memex_audit.llm.parse_model_spec`` and
``client_for_spec``, so one spec means the same model, endpoint and price in every command; with
``--price``, ``--max-cost`` and ``--batch`` read the same way too.
"""

from __future__ import annotations

import hashlib
import importlib
from importlib import resources
from pathlib import Path
from typing import Any

from memex_audit.agent import STOP_SEQUENCES, replay_key_request
from memex_audit.cli._app import console, plain
from memex_audit.cli._options import BASE_URL_HELP, CACHE_HELP, TEMPERATURE_HELP
from memex_audit.errors import UsageError
from memex_audit.llm import (
    DEFAULT_TEMPERATURE,
    LLMClient,
    ModelPrice,
    ModelSpec,
    batch_price,
    client_for_spec,
    parse_model_spec,
    register_price,
)
from memex_audit.runs import RunModelSettings, RunStore

MODEL_HELP = (
    "Model spec: anthropic:NAME (e.g. anthropic:claude-sonnet-4-6), openai:NAME (OpenAI, or any "
    "OpenAI-compatible server with --base-url / OPENAI_BASE_URL), or offline (the default). "
    "A bare claude-* name means anthropic, gpt-*/o* names openai."
)
BATCH_HELP = (
    "Send the requests of all agents in flight through the provider's batch API at half price (Anthropic "
    "Message Batches, or the OpenAI Batch API at OpenAI's endpoint; results within hours); combine with "
    "--cache so a killed run resumes from its finished turns."
)


def resolve_spec(model: str | None, base_url: str | None) -> ModelSpec:
    """The spec of ``--model`` and ``--base-url`` (raises ``UsageError`` when unreadable)."""
    return parse_model_spec(model, base_url=base_url)


def priced_spec(model: str | None, base_url: str | None, price: str | None) -> ModelSpec:
    """The spec of ``--model`` and ``--base-url``, priced by ``--price`` (IN/OUT) when it is given."""
    if price is not None:
        register_price(resolve_spec(model, base_url).name, parse_price(price))
    return resolve_spec(model, base_url)


def require_price(spec: ModelSpec, *, max_cost: float | None, allow_unpriced: bool) -> None:
    """Refuse a ``--max-cost`` that cannot be kept because the model's price is unknown.

    Raises:
        UsageError: ``--max-cost`` is given for a model without a price and without ``--allow-unpriced``.
    """
    if max_cost is not None and not spec.offline and spec.price is None and not allow_unpriced:
        raise UsageError(
            f"--max-cost cannot be kept for {spec}: its price at this endpoint is unknown; give it with "
            "--price IN/OUT (USD per million tokens) or pass --allow-unpriced"
        )


def run_price(spec: ModelSpec, *, batch: bool = False) -> ModelPrice | None:
    """The price a run pays for the spec's tokens: the listed one, halved through the batch API."""
    return batch_price(spec.price) if batch and spec.price is not None else spec.price


def announce_model(spec: ModelSpec) -> None:
    """Say which model, at which endpoint, a run talks to (nothing when offline)."""
    if not spec.offline:
        console.print(f"model: {plain(spec.describe())}", highlight=False)


def build_client(
    spec: ModelSpec, *, cache: Path | None, temperature: float | None, batch: bool = False
) -> LLMClient:
    """The client of a (non-offline) spec, with the replay cache when ``--cache`` is given."""
    return client_for_spec(
        spec,
        temperature=temperature,
        cache_dir=cache,
        cache_normalize=replay_key_request if cache is not None else None,
        batch=batch,
    )


def client_for_model(
    model: str | None,
    base_url: str | None,
    *,
    cache: Path | None = None,
    temperature: float | None = DEFAULT_TEMPERATURE,
    batch: bool = False,
) -> LLMClient | None:
    """The LLM client for ``--model`` (a spec read by ``memex_audit.llm.parse_model_spec``, as in
    every command); ``None`` for ``offline`` or no model."""
    spec = resolve_spec(model, base_url)
    if spec.offline:
        return None
    return build_client(spec, cache=cache, temperature=temperature, batch=batch)


def prompt_version(role: str) -> str:
    """The version of the prompts an agent of ``role`` (``auditor`` or ``aggregator``) is given.

    A declared ``PROMPT_VERSION`` (or ``AUDITOR_PROMPT_VERSION``...) of the role when it has one, and a digest of the
    agent loop's and the role's prompt files, so any edit of a prompt gives another version.
    """
    digest = hashlib.sha256()
    declared = None
    for package in ("memex_audit.agent", f"memex_audit.{role}"):
        try:
            folder = resources.files(package).joinpath("prompts")
            files = sorted((f for f in folder.iterdir() if f.name.endswith(".md")), key=lambda f: f.name)
        except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
            continue
        for file in files:
            digest.update(f"{package}/{file.name}\n".encode())
            digest.update(file.read_bytes())
    names = ("PROMPT_VERSION", f"{role.upper()}_PROMPT_VERSION")
    for module_name in (f"memex_audit.{role}", f"memex_audit.{role}._runner"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        declared = next((getattr(module, n) for n in names if getattr(module, n, None)), None)
        if declared:
            break
    short = digest.hexdigest()[:12]
    return f"{role}/{declared}+{short}" if declared else f"{role}+{short}"


def record_model_settings(
    store: RunStore,
    spec: ModelSpec,
    *,
    role: str,
    temperature: float | None,
    cache: Path | None,
    **params: Any,
) -> RunModelSettings:
    """Write the run's model, prompt version and request parameters into its manifest."""
    request_params: dict[str, Any] = spec.request_params(temperature) if not spec.offline else {}
    if not spec.offline:
        request_params["stop_sequences"] = list(STOP_SEQUENCES) if request_params.get("stop_param") else []
    settings = RunModelSettings(
        spec=str(spec),
        endpoint=spec.endpoint,
        prompt_version=prompt_version(role),
        params={**request_params, **params},
        cache=str(cache) if cache is not None else None,
    )
    store.record_model(settings)
    return settings


__all__ = [
    "BASE_URL_HELP",
    "BATCH_HELP",
    "CACHE_HELP",
    "DEFAULT_TEMPERATURE",
    "MODEL_HELP",
    "TEMPERATURE_HELP",
    "announce_model",
    "build_client",
    "client_for_model",
    "parse_price",
    "priced_spec",
    "prompt_version",
    "record_model_settings",
    "require_price",
    "resolve_spec",
    "run_price",
]


def parse_price(text: str) -> ModelPrice:
    """``IN/OUT`` (USD per million input and output tokens) as a price.

    Raises:
        UsageError: The text is not two non-negative numbers separated by a slash.
    """
    parts = text.split("/")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 2 or any(v < 0 for v in values):
        raise UsageError(f"--price {text!r}: give IN/OUT in USD per million tokens, e.g. 3/15")
    return ModelPrice(input=values[0], output=values[1])
