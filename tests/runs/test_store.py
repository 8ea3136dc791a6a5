"""The run folder: resume without duplicates, torn lines, atomic exports."""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl
import pytest
from pydantic import BaseModel

from memex_audit.errors import ResultsError
from memex_audit.runs import RunFailure, RunStore
from memex_audit.runs._store import LINE_SCHEMA_VERSION
from memex_audit.trajectory import Step, Trajectory


class Item(BaseModel):
    name: str
    value: int


def test_reopen_resumes_and_last_record_per_key_wins(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path / "run", "audit", {"taxonomy": "memex"})
    store.append_result("a", Item(name="a", value=1))
    store.append_result("b", Item(name="b", value=2))
    reopened = RunStore.open(tmp_path / "run", "audit")
    assert reopened.done_keys() == {"a", "b"}
    assert reopened.manifest.resumes == 1
    assert reopened.manifest.config.kind == "audit" and reopened.manifest.config.get("taxonomy") == "memex"
    reopened.append_result("a", Item(name="a", value=10))
    assert [(r.name, r.value) for r in reopened.read_results(Item)] == [("b", 2), ("a", 10)]


def test_torn_last_line_is_skipped_and_redone(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path, "aggregate")
    store.append_result("t1", Item(name="t1", value=1))
    with (tmp_path / "results.jsonl").open("ab") as fh:
        fh.write(b'{"key": "t2", "record": {"name": "t')  # killed mid-write
    assert store.done_keys() == {"t1"}
    store.append_result("t2", Item(name="t2", value=2))
    assert sorted(r.name for r in store.read_results(Item)) == ["t1", "t2"]


def test_final_errors_count_as_done_and_retryable_ones_do_not(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path, "audit")
    store.append_error(RunFailure(key="x", kind="validation", message="bad", file="f.jsonl", line=3))
    store.append_error(RunFailure(key="y", kind="timeout", message="slow", final=False))
    assert store.done_keys() == {"x"}
    assert [(e.key, e.file, e.line) for e in store.read_errors()] == [("x", "f.jsonl", 3), ("y", None, None)]


def test_kind_mismatch_is_refused(tmp_path: Path) -> None:
    RunStore.open(tmp_path, "audit")
    with pytest.raises(ResultsError, match="audit run"):
        RunStore.open(tmp_path, "aggregate")
    with pytest.raises(ResultsError, match="not a run folder"):
        RunStore.read(tmp_path / "nowhere")


def test_exports_and_agent_runs(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path, "audit")
    path = store.write_parquet("breakdown", pl.DataFrame({"category": ["a", "b"], "n": [1, 2]}))
    assert pl.read_parquet(path)["n"].to_list() == [1, 2]
    run = Trajectory(
        id="run-1", task_id="t", steps=[Step(index=0, role="assistant", code="print(1)", output="1")]
    )
    store.append_run_trajectory(run)
    assert store.read_run_trajectories() == [run]
    assert not list(tmp_path.glob(".*.tmp"))


def test_invalid_record_names_line_and_field(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path, "audit")
    store.append_result("a", Item(name="a", value=1))
    with (tmp_path / "results.jsonl").open("ab") as fh:
        fh.write(b'{"key": "b", "record": {"name": "b", "value": "many"}}\n')
    with pytest.raises(ResultsError, match=r"results.jsonl:2: .*field record.value|results.jsonl:2: .*value"):
        store.read_results(Item)


def test_a_moved_run_folder_still_finds_its_input(tmp_path: Path) -> None:
    data = tmp_path / "project" / "rollouts"
    data.mkdir(parents=True)
    store = RunStore.open(
        tmp_path / "project" / "runs" / "a", "audit", {"path": str(data), "taxonomy": "memex"}
    )
    store.close()
    assert store.manifest.config.path_rel == "../../rollouts"
    (tmp_path / "project").rename(tmp_path / "moved")
    moved = RunStore.read(tmp_path / "moved" / "runs" / "a")
    assert moved.input_path() == tmp_path / "moved" / "rollouts"
    assert moved.manifest.config.kind == "audit" and moved.manifest.config.taxonomy == "memex"


