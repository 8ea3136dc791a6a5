"""``memex-audit ask`` through the real openai SDK against a chat-completions server on 127.0.0.1.

The server (started and stopped by each test) answers with ``tests.ask.policy``: the requests are
the ones a real model gets, the replies the kind of code a model writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memex_audit.cli import app
from memex_audit.llm import allow_model_requests
from memex_audit.runs import RunStore
from tests.ask.policy import reply, rollout_folder
from tests.ask.server import ChatServer

pytestmark = pytest.mark.slow

runner = CliRunner()
QUESTION = "Did the tests pass in the last test run?"


@pytest.fixture
def server() -> Iterator[ChatServer]:
    srv = ChatServer(reply).start()
    try:
        with allow_model_requests(True):
            yield srv
    finally:
        srv.stop()


@pytest.fixture
def fixing_server() -> Iterator[ChatServer]:
    srv = ChatServer(lambda request: reply(request, wrong_quote_first=True)).start()
    try:
        with allow_model_requests(True):
            yield srv
    finally:
        srv.stop()


def _ask(folder: Path, run: Path, server: ChatServer, *extra: str, answer_type: str = "bool") -> list[str]:
    return [
        "ask",
        str(folder),
        QUESTION,
        "--answer-type",
        answer_type,
        "--model",
        "openai:test-model",
        "--base-url",
        server.url,
        "--out",
        str(run),
        *extra,
    ]


@pytest.mark.parametrize(
    ("answer_type", "expected"),
    [
        ("bool", {"true": 2, "false": 1}),
        ("label:pass,fail", {"pass": 2, "fail": 1}),
        ("number", {}),
        ("text", {}),
    ],
)
def test_ask_answers_each_type_and_show_reads_the_run(
    tmp_path: Path, server: ChatServer, answer_type: str, expected: dict[str, int]
) -> None:
    folder, run = rollout_folder(tmp_path), tmp_path / "run"
    result = runner.invoke(
        app,
        _ask(folder, run, server, "--kernel", "inprocess", "--json", answer_type=answer_type),
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload["asked"], payload["errors"], payload["answer_type"]) == (3, 0, answer_type)
    summary = payload["summary"]
    assert summary["counts"] == expected and summary["answered"] == 3
    if answer_type == "number":
        assert summary["numbers"]["min"] == 2.0 and summary["numbers"]["max"] == 3.0
    assert {"manifest.json", "results.jsonl", "summary.json", "answers.parquet", "agent_runs.jsonl"} <= {
        p.name for p in run.iterdir()
    }
    assert all(body["model"] == "test-model" and body["temperature"] == 0.0 for body in server.requests)

    manifest = RunStore.read(run).manifest
    assert manifest.kind == "ask" and manifest.config["question"] == QUESTION
    assert manifest.config["answer_type"] == answer_type
    assert manifest.llm is not None and manifest.llm.prompt_version.startswith("ask/1+")  # type: ignore[union-attr]

    shown = json.loads(runner.invoke(app, ["show", str(run), "--output-format", "json"]).output)
    assert len(shown["results"]) == 3 and shown["summary"]["question"] == QUESTION
    text = runner.invoke(app, ["show", str(run)], terminal_width=200).output
    assert f"question ({answer_type}): {QUESTION}" in text and "run-fail" in text
    assert "step 4: '1 failed, 2 passed'" in text


def test_ask_runs_model_code_in_the_subprocess_kernel_by_default(tmp_path: Path, server: ChatServer) -> None:
    folder, run = rollout_folder(tmp_path), tmp_path / "run"
    result = runner.invoke(app, _ask(folder, run, server, "--limit", "1"), terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "asked about 1 trajectories (0 already done, 0 errors)" in result.output
    assert "true" in result.output
    (agent_run,) = RunStore.read(run).read_run_trajectories()
    assert agent_run.metadata["kernel"] == "subprocess"
    # The helpers ran in the host and their results crossed to the kernel: the first block printed them.
    first_block = next(s for s in agent_run.steps if s.code)
    assert first_block.output == "6 [(1, 'bash', 2, None), (3, 'bash', 4, None)]\n"


def test_a_wrong_quote_is_rejected_and_fixed_through_the_sdk(
    tmp_path: Path, fixing_server: ChatServer
) -> None:
    folder, run = rollout_folder(tmp_path), tmp_path / "run"
    result = runner.invoke(
        app,
        _ask(folder, run, fixing_server, "--kernel", "inprocess", "--where", "id=run-fail"),
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert len(fixing_server.requests) == 3
    rejection = fixing_server.requests[2]["messages"][-1]["content"]
    assert "'3 tests passed' does not occur in step 4 of run-fail" in rejection
    shown = json.loads(runner.invoke(app, ["show", str(run), "--output-format", "json"]).output)
    (answer,) = shown["results"]
    assert answer["answer"] is False and answer["evidence"][0]["quote"] == "1 failed, 2 passed"
    assert answer["producer"]["turns"] == 3


def test_a_rerun_resumes_without_duplicates(tmp_path: Path, server: ChatServer) -> None:
    folder, run = rollout_folder(tmp_path), tmp_path / "run"
    first = runner.invoke(
        app, _ask(folder, run, server, "--kernel", "inprocess", "--limit", "2"), terminal_width=200
    )
    assert first.exit_code == 0, first.output
    sent = len(server.requests)
    assert sent == 4
    again = runner.invoke(
        app, _ask(folder, run, server, "--kernel", "inprocess", "--json"), terminal_width=200
    )
    assert again.exit_code == 0, again.output
    payload = json.loads(again.stdout)
    assert (payload["asked"], payload["skipped"]) == (1, 2) and len(server.requests) == sent + 2
    lines = (run / "results.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["key"] for line in lines) == ["run-fail", "run-pass", "run-ungraded"]
    assert payload["summary"]["trajectories"] == 3

    other_question = [
        arg if arg != QUESTION else "Did it edit parser.py?" for arg in _ask(folder, run, server)
    ]
    other = runner.invoke(app, other_question, terminal_width=200)
    assert other.exit_code == 2 and "holds answers to" in other.output


def test_a_budget_stop_exits_3_and_a_higher_budget_resumes(tmp_path: Path, server: ChatServer) -> None:
    folder, run = rollout_folder(tmp_path), tmp_path / "run"
    args = _ask(folder, run, server, "--kernel", "inprocess", "--concurrency", "1", "--price", "1000/1000")
    args[args.index("openai:test-model")] = "openai:priced-model"  # a price registered for this test only
    stopped = runner.invoke(app, [*args, "--max-cost", "0.01", "--json"], terminal_width=200)
    assert stopped.exit_code == 3, stopped.output
    assert json.loads(stopped.stdout)["stopped"] == "budget" and not server.requests
    errors = RunStore.read(run).read_errors()
    assert {e.kind for e in errors} == {"budget"} and not any(e.final for e in errors)
    resumed = runner.invoke(app, [*args, "--max-cost", "100"], terminal_width=200)
    assert resumed.exit_code == 0, resumed.output
    assert "asked about 3 trajectories" in resumed.output
    assert (
        json.loads(runner.invoke(app, ["show", str(run), "--output-format", "json"]).output)["errors"] == []
    )


def test_dry_run_estimates_and_writes_nothing(tmp_path: Path) -> None:
    folder, run = rollout_folder(tmp_path), tmp_path / "run"
    base = ["ask", str(folder), QUESTION, "--answer-type", "label:pass,fail", "--out", str(run), "--dry-run"]
    priced = runner.invoke(
        app, [*base, "--model", "anthropic:claude-sonnet-4-6", "--limit", "2"], terminal_width=300
    )
    assert priced.exit_code == 0, priced.output
    assert (
        "would ask about 2 trajectories with claude-sonnet-4-6 (0 already done, 1 not selected)"
        in priced.output
    )
    assert "estimated cost: $" in priced.output and "($3 in / $15 out per Mtok)" in priced.output
    local = runner.invoke(
        app,
        [*base, "--model", "openai:test-model", "--base-url", "http://127.0.0.1:9/v1", "--json"],
        terminal_width=300,
    )
    assert local.exit_code == 0, local.output
    estimate = json.loads(local.stdout)
    assert estimate["to_ask"] == 3 and estimate["cost_usd"] is None and estimate["input_tokens"] > 0
    assert not run.exists()


@pytest.mark.parametrize("model", [None, "offline"])
def test_offline_ask_says_a_model_is_needed_and_points_at_check(tmp_path: Path, model: str | None) -> None:
    folder, run = rollout_folder(tmp_path), tmp_path / "run"
    args = ["ask", str(folder), QUESTION, "--answer-type", "bool", "--out", str(run)]
    result = runner.invoke(app, [*args, *(["--model", model] if model else [])], terminal_width=300)
    assert result.exit_code == 2
    assert "ask needs a model" in result.output and "memex-audit check" in result.output
    assert not run.exists()


def test_a_bad_answer_type_is_a_usage_error(tmp_path: Path) -> None:
    folder = rollout_folder(tmp_path)
    result = runner.invoke(
        app, ["ask", str(folder), QUESTION, "--answer-type", "list", "--model", "openai:m"]
    )
    assert result.exit_code == 2 and "bool, label:a,b,c, number or text" in result.output
