"""Inspect AI eval logs (.json and the .eval zip), written here from Inspect's public log schema."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import orjson

from memex_audit.loaders import load, sniff_format


def inspect_sample(sample_id: int | str, value: str, *, epoch: int = 1) -> dict[str, Any]:
    """An ``EvalSample`` with a tool call, a failing tool, reasoning and an attachment reference."""
    return {
        "id": sample_id,
        "epoch": epoch,
        "uuid": f"uuid-{sample_id}-{epoch}",
        "input": "What were total outlays in 1944?",
        "target": "95,059",
        "messages": [
            {"id": "m0", "role": "system", "content": "Use the tools.", "source": "input"},
            {"id": "m1", "role": "user", "content": "What were total outlays in 1944?", "source": "input"},
            {
                "id": "m2",
                "role": "assistant",
                "model": "anthropic/claude-sonnet-4-5",
                "source": "generate",
                "content": [
                    {"type": "reasoning", "reasoning": "Search the bulletin.", "redacted": False},
                    {"type": "text", "text": "Searching."},
                ],
                "tool_calls": [
                    {
                        "id": "tc1",
                        "function": "bash",
                        "arguments": {"cmd": "grep outlays bulletin.txt"},
                        "type": "function",
                    }
                ],
            },
            {
                "id": "m3",
                "role": "tool",
                "tool_call_id": "tc1",
                "function": "bash",
                "content": "attachment://a1b2",
                "error": {"type": "timeout", "message": "command timed out"},
            },
            {"id": "m4", "role": "assistant", "content": "ANSWER: 95,059", "source": "generate"},
        ],
        "output": {"model": "anthropic/claude-sonnet-4-5", "completion": "ANSWER: 95,059", "choices": []},
        "scores": {"match": {"value": value, "answer": "95,059", "explanation": "compared"}},
        "metadata": {"difficulty": "easy"},
        "model_usage": {
            "anthropic/claude-sonnet-4-5": {
                "input_tokens": 1000,
                "output_tokens": 80,
                "total_tokens": 1080,
                "input_tokens_cache_read": 700,
                "total_cost": 0.01,
            }
        },
        "events": [{"event": "model", "timestamp": "2025-01-01T00:00:00Z"}],
        "attachments": {"a1b2": "outlays 1944 95,059 ... (a long grep output)"},
    }


def inspect_header() -> dict[str, Any]:
    """The log header: version, status, the eval spec and its plan."""
    return {
        "version": 2,
        "status": "success",
        "eval": {
            "eval_id": "ev1",
            "run_id": "run1",
            "created": "2025-01-01T00:00:00+00:00",
            "task": "budget_qa",
            "task_version": 0,
            "dataset": {"name": "budget", "samples": 2},
            "model": "anthropic/claude-sonnet-4-5",
            "solver": "react",
        },
        "plan": {"name": "plan", "steps": [{"solver": "react", "params": {}}]},
        "results": {"total_samples": 2, "completed_samples": 2},
        "stats": {"started_at": "2025-01-01T00:00:00+00:00"},
    }


def test_json_log_gives_a_trajectory_per_sample_with_scores(tmp_path: Path) -> None:
    path = tmp_path / "2025-01-01_budget-qa.json"
    path.write_bytes(
        orjson.dumps({**inspect_header(), "samples": [inspect_sample(1, "C"), inspect_sample(2, "I")]})
    )
    assert sniff_format(path).name == "inspect"  # type: ignore[union-attr]
    result = load(path)
    assert result.errors == []
    first, second = result.trajectories
    assert (first.id, first.task_id, first.model, first.harness) == (
        "2025-01-01_budget-qa/1/1",
        "budget_qa/1",
        "anthropic/claude-sonnet-4-5",
        "react",
    )
    assert (first.outcome.correct, first.outcome.score, second.outcome.correct) == (True, 1.0, False)
    assert first.outcome.details["match"]["explanation"] == "compared"  # type: ignore[index]
    assert first.ground_truth == "95,059" and first.final_answer == "ANSWER: 95,059"
    step = first.steps[2]
    assert step.text == "Searching." and step.reasoning == "Search the bulletin."
    assert (step.tool_calls[0].name, step.tool_calls[0].arguments) == (
        "bash",
        {"cmd": "grep outlays bulletin.txt"},
    )
    tool = first.steps[3]
    assert (tool.tool_call_id, tool.tool_name) == ("tc1", "bash")
    assert tool.output == "outlays 1944 95,059 ... (a long grep output)"  # attachment resolved
    assert tool.error == "timeout: command timed out"
    assert (
        first.usage.input_tokens == 1000
        and first.usage.cache_read_tokens == 700
        and first.usage.cost_usd == 0.01
    )
    assert first.metadata["omitted_fields"] == ["events", "attachments"]
    assert first.metadata["metadata"] == {"difficulty": "easy"}


def test_eval_zip_reads_each_sample_and_reports_a_broken_one(tmp_path: Path) -> None:
    path = tmp_path / "budget.eval"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("_journal/start.json", orjson.dumps(inspect_header()))
        archive.writestr("header.json", orjson.dumps(inspect_header()))
        archive.writestr("samples/1_epoch_1.json", orjson.dumps(inspect_sample(1, "C")))
        archive.writestr("samples/1_epoch_2.json", orjson.dumps(inspect_sample(1, "P", epoch=2)))
        archive.writestr("samples/2_epoch_1.json", b'{"id": 2, "messages": [')
        archive.writestr("summaries.json", b"[]")
    assert sniff_format(path).name == "inspect"  # type: ignore[union-attr]
    result = load(path)
    assert [t.id for t in result.trajectories] == ["budget/1/1", "budget/1/2"]
    assert [t.outcome.score for t in result.trajectories] == [1.0, 0.5]
    assert result.trajectories[1].metadata["archive_entry"] == "samples/1_epoch_2.json"
    [error] = result.errors
    assert error.field == "samples/2_epoch_1.json" and "malformed sample" in error.reason
    assert len(result.tasks()) == 1


def test_a_sample_with_bad_messages_is_an_error_and_the_log_still_loads(tmp_path: Path) -> None:
    bad = inspect_sample(2, "C")
    bad["messages"][2]["tool_calls"][0].pop("function")
    path = tmp_path / "log.json"
    path.write_bytes(orjson.dumps({**inspect_header(), "samples": [inspect_sample(1, "C"), bad]}))
    result = load(path)
    assert len(result.trajectories) == 1
    [error] = result.errors
    assert (error.line, error.field) == (2, "samples.1.messages.2.tool_calls.0.function")


def test_a_log_folder_index_is_a_companion_and_a_sampleless_log_says_why(tmp_path: Path) -> None:
    (tmp_path / "logs.json").write_bytes(orjson.dumps({"2025-01-01_budget.json": inspect_header()}))
    (tmp_path / "header-only.json").write_bytes(orjson.dumps(inspect_header()))
    result = load(tmp_path)
    assert result.trajectories == []
    assert [Path(p).name for p in result.skipped] == ["logs.json"]
    [error] = result.errors
    assert error.format == "inspect" and "no samples" in error.reason


REAL_EVAL = Path(__file__).parent / "fixtures" / "inspect_mockllm_0.3.285.eval"


def test_an_eval_written_by_inspect_ai_with_zstd_entries_loads() -> None:
    # inspect_ai 0.3.285 compresses every entry with zstd (zip method 93); see fixtures/README.md.
    with zipfile.ZipFile(REAL_EVAL) as archive:
        assert {info.compress_type for info in archive.infolist()} == {93}
    result = load(REAL_EVAL)
    assert result.errors == [] and result.warnings == []
    by_id = {t.metadata["sample_id"]: t for t in result.trajectories}
    solved, wrong = by_id["outlays-1944"], by_id["seven-plus-five"]
    assert (solved.success, wrong.success) == (True, False)
    assert (solved.task_id, solved.model) == ("outlays/outlays-1944", "mockllm/model")
    assert solved.question == "What were total federal outlays in 1944, in millions?"
    assert (solved.ground_truth, solved.final_answer) == ("95,059", "ANSWER: 95,059")
    assert [s.role for s in solved.steps] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    first_call = solved.steps[2].tool_calls[0]
    assert (first_call.name, first_call.arguments) == ("lookup", {"year": 1844})
    refused = solved.steps[3]
    assert (
        refused.tool_call_id == first_call.id
        and refused.error is not None
        and "no bulletin for 1844" in refused.error
    )
    assert solved.steps[5].output == "Total outlays in 1944: 95,059 million dollars"
    assert solved.usage.input_tokens == 120 + 160 + 200
    assert wrong.final_answer == "ANSWER: 12" and wrong.ground_truth == "13"


def test_a_damaged_zstd_entry_is_one_error(tmp_path: Path) -> None:
    data = bytearray(REAL_EVAL.read_bytes())
    with zipfile.ZipFile(REAL_EVAL) as archive:
        info = archive.getinfo("samples/seven-plus-five_epoch_1.json")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + 20 : start + 40] = b"\x00" * 20
    path = tmp_path / "damaged.eval"
    path.write_bytes(bytes(data))
    result = load(path)
    assert [t.metadata["sample_id"] for t in result.trajectories] == ["outlays-1944"]
    [error] = result.errors
    assert error.field == "samples/seven-plus-five_epoch_1.json" and "malformed sample" in error.reason
