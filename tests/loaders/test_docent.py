"""Docent AgentRun records, written here from Docent's public data models (AgentRun, Transcript)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from memex_audit.loaders import load, sniff_format


def docent_run(run_id: str = "run-1", correct: bool = False) -> dict[str, Any]:
    """A two-agent run: a planner transcript and a solver transcript with a tool call."""
    return {
        "id": run_id,
        "name": "budget run",
        "transcripts": [
            {
                "id": "tr-planner",
                "name": "planner",
                "messages": [
                    {"role": "user", "content": "What were total outlays in 1944?"},
                    {"role": "assistant", "content": "Plan: look up the 1944 bulletin."},
                ],
                "metadata": {"turns": 1},
            },
            {
                "id": "tr-solver",
                "name": "solver",
                "messages": [
                    {
                        "role": "assistant",
                        "content": [
                            {"type": "reasoning", "reasoning": "Use search."},
                            {"type": "text", "text": "Searching."},
                        ],
                        "tool_calls": [
                            {"id": "c1", "function": "search", "arguments": {"q": "outlays 1944"}}
                        ],
                    },
                    {"role": "tool", "tool_call_id": "c1", "function": "search", "content": "95,059"},
                    {"role": "assistant", "content": "95,059 million"},
                ],
            },
        ],
        "metadata": {
            "task_id": "budget-1944",
            "model": "gpt-4.1",
            "agent": "planner-solver",
            "scores": {"correct": correct, "f1": 0.4},
            "split": "dev",
        },
    }


def test_agent_run_transcripts_become_one_trajectory(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_bytes(orjson.dumps(docent_run()))
    assert sniff_format(path).name == "docent"  # type: ignore[union-attr]
    [t] = load(path).trajectories
    assert (t.id, t.task_id, t.model, t.harness) == ("run-1", "budget-1944", "gpt-4.1", "planner-solver")
    assert [s.metadata["transcript"] for s in t.steps] == ["planner", "planner", "solver", "solver", "solver"]
    assert t.agents == ["planner", "solver"]
    assert t.steps[2].reasoning == "Use search." and t.steps[2].tool_calls[0].arguments == {
        "q": "outlays 1944"
    }
    assert (t.steps[3].role, t.steps[3].tool_call_id, t.steps[3].output) == ("tool", "c1", "95,059")
    assert t.outcome.correct is False and t.outcome.details == {"correct": False, "f1": 0.4}
    assert t.metadata["split"] == "dev" and t.metadata["name"] == "budget run"
    assert t.final_answer == "95,059 million"


def test_jsonl_of_runs_with_a_malformed_one(tmp_path: Path) -> None:
    bad = docent_run("run-2")
    bad["transcripts"][1]["messages"] = {"role": "user"}
    path = tmp_path / "runs.jsonl"
    path.write_bytes(
        b"\n".join(orjson.dumps(r) for r in (docent_run("run-1", True), bad, docent_run("run-3")))
    )
    result = load(path)
    assert [(t.id, t.success) for t in result.trajectories] == [("run-1", True), ("run-3", False)]
    [error] = result.errors
    assert (error.line, error.field, error.format) == (2, "transcripts.1.messages", "docent")
