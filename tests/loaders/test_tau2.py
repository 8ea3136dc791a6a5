"""τ²-bench results files: one trajectory per simulation, rewards and gold actions as in the files."""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from pathlib import Path

import orjson

from memex_audit.loaders import LoadResult, load, sniff_format
from memex_audit.trajectory import Trajectory

AIRLINE = "tau2_bench/airline_runs"


@lru_cache(maxsize=4)
def _load(path: Path) -> LoadResult:
    return load(path)


def _by_file(result: LoadResult) -> dict[str, list[Trajectory]]:
    files: dict[str, list[Trajectory]] = {}
    for t in result.trajectories:
        assert t.source is not None and t.source.file is not None
        files.setdefault(Path(t.source.file).name, []).append(t)
    return files


def test_airline_runs_load_without_errors_as_tau2(shared_data: Path) -> None:
    result = _load(shared_data / AIRLINE)
    assert result.errors == []
    assert {t.source.format for t in result.trajectories if t.source} == {"tau2"}
    assert {t.harness for t in result.trajectories} == {"tau2"}
    assert len({t.id for t in result.trajectories}) == len(result.trajectories)


def test_airline_runs_cover_the_50_tasks_with_rewards_matching_each_file(shared_data: Path) -> None:
    result = _load(shared_data / AIRLINE)
    assert len({t.task_id for t in result.trajectories}) == 50
    loaded = _by_file(result)
    for file in sorted((shared_data / AIRLINE).glob("*.json")):
        doc = json.loads(file.read_text())
        sims = doc if isinstance(doc, list) else doc["simulations"]
        # Count rewards from the file itself, independently of the adapter.
        expected = Counter(float(s["reward_info"]["reward"]) for s in sims)
        got = Counter(t.outcome.reward for t in loaded[file.name])
        assert got == expected, file.name
        assert all(t.outcome.correct == (t.outcome.reward == 1.0) for t in loaded[file.name])
        with_ids = [s for s in sims if s.get("task_id") is not None]
        if with_ids:
            expected_by_task = {f"tau2/airline/{s['task_id']}": s["reward_info"]["reward"] for s in with_ids}
            assert {t.task_id: t.outcome.reward for t in loaded[file.name]} == expected_by_task


def test_missing_task_ids_are_derived_so_every_task_appears_once(shared_data: Path) -> None:
    loaded = _by_file(_load(shared_data / AIRLINE))["toolorchestra_airline_1trial.json"]
    assert len(loaded) == 50
    assert len({t.task_id for t in loaded}) == 50
    derived = Counter(t.metadata["task_id_derived_from"] for t in loaded)
    assert derived == {"action_checks": 43, "nl_assertions": 7}
    task27 = next(t for t in loaded if t.task_id == "tau2/airline/27")
    assert task27.metadata["id"] == "b2edae74-ba1e-49d6-a5e4-192fc17c0718"
    assert task27.model == "gpt-4.1-mini-2025-04-14"


def test_tool_calls_results_gold_actions_and_usage_are_mapped(shared_data: Path) -> None:
    loaded = _by_file(_load(shared_data / AIRLINE))["aide_claude-sonnet-4-5_airline_1trial.json"]
    t = next(t for t in loaded if t.task_id == "tau2/airline/13")
    assert t.id == "aide_claude-sonnet-4-5_airline_1trial/13/0"
    assert t.model == "claude-sonnet-4-5"
    assert t.metadata["agent_id"] == "aide_claude-sonnet-4-5_airline_1trial"
    call = t.steps[4].tool_calls[0]
    assert (call.name, call.arguments) == ("get_reservation_details", {"reservation_id": "XEWRD9"})
    tool = t.steps[5]
    assert tool.role == "tool" and tool.tool_call_id == call.id
    assert tool.tool_name == "get_reservation_details"
    assert '"reservation_id": "XEWRD9"' in (tool.output or "")
    assert t.ground_truth == [
        {
            "name": "transfer_to_human_agents",
            "arguments": {
                "summary": "User wants to change my upcoming one stop flight from ATL to LAX within reservation "
                "XEWRD9 to a nonstop flight from ATL to LAS (Las Vegas). Origin and destination of a "
                "reservation cannot be modified."
            },
            "action_id": "13_0",
            "requestor": "assistant",
        }
    ]
    assert t.outcome.reward == 1.0 and t.outcome.details["reward_breakdown"] == {
        "DB": 1.0,
        "COMMUNICATE": 1.0,
    }
    assert t.steps[2].usage is not None and t.steps[2].usage.input_tokens == 5730
    assert t.usage.cost_usd is not None and abs(t.usage.cost_usd - 0.113433) < 1e-9
    assert "Airline Agent Policy" in str(t.metadata["policy"])
    assert t.question is not None and "reason for call" in t.question


def test_a_bare_list_of_simulations_still_loads(shared_data: Path) -> None:
    loaded = _by_file(_load(shared_data / AIRLINE))["ironshell-adaptive_claude-opus-4-6_airline_1trial.json"]
    assert len(loaded) == 50
    assert all(t.task_id.startswith("tau2/airline/") for t in loaded)
    assert Counter(t.model for t in loaded).most_common(1)[0][0] == "claude-opus-4-6"


def test_telecom_trials_of_one_task_group_together(shared_data: Path) -> None:
    result = _load(shared_data / "tau2_bench/other_runs")
    assert result.errors == [] and len(result.trajectories) == 20
    groups = result.tasks()
    assert len(groups) == 5 and all(len(g) == 4 for g in groups)
    assert {t.metadata["trial"] for t in result.trajectories} == {0, 1, 2, 3}


def _sim(task_id: str, reward: float) -> dict[str, object]:
    return {
        "id": f"sim-{task_id}",
        "task_id": task_id,
        "trial": 0,
        "reward_info": {"reward": reward},
        "messages": [
            {"role": "assistant", "content": "Hi! How can I help you today?", "turn_idx": 0},
            {"role": "user", "content": "Cancel EHGLP3.", "turn_idx": 1},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "name": "cancel_reservation", "arguments": {"reservation_id": "EHGLP3"}}
                ],
            },
            {"role": "tool", "id": "c1", "content": "Error: not allowed", "error": True},
        ],
    }


def test_a_malformed_simulation_is_one_clear_error_and_the_rest_load(tmp_path: Path) -> None:
    bad = _sim("2", 0.0)
    bad["messages"] = 5
    doc = {
        "timestamp": "2025-01-01",
        "info": {"agent_info": {"llm": "m"}, "user_info": {}, "environment_info": {"domain_name": "airline"}},
        "tasks": [{"id": "1", "evaluation_criteria": {"actions": []}}],
        "simulations": [_sim("1", 1.0), bad, _sim("3", 0.0)],
    }
    path = tmp_path / "run.json"
    path.write_bytes(orjson.dumps(doc))
    assert sniff_format(path) is not None and sniff_format(path).name == "tau2"  # type: ignore[union-attr]
    result = load(path)
    assert [t.task_id for t in result.trajectories] == ["tau2/airline/1", "tau2/airline/3"]
    assert len(result.errors) == 1
    error = result.errors[0]
    assert (error.line, error.field, error.format) == (2, "simulations.1.messages", "tau2")
    assert "expected a JSON array" in error.reason
    failed_call = result.trajectories[1].steps[3]
    assert failed_call.error == "Error: not allowed" and failed_call.tool_call_id == "c1"
    assert result.trajectories[0].ground_truth == []
