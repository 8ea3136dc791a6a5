"""The trajectory models: lossless round trips and the views users rely on."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from memex_audit.loaders import load, write_jsonl
from memex_audit.trajectory import Source, Step, Trajectory, group_by_task
from tests.factories import memex_run, multi_agent_run, tool_calling_run


def test_three_kinds_of_runs_round_trip_through_native_jsonl(tmp_path: Path) -> None:
    originals = [memex_run(), tool_calling_run(), multi_agent_run()]
    for t in originals:
        t.source = Source(file="orig.json", format="native", position=0)
    write_jsonl(originals, tmp_path / "runs.jsonl")
    result = load(tmp_path / "runs.jsonl")
    assert result.errors == []
    assert result.trajectories == originals


def test_source_records_file_and_line_when_written_without_one(tmp_path: Path) -> None:
    write_jsonl([memex_run("a"), memex_run("b")], tmp_path / "x.jsonl")
    second = load(tmp_path / "x.jsonl").trajectories[1]
    assert second.source == Source(file=str(tmp_path / "x.jsonl"), format="native", line=2)


def test_canonical_models_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="steps.0.colour"):
        Trajectory.model_validate(
            {"id": "x", "task_id": "t", "steps": [{"index": 0, "role": "user", "colour": 1}]}
        )


def test_tool_outputs_link_names_by_call_id() -> None:
    outputs = list(tool_calling_run().tool_outputs())
    assert [(o.step, o.name) for o in outputs] == [(2, "get_reservation"), (3, "cancel_reservation")]
    assert outputs[1].error == "Traceback: denied"
    memex_outputs = list(memex_run().tool_outputs())
    assert [(o.step, o.name, o.text) for o in memex_outputs][:1] == [
        (2, "python", "['bulletin-1944-04', 'bulletin-1944-05']")
    ]


def test_search_returns_step_indices_across_text_code_calls_and_outputs() -> None:
    run = memex_run()
    assert run.search("3,501") == [3]
    assert run.search("read_table") == [3]
    assert run.search(r"bulletin-1944-0\d", regex=True) == [2, 3]
    assert run.search("SEARCH THE", case_sensitive=True) == []
    assert tool_calling_run().search("ABC123") == [0, 1]
    assert tool_calling_run().search("abc123", roles={"assistant"}) == [1]


def test_step_contains_matches_quotes_whitespace_insensitively() -> None:
    step = Step(index=0, role="tool", output="Total   public\ndebt: 3,501")
    assert step.contains("public debt: 3,501")
    assert not step.contains("3,531")
    assert not step.contains("")


def test_outcome_success_and_failed() -> None:
    assert memex_run(correct=True).success is True
    assert memex_run(correct=False).failed
    assert tool_calling_run(reward=1.0).success is True
    assert tool_calling_run(reward=0.0).failed
    assert Trajectory(id="u", task_id="t").success is None


def test_usage_totals_fall_back_to_steps() -> None:
    run = tool_calling_run()
    assert run.total_usage().total_tokens == 0
    run = memex_run()
    run.usage = run.usage.model_copy(update={"input_tokens": 0, "output_tokens": 0, "cost_usd": None})
    total = run.total_usage()
    assert (total.input_tokens, total.output_tokens) == (2000, 100)
    assert total.cost_usd == pytest.approx(0.0026)


def test_agents_and_label_stripping() -> None:
    run = multi_agent_run()
    assert run.agents == ["human", "WebSurfer", "Verifier"]
    assert run.without_labels().labels == []
    assert run.labels, "stripping returns a copy"


def test_frames_for_steps_and_collections() -> None:
    runs = [memex_run(), tool_calling_run()]
    steps = runs[1].to_polars()
    assert steps.height == 5
    assert steps.filter(steps["step"] == 1)["n_tool_calls"].item() == 2
    assert "cancel_reservation" in steps.filter(steps["step"] == 1)["tool_calls"].item()
    assert list(runs[0].to_pandas()["role"]) == ["system", "user", "assistant", "assistant", "assistant"]
    groups = group_by_task([*runs, multi_agent_run()])
    assert [g.task_id for g in groups] == ["t-1", "ww-1"]
    frame = groups[0].to_polars()
    assert frame["trajectory_id"].to_list() == ["m-1", "tc-1"]
    assert frame["success"].to_list() == [True, False]
    assert groups[0].to_pandas().shape[0] == 2


def test_task_group_views() -> None:
    group = group_by_task([memex_run("a"), memex_run("b", correct=False), tool_calling_run("c", reward=1.0)])[
        0
    ]
    assert group.question == "What was the total public debt in March 1944?"
    assert group.ground_truth == "3,501"
    assert [t.id for t in group.failed] == ["b"]
    assert [t.id for t in group.succeeded] == ["a", "c"]
    assert group.by_id("c").harness == "tool_calling"
    assert all(not t.labels for t in group.without_labels())
    assert len(group) == 3
