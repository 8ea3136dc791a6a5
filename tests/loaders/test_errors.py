"""What a loader says when it cannot read something: one error type, where and why, and a crash
that keeps its traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from memex_audit.errors import MemexAuditError, TrajectoryFormatError
from memex_audit.loaders import LoadProblem, load, register_format
from memex_audit.loaders._registry import _REGISTRY
from memex_audit.trajectory import Trajectory


class _Toy:
    """A plug-in format for ``.toy`` files whose ``load`` is given per test."""

    name = "toy_errors"
    extensions = (".toy",)

    def sniff(self, path: Path, head: bytes) -> float:
        return 0.9 if head.startswith(b"toy") else 0.0

    def load(self, path: Path) -> Iterator[Trajectory | LoadProblem]:
        yield Trajectory(id="toy-1", task_id="t")


@pytest.fixture
def toy() -> Iterator[type[_Toy]]:
    yield _Toy
    _REGISTRY.pop(_Toy.name, None)


def test_a_record_a_format_cannot_read_is_a_problem_naming_file_line_field_and_format(tmp_path: Path) -> None:
    good = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "42"}]}
    bad = {"messages": [{"role": "user", "content": "hi"}, {"role": "wizard", "content": "42"}]}
    (tmp_path / "chats.jsonl").write_bytes(orjson.dumps(good) + b"\n" + orjson.dumps(bad) + b"\n")
    result = load(tmp_path / "chats.jsonl")
    assert len(result.trajectories) == 1
    [problem] = result.errors
    assert (problem.line, problem.field) == (2, "messages.1.role")
    assert "unknown message role 'wizard'" in problem.reason and problem.traceback is None
    error = problem.as_error()
    assert isinstance(error, TrajectoryFormatError) and isinstance(error, MemexAuditError)
    assert (error.file, error.line, error.field, error.format) == (
        problem.file,
        2,
        "messages.1.role",
        problem.format,
    )
    assert str(error).startswith(f"{tmp_path / 'chats.jsonl'}:2: unknown message role")


def test_an_adapter_may_raise_the_format_error_itself(tmp_path: Path, toy: type[_Toy]) -> None:
    class Strict(toy):  # type: ignore[misc,valid-type]
        def load(self, path: Path) -> Iterator[Trajectory | LoadProblem]:
            yield Trajectory(id="toy-1", task_id="t")
            raise TrajectoryFormatError("the footer is missing", line=7, field="footer")

    register_format(Strict())
    (tmp_path / "a.toy").write_bytes(b"toy\n")
    result = load(tmp_path)
    assert [t.id for t in result.trajectories] == ["toy-1"]
    [problem] = result.errors
    assert (problem.line, problem.field, problem.format) == (7, "footer", "toy_errors")
    assert problem.reason == "the footer is missing" and problem.traceback is None


def test_an_adapter_that_crashes_keeps_its_traceback(tmp_path: Path, toy: type[_Toy]) -> None:
    class Crashing(toy):  # type: ignore[misc,valid-type]
        def load(self, path: Path) -> Iterator[Trajectory | LoadProblem]:
            raise RuntimeError("boom")

    register_format(Crashing())
    (tmp_path / "a.toy").write_bytes(b"toy\n")
    [problem] = load(tmp_path).errors
    assert problem.reason == "RuntimeError while reading: boom"
    assert problem.traceback is not None
    assert 'raise RuntimeError("boom")' in problem.traceback and problem.traceback.rstrip().endswith("boom")


def test_a_sniffer_that_raises_is_named_on_the_problem_and_logged(
    tmp_path: Path, toy: type[_Toy], caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenSniffer(toy):  # type: ignore[misc,valid-type]
        def sniff(self, path: Path, head: bytes) -> float:
            raise ValueError("cannot parse the header")

    register_format(BrokenSniffer())
    (tmp_path / "a.toy").write_bytes(b"toy\n")
    with caplog.at_level(logging.DEBUG, logger="memex_audit.loaders"):
        [problem] = load(tmp_path).errors
    assert "format checks that failed: toy_errors: ValueError: cannot parse the header" in problem.reason
    [record] = [r for r in caplog.records if "toy_errors.sniff" in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[0] is ValueError
