"""``--model`` means the same in ``audit``, ``aggregate`` and Python; ``--cache`` replays a run exactly.

The replay test serves an OpenAI-compatible API on 127.0.0.1 (started and stopped by the test):
the first run records every reply in the cache, the rerun sends no request and writes the same
results.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from memex_audit.auditor import OfflineAuditPolicy
from memex_audit.cli import app
from memex_audit.cli._aggregate import client_for_model
from memex_audit.cli._audit import _model_client
from memex_audit.llm import (
    CachedClient,
    WithDefaults,
    allow_model_requests,
)
from memex_audit.runs import RunStore
from tests.cli.test_audit import _folder
from tests.fake_openai import FakeOpenAI, Reply, ok

runner = CliRunner()


def _route(client: Any) -> tuple[str, str, str | None, Any]:
    inner = client.inner if isinstance(client, WithDefaults) else client
    if isinstance(inner, CachedClient):
        inner = inner.inner
    url = getattr(inner, "base_url", None) or getattr(inner, "_base_url", None)
    return type(inner).__name__, inner.model, url, getattr(inner, "price", None)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "base_url", "env", "kind", "name", "url"),
    [
        ("anthropic:claude-sonnet-4-6", None, {}, "AnthropicClient", "claude-sonnet-4-6", None),
        ("claude-sonnet-4-6", None, {}, "AnthropicClient", "claude-sonnet-4-6", None),
        # With OPENAI_BASE_URL set, a Claude model still goes to Anthropic, in both commands.
        (
            "claude-sonnet-4-6",
            None,
            {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"},
            "AnthropicClient",
            "claude-sonnet-4-6",
            None,
        ),
        (
            "openai:qwen3-32b",
            "http://127.0.0.1:9/v1",
            {},
            "OpenAICompatibleClient",
            "qwen3-32b",
            "http://127.0.0.1:9/v1",
        ),
        ("openai:gpt-4.1", None, {}, "OpenAICompatibleClient", "gpt-4.1", "https://api.openai.com/v1"),
        (
            "qwen3-32b",
            None,
            {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"},
            "OpenAICompatibleClient",
            "qwen3-32b",
            "http://127.0.0.1:9/v1",
        ),
    ],
)
def test_audit_and_aggregate_route_a_spec_identically(
    monkeypatch: pytest.MonkeyPatch,
    model: str,
    base_url: str | None,
    env: dict[str, str],
    kind: str,
    name: str,
    url: str | None,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    audit_client = _model_client(model, base_url)
    aggregate_client = client_for_model(model, base_url)
    assert _route(audit_client) == _route(aggregate_client)
    assert _route(audit_client)[:3] == (kind, name, url)
    assert isinstance(audit_client, WithDefaults) and isinstance(aggregate_client, WithDefaults)
    assert audit_client.temperature == aggregate_client.temperature


def test_offline_means_the_offline_policies_in_both_commands() -> None:
    assert isinstance(_model_client("offline", None), OfflineAuditPolicy)
    assert isinstance(_model_client(None, None), OfflineAuditPolicy)
    assert client_for_model("offline", None) is None and client_for_model(None, None) is None


def test_dry_run_prices_at_the_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _folder(tmp_path)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    claude = runner.invoke(
        app,
        [
            "audit",
            str(folder),
            "-o",
            str(tmp_path / "a"),
            "--model",
            "anthropic:claude-sonnet-4-6",
            "--dry-run",
        ],
        terminal_width=300,
    )
    assert claude.exit_code == 0, claude.output
    assert (
        "anthropic:claude-sonnet-4-6 at https://api.anthropic.com ($3 in / $15 out per Mtok)" in claude.output
    )
    assert "estimated cost: $" in claude.output
    # The same name served by an OpenAI-compatible server has no known price: never Claude's.
    proxied = runner.invoke(
        app,
        ["audit", str(folder), "-o", str(tmp_path / "b"), "--model", "openai:claude-sonnet-4-6", "--dry-run"],
        terminal_width=300,
    )
    assert proxied.exit_code == 0, proxied.output
    assert "at http://127.0.0.1:9/v1 (price unknown)" in proxied.output
    assert "estimated cost: unknown" in proxied.output
    monkeypatch.delenv("OPENAI_BASE_URL")
    bad = runner.invoke(
        app, ["audit", str(folder), "-o", str(tmp_path / "c"), "--model", "qwen3"], terminal_width=300
    )
    assert bad.exit_code == 2 and "openai:qwen3" in bad.output


# -- record and replay -------------------------------------------------------------------------


def _replay_reply(body: dict[str, Any]) -> Reply:
    """Replies that follow from the request alone, so a rerun asks the same things."""
    turns = sum(1 for m in body["messages"] if m["role"] == "assistant")
    if "AggregatorDecision" in body["messages"][0]["content"]:  # the system prompt
        code = (
            "print(len(rollouts))"
            if turns == 0
            else "submit({'answer': rollouts[0].final_answer, 'rationale': 'replay test'})"
        )
    else:
        code = (
            "print(target.id, len(target.steps), len(task.trajectories))"
            if turns == 0
            else "submit({'primary': 'unclassified', 'explanation': 'replay test', 'confidence': 0.0})"
        )
    return ok(body, f"Next.\n```python\n{code}\n```")


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(_replay_reply) as srv, allow_model_requests(True):
        yield srv


def _results(run: Path) -> list[dict[str, Any]]:
    path = run / "results.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return sorted(lines, key=lambda line: line["key"])


def _result_lines(run: Path) -> list[bytes]:
    """The result lines as written, byte for byte (in key order: concurrent units finish in any order)."""
    path = run / "results.jsonl"
    return sorted(path.read_bytes().splitlines()) if path.exists() else []


def _errors(run: Path) -> list[dict[str, Any]]:
    path = run / "errors.jsonl"
    lines = [json.loads(line)["failure"] for line in path.read_text().splitlines()] if path.exists() else []
    for line in lines:
        line.pop("at")
    return sorted(lines, key=lambda line: line["key"])


@pytest.mark.slow
def test_a_cached_rerun_sends_no_request_and_reproduces_the_results(
    tmp_path: Path, server: FakeOpenAI
) -> None:
    folder, cache = _folder(tmp_path), tmp_path / "cache"
    args = [
        "--model",
        "openai:test-model",
        "--base-url",
        server.url,
        "--cache",
        str(cache),
        "--max-turns",
        "3",
    ]
    first = runner.invoke(
        app, ["audit", str(folder), "-o", str(tmp_path / "run1"), *args], terminal_width=300
    )
    assert first.exit_code == 0, first.output
    sent = len(server.requests)
    assert sent > 0 and f"0 replies replayed, {sent} requests sent" in first.output
    assert all(body["temperature"] == 0.0 and body["max_tokens"] == 4096 for body in server.requests)

    again = runner.invoke(
        app, ["audit", str(folder), "-o", str(tmp_path / "run2"), *args], terminal_width=300
    )
    assert again.exit_code == 0, again.output
    assert len(server.requests) == sent  # nothing sent: every reply came from the cache
    assert f"{sent} replies replayed, 0 requests sent" in again.output
    assert _results(tmp_path / "run1") == _results(tmp_path / "run2")
    assert _result_lines(tmp_path / "run1") == _result_lines(tmp_path / "run2")  # byte for byte
    assert _errors(tmp_path / "run1") == _errors(tmp_path / "run2")
    assert len(_results(tmp_path / "run1")) + len(_errors(tmp_path / "run1")) == 7
    assert _results(tmp_path / "run1"), _errors(tmp_path / "run1")  # the verdicts were accepted
    assert (tmp_path / "run1" / "summary.json").read_bytes() == (
        tmp_path / "run2" / "summary.json"
    ).read_bytes()

    manifest = RunStore.read(tmp_path / "run2").manifest
    assert manifest.config["model"] == "openai:test-model"
    assert manifest.llm is not None
    assert manifest.llm.spec == "openai:test-model" and manifest.llm.endpoint == server.url
    assert manifest.llm.params["temperature"] == 0.0 and manifest.llm.params["token_param"] == "max_tokens"
    assert manifest.llm.params["stop_sequences"] == ["<end_code>"] and manifest.llm.params["max_turns"] == 3
    assert manifest.llm.cache == str(cache)
    assert manifest.llm.prompt_version and manifest.llm.prompt_version.startswith("auditor")


def test_the_offline_run_records_its_settings_too(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    result = runner.invoke(app, ["audit", str(folder), "-o", str(tmp_path / "run")], terminal_width=300)
    assert result.exit_code == 0, result.output
    manifest = RunStore.read(tmp_path / "run").manifest
    assert manifest.llm is not None and manifest.llm.spec == "offline" and manifest.llm.endpoint is None


@pytest.mark.slow
def test_aggregate_replays_from_the_cache_too(tmp_path: Path, server: FakeOpenAI) -> None:
    folder, cache = _folder(tmp_path), tmp_path / "cache"
    args = ["--model", "openai:test-model", "--base-url", server.url, "--cache", str(cache), "--no-scaling"]
    first = runner.invoke(
        app, ["aggregate", str(folder), "-o", str(tmp_path / "run1"), *args], terminal_width=300
    )
    assert first.exit_code == 0, first.output
    sent = len(server.requests)
    assert sent > 0 and "model: openai:test-model at " + server.url in first.output
    again = runner.invoke(
        app, ["aggregate", str(folder), "-o", str(tmp_path / "run2"), *args], terminal_width=300
    )
    assert again.exit_code == 0, again.output
    assert len(server.requests) == sent and f"{sent} replies replayed, 0 requests sent" in again.output
    one, two = (
        [json.loads(line) for line in (tmp_path / run / "results.jsonl").read_text().splitlines()]
        for run in ("run1", "run2")
    )
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
    manifest = RunStore.read(tmp_path / "run2").manifest
    assert manifest.llm is not None and manifest.llm.spec == "openai:test-model"
    assert manifest.llm.prompt_version and manifest.llm.prompt_version.startswith("aggregator")
