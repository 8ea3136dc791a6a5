"""``benchmarks/judgement.py --model``: the estimate first, nothing spent without ``--yes``, then the
same figures as the offline run from the LLM auditor and aggregator, replayable from the cache.

The model is an OpenAI-compatible server on 127.0.0.1 that the test starts and stops; its replies
follow from the request alone (look, then submit), so a rerun from the cache must print the same.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from memex_audit.llm import allow_model_requests
from tests.fake_openai import FakeOpenAI, ok

ROOT = Path(__file__).resolve().parents[2]


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("judgement_benchmark", ROOT / "benchmarks" / "judgement.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _reply(body: dict[str, Any]) -> str:
    system = body["messages"][0]["content"]
    looked = any(m["role"] == "assistant" for m in body["messages"])
    if "AggregatorDecision" in system:
        code = (
            "print([(r.id, r.final_answer) for r in rollouts][:2])"
            if not looked
            else "submit({'answer': rollouts[0].final_answer, 'chosen_rollouts': [rollouts[0].id], "
            "'rationale': 'first rollout, checked nothing', 'confidence': 0.1})"
        )
    else:
        code = (
            "print(target.id, len(target.steps))"
            if not looked
            else "submit({'primary': 'unclassified', 'explanation': 'looked at the size only', "
            "'confidence': 0.0})"
        )
    return f"Let me look first.\n```python\n{code}\n```\n<end_code>"


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with (
        FakeOpenAI(lambda body: ok(body, _reply(body), completion_tokens=30)) as srv,
        allow_model_requests(True),
    ):
        yield srv


def _args(shared_data: Path, server: FakeOpenAI, *more: str) -> list[str]:
    return [
        "--data",
        str(shared_data),
        "--model",
        "openai:judge-test",
        "--base-url",
        server.url,
        "--limit",
        "2",
        "--kernel",
        "inprocess",
        *more,
    ]


def test_nothing_is_sent_without_yes(
    shared_data: Path, server: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    _benchmark().main(_args(shared_data, server))
    out = capfd.readouterr().out
    assert server.requests == []
    assert f"model: openai:judge-test at {server.url} (price unknown)" in out
    assert "coding runs (taxonomy coding): 2 failed runs to audit" in out
    assert "multi-agent logs (taxonomy mast): 2 failed runs to audit" in out
    assert "customer-service audits (taxonomy customer_service): 2 failed runs to audit" in out
    assert "customer-service aggregation (best-of-4): 2 tasks" in out
    assert "estimated cost: unknown" in out and "add --yes" in out


@pytest.mark.slow
def test_the_model_path_prints_the_figures_and_replays_from_the_cache(
    shared_data: Path, server: FakeOpenAI, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    _benchmark().main(_args(shared_data, server, "--cache", str(cache), "--yes"))
    first = capfd.readouterr().out
    sent = len(server.requests)
    assert sent > 0
    assert all(body["temperature"] == 0.0 and body["stop"] == ["<end_code>"] for body in server.requests)
    # The figures of the offline run, from the model's verdicts (2 audits per set).
    assert "== coding runs" in first and "2 failed runs audited (taxonomy coding)" in first
    assert "classified labels consistent with exit status" in first and "unclassified: 100.0%" in first
    assert "2 failed logs audited (taxonomy mast)" in first and "[all] n=2: faulty agent" in first
    assert "audits of 2 failed rollouts (customer_service): unclassified 2" in first
    assert "openai:judge-test: 2 tasks aggregated" in first
    assert re.search(r"^ llm +│ +[01]\.\d{3} │ +2 │", first, re.MULTILINE)  # eval-aggregate's accuracy row
    assert (
        "audits ended: verdict 6" in first and "and some unknown" in first
    )  # no price at this endpoint and "mast: 2 verdicts accepted, 0 audits without one" in first
    assert f"0 replies replayed, {sent} requests sent" in first

    # The rerun replays every reply: nothing is sent and the figures are the same.
    _benchmark().main(_args(shared_data, server, "--cache", str(cache), "--yes"))
    again = capfd.readouterr().out
    assert len(server.requests) == sent
    assert f"{sent} replies replayed, 0 requests sent" in again

    def figures(text: str) -> list[str]:
        return [line for line in text.splitlines() if "replayed" not in line and "errors.jsonl" not in line]

    assert figures(again) == figures(first)


def test_a_priced_model_without_a_key_is_estimated_then_refused(
    shared_data: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        _benchmark().main(
            ["--data", str(shared_data), "--model", "anthropic:claude-sonnet-4-6", "--limit", "1", "--yes"]
        )
    out = capfd.readouterr().out
    assert "model: anthropic:claude-sonnet-4-6 at https://api.anthropic.com ($3 in / $15 out per Mtok)" in out
    assert re.search(r"estimated cost: \$\d+\.\d{4}$", out, re.MULTILINE)
    assert "ANTHROPIC_API_KEY" in str(stopped.value)