def test_lines_say_their_kind_and_layout_version(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path, "audit")
    store.append_result("a", Item(name="a", value=1))
    store.append_error(RunFailure(key="b", kind="timeout", message="slow", final=False))
    result = orjson.loads((tmp_path / "results.jsonl").read_bytes())
    failure = orjson.loads((tmp_path / "errors.jsonl").read_bytes())
    assert (result["kind"], result["schema_version"], result["key"]) == ("result", LINE_SCHEMA_VERSION, "a")
    assert (failure["kind"], failure["schema_version"]) == ("failure", LINE_SCHEMA_VERSION)
    assert failure["failure"]["key"] == "b" and failure["failure"]["kind"] == "timeout"


def test_lines_written_before_they_had_a_kind_are_upgraded_on_read(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path, "audit")
    (tmp_path / "results.jsonl").write_bytes(b'{"key":"a","record":{"name":"a","value":1}}\n')
    (tmp_path / "errors.jsonl").write_bytes(
        b'{"key":"b","kind":"validation","message":"bad","file":"f.jsonl","line":3,"field":null,'
        b'"final":true,"traceback":null,"at":"2026-01-02T03:04:05Z"}\n'
    )
    store.append_result("c", Item(name="c", value=3))
    assert [(r.name, r.value) for r in store.read_results(Item)] == [("a", 1), ("c", 3)]
    [error] = store.read_errors()
    assert (error.key, error.kind, error.file, error.line) == ("b", "validation", "f.jsonl", 3)
    assert store.done_keys() == {"a", "b", "c"}


def test_an_invalid_line_is_an_error_naming_file_and_line_in_both_files(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path, "audit")
    store.append_error(RunFailure(key="x", kind="internal", message="boom"))
    with (tmp_path / "errors.jsonl").open("ab") as fh:
        fh.write(b'{"kind":"failure","schema_version":1,"failure":{"key":"y"}}\n')
    with pytest.raises(ResultsError, match=r"errors.jsonl:2: Field required \(field failure.kind\)"):
        store.read_errors()
    store.append_result("a", Item(name="a", value=1))
    with (tmp_path / "results.jsonl").open("ab") as fh:
        fh.write(b'{"kind":"result","schema_version":1,"record":{"name":"b","value":2}}\n')
    with pytest.raises(ResultsError, match=r"results.jsonl:2: Field required \(field key\)"):
        store.read_results(Item)


def test_a_line_of_another_kind_or_a_newer_layout_is_refused(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path, "audit")
    store.append_error(RunFailure(key="x", kind="internal", message="boom"))
    (tmp_path / "results.jsonl").write_bytes((tmp_path / "errors.jsonl").read_bytes())
    with pytest.raises(ResultsError, match=r"results.jsonl:1: a failure line, where result lines belong"):
        store.read_results(Item)
    (tmp_path / "results.jsonl").write_bytes(b'{"kind":"result","schema_version":99,"key":"a","record":{}}\n')
    with pytest.raises(ResultsError, match=r"results.jsonl:1: line layout version 99 is newer"):
        store.read_results(Item)


def test_a_file_is_not_opened_as_a_run_folder(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    with pytest.raises(ResultsError, match="taken is a file, not a run folder"):
        RunStore.open(tmp_path / "taken", "audit")


def test_a_load_problem_is_recorded_with_its_place_and_traceback() -> None:
    from memex_audit.loaders import LoadProblem

    problem = LoadProblem(
        file="runs/a.jsonl", line=3, field="steps", format="native", reason="bad", traceback="Traceback ..."
    )
    once = RunFailure.of_load_problem(problem)
    assert (once.key, once.kind, once.file, once.line, once.field) == (
        "load:runs/a.jsonl:3",
        "load",
        "runs/a.jsonl",
        3,
        "steps",
    )
    assert once.message == "bad" and once.traceback == "Traceback ..."
    assert RunFailure.of_load_problem(problem, key="unit-7").key == "unit-7"
