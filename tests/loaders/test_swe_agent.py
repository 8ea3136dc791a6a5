"""mini-swe-agent / SWE-agent trajectories, graded by the SWE-bench reports beside them."""

from __future__ import annotations

import json
from pathlib import Path

import orjson

from memex_audit.loaders import load


def test_trajectories_load_and_reports_are_companions_not_errors(shared_data: Path) -> None:
    folder = shared_data / "mini_swe_agent"
    result = load(folder)
    assert result.errors == []
    runs = list(folder.glob("trajs/*/*.traj.json"))
    assert len(result.trajectories) == len(runs) > 0
    reports = list(folder.glob("logs/*/report.json"))
    assert sum(1 for s in result.skipped if s.endswith("report.json")) == len(reports)
    assert any(s.endswith("results_summary.json") for s in result.skipped)
    summary = json.loads((folder / "results_summary.json").read_text())
    resolved = {i["instance_id"]: i["resolved"] for i in summary["instances"]}
    for t in result.trajectories:
        assert t.outcome.correct == resolved[t.task_id]
        # A few upstream files spell the model "@google/…": the adapter keeps what the file says.
        assert t.harness == "mini-swe-agent" and t.model in (
            "google/gemini-3-pro-preview",
            "@google/gemini-3-pro-preview",
        )
    assert sum(t.outcome.correct is True for t in result.trajectories) == sum(
        resolved[t.task_id] is True for t in result.trajectories
    )


def test_bash_actions_become_tool_calls_answered_by_observations(shared_data: Path) -> None:
    path = shared_data / "mini_swe_agent/trajs/astropy__astropy-12907/astropy__astropy-12907.traj.json"
    [t] = load(path).trajectories
    raw = json.loads(path.read_text())
    assert len(t.steps) == len(raw["messages"]) == 42
    action, observation = t.steps[2], t.steps[3]
    assert action.code == "ls -R"
    assert (action.tool_calls[0].name, action.tool_calls[0].arguments) == ("bash", {"command": "ls -R"})
    assert observation.role == "tool" and observation.tool_call_id == action.tool_calls[0].id
    assert observation.metadata["returncode"] == 0 and observation.error is None
    assert action.reasoning is not None and "Exploring the Codebase" in action.reasoning
    assert t.final_answer == raw["info"]["submission"]
    assert t.usage.cost_usd == raw["info"]["model_stats"]["instance_cost"]
    assert t.outcome.details["tests"]["FAIL_TO_PASS"] == {"passed": 2, "failed": 0, "failures": []}  # type: ignore[index]
    assert t.question is not None and t.question.startswith("Consider the following PR description")


def test_swe_agent_traj_and_a_failing_command(tmp_path: Path) -> None:
    traj = {
        "trajectory": [
            {
                "thought": "look",
                "action": "cat x.py",
                "observation": "cat: x.py: No such file",
                "response": "r",
            },
            {"thought": "submit", "action": "submit", "observation": "diff --git a b"},
        ],
        "info": {
            "exit_status": "submitted",
            "submission": "diff --git a b",
            "model_stats": {"instance_cost": 0.5},
        },
    }
    path = tmp_path / "run" / "django__django-1.traj"
    path.parent.mkdir()
    path.write_bytes(orjson.dumps(traj))
    (tmp_path / "run" / "results.json").write_bytes(orjson.dumps({"resolved": ["django__django-1"]}))
    [t] = load(tmp_path).trajectories
    assert t.task_id == "django__django-1" and t.harness == "swe-agent"
    assert [s.role for s in t.steps] == ["assistant", "tool", "assistant", "tool"]
    assert t.steps[1].tool_call_id == t.steps[0].tool_calls[0].id and t.steps[0].code == "cat x.py"
    assert t.outcome.correct is True and t.usage.cost_usd == 0.5


def test_a_malformed_trajectory_file_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "a.traj.json").write_text('{"instance_id": "x", "messages": 3}')
    (tmp_path / "b.traj.json").write_bytes(
        orjson.dumps({"instance_id": "y", "messages": [{"role": "user", "content": "fix it"}], "info": {}})
    )
    result = load(tmp_path)
    assert [t.task_id for t in result.trajectories] == ["y"]
    [error] = result.errors
    assert error.field == "messages" and error.format == "swe_agent"
