"""τ-bench historical trajectories: OpenAI messages, gold actions, rewards, model from the file name."""

from __future__ import annotations

import json
from pathlib import Path

import orjson

from memex_audit.loaders import load

EXCERPT = "tau_bench/gpt-4o-airline.excerpt.json"


def test_excerpt_loads_every_record_with_its_reward(shared_data: Path) -> None:
    result = load(shared_data / EXCERPT)
    assert result.errors == []
    records = json.loads((shared_data / EXCERPT).read_text())
    assert len(result.trajectories) == len(records) == 12
    assert [t.outcome.reward for t in result.trajectories] == [float(r["reward"]) for r in records]
    assert {t.task_id for t in result.trajectories} == {
        "tau_bench/airline/0",
        "tau_bench/airline/3",
        "tau_bench/airline/4",
    }
    assert all(len(g) == 4 for g in result.tasks())
    assert {t.model for t in result.trajectories} == {"gpt-4o"}
    assert {t.harness for t in result.trajectories} == {"tau_bench"}


def test_tool_calls_link_to_results_and_gold_actions_become_ground_truth(shared_data: Path) -> None:
    t = load(shared_data / EXCERPT).trajectories[0]
    assert t.id == "gpt-4o-airline.excerpt/0/0"
    assert t.steps[0].role == "system" and "Airline Agent Policy" in (t.steps[0].text or "")
    call = t.steps[6].tool_calls[0]
    assert (call.name, call.arguments) == ("get_user_details", {"user_id": "mia_li_3668"})
    result = t.steps[7]
    assert (result.role, result.tool_call_id, result.tool_name) == ("tool", call.id, "get_user_details")
    assert t.steps[21].output == "Error: payment amount does not add up, total price is 305, but paid 255"
    gold = t.ground_truth
    assert isinstance(gold, list) and gold[0]["name"] == "book_reservation"  # type: ignore[index]
    assert gold[0]["arguments"]["user_id"] == "mia_li_3668"  # type: ignore[index]
    assert t.question is not None and t.question.startswith("You are mia_li_3668.")
    assert t.outcome.correct is False


def test_a_record_without_task_id_is_an_error_and_the_others_load(tmp_path: Path) -> None:
    good = {"task_id": 1, "trial": 0, "reward": 1.0, "info": {"task": {"actions": []}}, "traj": []}
    bad = {"trial": 0, "reward": 0.0, "info": {}, "traj": []}
    path = tmp_path / "claude-retail.json"
    path.write_bytes(orjson.dumps([good, bad, {**good, "task_id": 2}]))
    result = load(path)
    assert [t.task_id for t in result.trajectories] == ["tau_bench/retail/1", "tau_bench/retail/2"]
    assert result.trajectories[0].model == "claude"
    [error] = result.errors
    assert (error.line, error.field, error.format) == (2, "1.task_id", "tau_bench")
