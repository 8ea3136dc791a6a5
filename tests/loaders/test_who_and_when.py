"""Who&When logs: one step per history item, the blamed agent and step kept as a human label."""

from __future__ import annotations

import json
from pathlib import Path

import orjson

from memex_audit.loaders import load


def test_both_variants_load_with_labels_that_index_steps(shared_data: Path) -> None:
    folder = shared_data / "who_and_when"
    result = load(folder)
    assert result.errors == []
    assert len(result.trajectories) == 55
    assert {t.source.format for t in result.trajectories if t.source} == {"who_and_when"}
    for t in result.trajectories:
        assert t.source is not None and t.source.file is not None
        raw = json.loads(Path(t.source.file).read_text())
        assert len(t.steps) == len(raw["history"])
        [label] = t.labels
        assert label.faulty_step == int(raw["mistake_step"])
        assert label.faulty_agent == raw["mistake_agent"]
        assert label.reason == raw["mistake_reason"]
        assert label.annotator == "who_and_when"
        assert t.outcome.correct is False
        assert t.task_id == raw["question_ID"] and t.question == raw["question"]
    assert {t.harness for t in result.trajectories} == {"ag2", "magentic-one"}


def test_magentic_one_roles_name_the_agents(shared_data: Path) -> None:
    t = load(shared_data / "who_and_when/Hand-Crafted/1.json").trajectories[0]
    assert t.id == "who_and_when/Hand-Crafted/1"
    assert t.steps[0].role == "user" and t.steps[0].agent == "human"
    assert t.steps[12].agent == "WebSurfer" and t.labels[0].faulty_step == 12
    assert "Orchestrator (thought)" in t.agents
    assert t.ground_truth == "Renzo Gracie Jiu-Jitsu Wall Street"


def test_ag2_names_are_agents_and_roles_stay_chat_roles(shared_data: Path) -> None:
    t = load(shared_data / "who_and_when/Algorithm-Generated/1.json").trajectories[0]
    assert t.steps[1].agent == "Computer_terminal" and t.steps[1].role == "user"
    assert t.steps[1].text is not None and t.steps[1].text.startswith("exitcode: 0")
    assert t.labels[0].faulty_agent == "Excel_Expert" and t.labels[0].faulty_step == 0
    assert "Excel_Expert" in t.metadata["system_prompt"]  # type: ignore[operator]
    assert t.without_labels().labels == []


def test_a_step_outside_the_history_is_a_clear_error(tmp_path: Path) -> None:
    record = {
        "history": [{"content": "hi", "role": "human"}],
        "question": "q",
        "question_ID": "q1",
        "ground_truth": "a",
        "mistake_agent": "WebSurfer",
        "mistake_step": "7",
        "mistake_reason": "r",
    }
    (tmp_path / "1.json").write_bytes(orjson.dumps(record))
    (tmp_path / "2.json").write_bytes(orjson.dumps({**record, "mistake_step": "0"}))
    result = load(tmp_path)
    assert [t.id for t in result.trajectories] == [f"who_and_when/{tmp_path.name}/2"]
    [error] = result.errors
    assert error.field == "mistake_step" and "outside the history" in error.reason
