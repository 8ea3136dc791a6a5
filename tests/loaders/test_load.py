"""Folder loading: one bad file or line never stops the rest, and each is reported with its cause."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from memex_audit.errors import UsageError
from memex_audit.loaders import (
    LoadProblem,
    load,
    register_format,
    registered_formats,
    sniff_format,
    write_jsonl,
)
from memex_audit.loaders._registry import _REGISTRY
from memex_audit.trajectory import Trajectory
from tests.factories import memex_run, multi_agent_run, tool_calling_run


def make_messy_folder(root: Path) -> Path:
    """Good files next to a truncated JSON, a non-UTF-8 file, a bad JSONL line and an empty file."""
    root.mkdir(parents=True, exist_ok=True)
    write_jsonl([memex_run("good-1"), tool_calling_run("good-2")], root / "good.jsonl")
    (root / "nested").mkdir()
    (root / "nested" / "single.json").write_bytes(multi_agent_run("good-3").model_dump_json().encode())
    full = memex_run("cut").model_dump_json().encode()
    (root / "truncated.json").write_bytes(full[: len(full) // 2])
    (root / "latin1.jsonl").write_bytes(
        memex_run("lat").model_dump_json().replace("Search the", "Caf\u00e9").encode("latin-1") + b"\n"
    )
    lines = [
        memex_run("line-1").model_dump_json().encode(),
        b'{"id": "line-2", "task_id": "t", "steps": [ oops',
        memex_run("line-3").model_dump_json().encode(),
        orjson.dumps(
            {
                "schema_version": "1.0",
                "id": "line-4",
                "task_id": "t",
                "steps": [{"index": 0, "role": "robot"}],
            }
        ),
    ]
    (root / "mixed.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (root / "empty.jsonl").write_bytes(b"")
    (root / "notes.txt").write_text("not trajectory data")
    return root


def test_messy_folder_loads_every_good_trajectory_and_reports_each_bad_item(tmp_path: Path) -> None:
    result = load(make_messy_folder(tmp_path / "runs"))
    assert sorted(t.id for t in result.trajectories) == ["good-1", "good-2", "good-3", "line-1", "line-3"]
    errors = {Path(e.file).name: e for e in result.errors}
    assert set(errors) == {"truncated.json", "latin1.jsonl", "mixed.jsonl", "empty.jsonl"}
    assert "truncated" in errors["truncated.json"].reason
    assert "UTF-8" in errors["latin1.jsonl"].reason
    assert errors["empty.jsonl"].reason == "empty file"
    mixed = [e for e in result.errors if e.file.endswith("mixed.jsonl")]
    assert [(e.line, e.field) for e in mixed] == [(2, None), (4, "steps.0.role")]
    assert "malformed JSON" in mixed[0].reason
    assert result.skipped == [str(tmp_path / "runs" / "notes.txt")]


def test_glob_filters_relative_paths_or_names(tmp_path: Path) -> None:
    root = make_messy_folder(tmp_path / "runs")
    assert [t.id for t in load(root, glob="good.jsonl").trajectories] == ["good-1", "good-2"]
    assert [t.id for t in load(root, glob="nested/*.json").trajectories] == ["good-3"]


def test_missing_path_and_unknown_format_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load(tmp_path / "nope")
    with pytest.raises(UsageError, match="unknown format 'nope'; known formats: .*native"):
        load(tmp_path, format="nope")


def test_newer_schema_version_says_to_upgrade(tmp_path: Path) -> None:
    record = memex_run().model_dump(mode="json") | {"schema_version": "9.0"}
    (tmp_path / "future.jsonl").write_bytes(orjson.dumps(record) + b"\n")
    [error] = load(tmp_path).errors
    assert (error.line, error.field) == (1, "schema_version")
    assert "upgrade" in error.reason


class _CsvRollouts:
    """A toy plug-in format: one trajectory per CSV line (id,task)."""

    name: str = "toy_csv"
    extensions: tuple[str, ...] = (".csv",)

    def sniff(self, path: Path, head: bytes) -> float:
        return 0.5 if path.suffix == ".csv" and head.startswith(b"id,task") else 0.0

    def load(self, path: Path) -> Iterator[Trajectory | LoadProblem]:
        for number, line in enumerate(path.read_text().splitlines()[1:], start=2):
            parts = line.split(",")
            if len(parts) != 2:
                yield LoadProblem(
                    file=str(path), line=number, format=self.name, reason="expected two columns"
                )
                continue
            yield Trajectory(id=parts[0], task_id=parts[1])


def test_a_plug_in_format_is_sniffed_without_touching_the_loader(tmp_path: Path) -> None:
    adapter = register_format(_CsvRollouts())
    try:
        (tmp_path / "r.csv").write_text("id,task\na,t1\nbroken\nb,t2\n")
        assert sniff_format(tmp_path / "r.csv") is adapter
        result = load(tmp_path)
        assert [t.id for t in result.trajectories] == ["a", "b"]
        assert [(e.line, e.reason) for e in result.errors] == [(3, "expected two columns")]
        assert "toy_csv" in registered_formats()
        with pytest.raises(UsageError, match="already registered"):
            register_format(_CsvRollouts())
    finally:
        _REGISTRY.pop("toy_csv", None)


def test_an_adapter_that_crashes_becomes_a_load_error(tmp_path: Path) -> None:
    class Crashing(_CsvRollouts):
        name = "crashing"

        def load(self, path: Path) -> Iterator[Trajectory | LoadProblem]:
            raise RuntimeError("boom")

    register_format(Crashing())
    try:
        (tmp_path / "r.csv").write_text("id,task\n")
        write_jsonl([memex_run()], tmp_path / "ok.jsonl")
        result = load(tmp_path)
        assert [t.id for t in result.trajectories] == ["m-1"]
        assert "RuntimeError while reading: boom" in result.errors[0].reason
    finally:
        _REGISTRY.pop("crashing", None)


def test_a_truncated_json_file_of_no_known_format_says_it_is_truncated(tmp_path: Path) -> None:
    (tmp_path / "cut.json").write_bytes(b'{"broken": ')
    (tmp_path / "odd.json").write_bytes(b'{"neither": "a rollout"}')
    errors = {Path(e.file).name: e.reason for e in load(tmp_path).errors}
    assert errors["cut.json"].startswith("truncated JSON")
    assert errors["odd.json"].startswith("no registered format recognises this file")
