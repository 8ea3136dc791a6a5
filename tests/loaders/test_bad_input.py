"""A generated corpus of bad input: every bad file is reported with its cause, never read as something else.

The corpus (built once in a temporary folder) mixes good trajectories with ~60 bad files: numbers
JSON cannot hold, duplicate keys, wrong encodings, wrong magic numbers, broken links, decompression
bombs, truncated, empty, binary and deeply nested files. Loading it must not crash, must report each
bad file by name with a reason that names the real problem, and must keep every good trajectory,
including the good lines of a file that also holds bad ones.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import zstandard

from memex_audit.loaders import LoadResult, load, write_jsonl
from memex_audit.trajectory import Trajectory
from tests.factories import memex_run, multi_agent_run, tool_calling_run

LIMIT = 1 << 20
"""The decompression and per-record limits the corpus is loaded with (1 MiB keeps it small)."""


def _native(traj_id: str, **changes: object) -> dict[str, object]:
    record = orjson.loads(memex_run(traj_id, correct=False).model_dump_json())
    record.update(changes)
    return dict(record)


def _line(traj_id: str, *, correct: bool = True) -> bytes:
    return memex_run(traj_id, correct=correct).model_dump_json().encode()


def _doc(traj_id: str) -> bytes:
    return multi_agent_run(traj_id).model_dump_json(indent=2).encode()


def _with(traj_id: str, old: bytes, new: bytes) -> bytes:
    """A native line of ``traj_id`` with the first ``old`` replaced by ``new`` (raw bytes, no re-encoding)."""
    raw = _line(traj_id, correct=False)
    assert old in raw, old
    return raw.replace(old, new, 1)


def _jsonl(*lines: bytes) -> bytes:
    return b"\n".join(lines) + b"\n"


def _eval_with_entry(size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("header.json", orjson.dumps({"eval": {"task": "bomb"}}))
        archive.writestr("samples/1_epoch_1.json", b'{"id": 1, "pad": "' + b"a" * size + b'"}')
    return buffer.getvalue()


@dataclass(frozen=True)
class Bad:
    """A bad file: its name, its bytes, and words its error reason must contain."""

    name: str
    content: bytes | Callable[[Path], None]
    reason: tuple[str, ...]
    field: str | None = None
    line: int | None = None
    kept: tuple[str, ...] = ()
    """Ids of good trajectories in the same file that must still load."""


GOOD_IDS = ("good-1", "good-2", "good-3", "bom-1", "bom-2", "crlf-1", "crlf-2", "big-head", "gz-1")


def _good_files(root: Path) -> None:
    write_jsonl([memex_run("good-1"), tool_calling_run("good-2")], root / "good.jsonl")
    (root / "nested").mkdir()
    (root / "nested" / "good.json").write_bytes(_doc("good-3"))
    (root / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + _jsonl(_line("bom-1")))
    (root / "bom.json").write_bytes(b"\xef\xbb\xbf" + _doc("bom-2"))
    (root / "crlf.jsonl").write_bytes(_line("crlf-1") + b"\r\n" + _line("crlf-2") + b"\r\n")
    # A native record whose question fills more than the first 64 KB, before its steps.
    (root / "big_head.jsonl").write_bytes(
        _jsonl(orjson.dumps(_native("big-head", question="Which total? " + "x" * 100_000)))
    )
    (root / "zipped.jsonl.gz").write_bytes(gzip.compress(_jsonl(_line("gz-1"))))


def _dangling(name: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.symlink_to(path.parent / f"missing-{name}")

    return make


def _loop(path: Path) -> None:
    other = path.with_name("loop-b.jsonl")
    path.symlink_to(other)
    other.symlink_to(path)


def _deep(depth: int) -> bytes:
    return _with("deep", b'"metadata":{', b'"metadata":{"deep":' + b"[" * depth + b"]" * depth + b",")


def _utf16(data: bytes, codec: str) -> bytes:
    return data.decode().encode(codec)


def _bad_files() -> list[Bad]:
    rng = random.Random(17)

    def noise(n: int) -> bytes:
        data = rng.randbytes(n)
        return b"\x80" + data[1:]  # no magic number, no byte order mark: just bytes

    doc = _doc("ma")
    line = _line("plain")
    big = b"x" * (2 * LIMIT)
    return [
        # Numbers JSON cannot hold.
        Bad(
            "nan.jsonl",
            _jsonl(_line("nan-ok"), _with("n", b'"outcome":{', b'"outcome":{"reward":NaN,')),
            ("non-finite", "NaN"),
            field="outcome.reward",
            line=2,
            kept=("nan-ok",),
        ),
        Bad(
            "infinity.jsonl",
            _jsonl(_with("i", b'"duration_s":2.5', b'"duration_s":Infinity')),
            ("non-finite", "Infinity"),
            field="steps.2.duration_s",
            line=1,
        ),
        Bad(
            "minus_infinity.jsonl",
            _jsonl(_with("mi", b'"cost_usd":0.0012', b'"cost_usd":-Infinity')),
            ("non-finite", "-Infinity"),
            field="steps.2.usage.cost_usd",
            line=1,
        ),
        Bad(
            "huge_exponent.jsonl",
            _jsonl(_with("he", b'"study":"unit"', b'"study":1e400')),
            ("non-finite", "1e400"),
            field="metadata.study",
            line=1,
        ),
        Bad(
            "huge_mantissa.jsonl",
            _jsonl(_with("hm", b'"study":"unit"', b'"study":1' + b"0" * 400 + b".5")),
            ("non-finite",),
            field="metadata.study",
            line=1,
        ),
        Bad(
            "nan_in_arguments.json",
            tool_calling_run("nan-args").model_dump_json(indent=1).encode().replace(b'"ABC123"', b"NaN", 1),
            ("non-finite", "NaN"),
            field="ground_truth.0.arguments.reservation_id",
        ),
        Bad(
            "nan_in_list.json",
            doc.replace(b'"ground_truth": "3"', b'"ground_truth": [1, 2, NaN]'),
            ("non-finite",),
            field="ground_truth.2",
        ),
        Bad(
            "nan_foreign.jsonl",
            _jsonl(b'{"messages": [{"role": "user", "content": "hi"}], "reward": NaN}'),
            ("non-finite", "NaN"),
            field="reward",
            line=1,
        ),
        Bad(
            "infinity_tau_bench.json",
            b'[{"task_id": 1, "reward": Infinity, "traj": [{"role": "user", "content": "hi"}], "info": {}}]',
            ("non-finite", "Infinity"),
            field="0.reward",
        ),
        # Duplicate keys: the last value would silently win.
        Bad(
            "duplicate_correct.jsonl",
            _jsonl(_line("dup-ok"), _with("dc", b'"correct":false', b'"correct":false,"correct":true')),
            ("duplicate key", "correct"),
            field="outcome.correct",
            line=2,
            kept=("dup-ok",),
        ),
        Bad(
            "duplicate_id.jsonl",
            _jsonl(_with("di", b'"task_id":', b'"id":"other","task_id":')),
            ("duplicate key", "id"),
            field="id",
            line=1,
        ),
        Bad(
            "duplicate_in_step.jsonl",
            _jsonl(_with("ds", b'"role":"system"', b'"role":"system","role":"user"')),
            ("duplicate key", "role"),
            field="steps.0.role",
            line=1,
        ),
        Bad(
            "duplicate_in_metadata.jsonl",
            _jsonl(_with("dm", b'"study":"unit"', b'"study":{"a":1,"a":2}')),
            ("duplicate key", "a"),
            field="metadata.study.a",
            line=1,
        ),
        Bad(
            "duplicate_spaced.json",
            doc.replace(b'"ground_truth": "3"', b'"ground_truth" : "3", "ground_truth" : "4"'),
            ("duplicate key", "ground_truth"),
            field="ground_truth",
        ),
        Bad(
            "duplicate_escaped.jsonl",
            _jsonl(_with("de", b'"study":"unit"', b'"study":"say \\"a\\": 1","\\u0073tudy":"unit"')),
            ("duplicate key", "study"),
            field="metadata.study",
            line=1,
        ),
        Bad(
            "duplicate_foreign.jsonl",
            _jsonl(b'{"messages": [{"role": "user", "content": "hi", "content": "bye"}]}'),
            ("duplicate key", "content"),
            field="messages.0.content",
            line=1,
        ),
        Bad(
            "duplicate_tau_bench.json",
            b'[{"task_id": 1, "reward": 0.0, "reward": 1.0, "traj": [{"role": "user", "content": "hi"}], "info": {}}]',
            ("duplicate key", "reward"),
            field="0.reward",
        ),
        # Files that are not there, or not readable.
        Bad("dangling.jsonl", _dangling("dangling"), ("broken symbolic link",)),
        Bad("dangling_unknown_ending.txt", _dangling("txt"), ("broken symbolic link",)),
        Bad("loop-a.jsonl", _loop, ("symbolic link",)),
        # Encodings other than UTF-8.
        Bad("utf16le_bom.jsonl", b"\xff\xfe" + _utf16(line, "utf-16-le"), ("utf-16",)),
        Bad("utf16be_bom.json", b"\xfe\xff" + _utf16(doc, "utf-16-be"), ("utf-16",)),
        Bad("utf16le.json", _utf16(doc, "utf-16-le"), ("utf-16",)),
        Bad("utf16be.jsonl", _utf16(line, "utf-16-be"), ("utf-16",)),
        Bad("utf32le_bom.jsonl", b"\xff\xfe\x00\x00" + _utf16(line, "utf-32-le"), ("utf-32",)),
        Bad("utf32be.json", _utf16(doc, "utf-32-be"), ("utf-32",)),
        Bad("latin1.jsonl", line.replace(b"Search the", "Caf\u00e9".encode("latin-1")), ("utf-8",), line=1),
        # Other kinds of file under a trajectory name, or damaged ones under their own.
        Bad("corrupt.parquet", b"PAR1" + noise(300) + b"PAR1", ("parquet",)),
        Bad("truncated.parquet", b"PAR1" + noise(50), ("parquet",)),
        Bad("parquet_named.jsonl", b"PAR1" + noise(300) + b"PAR1", ("parquet",)),
        Bad("gzip_named.json", gzip.compress(b"this is not JSON\n" * 20), ("gzip",)),
        Bad("gzip_truncated.jsonl", gzip.compress(_jsonl(line) * 50)[:200], ("gzip",)),
        Bad("zstd_named.jsonl", zstandard.ZstdCompressor().compress(b"\x00\x01 binary " * 50), ("zstd",)),
        Bad("zstd_garbage.jsonl.zst", b"\x28\xb5\x2f\xfd" + noise(100), ("zstd",)),
        Bad("zip_named.json", _eval_with_entry(10), ("zip",)),
        Bad("sqlite.json", b"SQLite format 3\x00" + noise(200), ("sqlite",)),
        Bad("garbage.eval", noise(500), ("eval",)),
        Bad("html.json", b"<!DOCTYPE html><html><body>Not found</body></html>", ("malformed json",)),
        # Size limits: a decompression bomb, an oversized archive entry, a line and a document too large.
        Bad(
            "bomb.jsonl.gz", gzip.compress(_jsonl(_line("bomb")) + b"\n" * (2 * LIMIT)), ("limit", "inflate")
        ),
        Bad("bomb.jsonl.zst", zstandard.ZstdCompressor().compress(b" " * (3 * LIMIT)), ("limit", "inflate")),
        Bad("bomb.eval", _eval_with_entry(2 * LIMIT), ("limit",)),
        Bad(
            "huge_line.jsonl",
            _jsonl(
                _line("huge-ok"),
                _with("huge", b'"study":"unit"', b'"study":"' + big + b'"'),
                _line("huge-ok2"),
            ),
            ("limit",),
            line=2,
            kept=("huge-ok", "huge-ok2"),
        ),
        Bad(
            "huge_doc.json",
            doc.replace(b'"ground_truth": "3"', b'"ground_truth": "' + big + b'"'),
            ("limit",),
        ),
        # Truncated, empty, malformed.
        Bad("truncated.json", doc[: len(doc) // 2], ("truncated",)),
        Bad(
            "truncated_last_line.jsonl",
            _jsonl(_line("cut-ok"), line[: len(line) // 2]),
            ("truncated",),
            line=2,
            kept=("cut-ok",),
        ),
        Bad("empty.jsonl", b"", ("empty",)),
        Bad("empty.json", b"", ("empty",)),
        Bad("blank.jsonl", b"\n\n  \n\t\n", ("empty",)),
        Bad("bom_only.json", b"\xef\xbb\xbf", ("empty",)),
        Bad("garbage.jsonl", noise(2000), ("utf-8",)),
        Bad("nul_bytes.json", b"\x00" * 100, ("nul",)),
        Bad("trailing_garbage.json", doc + b" trailing words", ("malformed json",)),
        Bad("comments.json", b"// a comment\n" + doc, ("malformed json",)),
        Bad(
            "python_repr.jsonl",
            _jsonl(b"{'id': 'x', 'task_id': 't', 'steps': []}"),
            ("malformed json", "line 1"),
        ),
        Bad(
            "control_char.jsonl",
            _jsonl(_with("cc", b"You write Python.", b"You write\x01Python.")),
            ("json",),
            line=1,
        ),
        # Deep nesting: a parser's recursion limit, not the loader's stack.
        Bad("deep.jsonl", _jsonl(_deep(100_000)), ("nested too deeply",), line=1),
        Bad("deep_array.json", b"[" * 200_000 + b"]" * 200_000, ("no registered format",)),
        # JSON of the wrong shape.
        Bad(
            "steps_string.jsonl",
            _jsonl(orjson.dumps(_native("ss", steps="abc"))),
            ("invalid record",),
            field="steps",
            line=1,
        ),
        Bad(
            "id_number.jsonl",
            _jsonl(orjson.dumps(_native("x", id=5))),
            ("invalid record",),
            field="id",
            line=1,
        ),
        Bad(
            "role_robot.json",
            orjson.dumps(_native("rr", steps=[{"index": 0, "role": "robot"}])),
            ("invalid record",),
            field="steps.0.role",
        ),
        Bad(
            "array_line.jsonl",
            _jsonl(_line("arr-ok"), b"[1, 2, 3]"),
            ("expected a json object",),
            line=2,
            kept=("arr-ok",),
        ),
        Bad(
            "newer_version.jsonl",
            _jsonl(orjson.dumps(_native("nv", schema_version="9.9"))),
            ("newer",),
            field="schema_version",
            line=1,
        ),
        Bad("not_a_trajectory.json", b'{"hello": "world"}', ("no registered format",)),
    ]


BAD = _bad_files()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, LoadResult]]:
    root = tmp_path_factory.mktemp("bad-input")
    _good_files(root)
    for bad in BAD:
        path = root / bad.name
        if isinstance(bad.content, bytes):
            path.write_bytes(bad.content)
        else:
            bad.content(path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MEMEX_AUDIT_MAX_INFLATED_BYTES", str(LIMIT))
        patch.setenv("MEMEX_AUDIT_MAX_RECORD_BYTES", str(LIMIT))
        yield root, load(root)


def test_the_corpus_is_large_enough() -> None:
    assert 50 <= len(BAD) <= 75
    assert len({bad.name for bad in BAD}) == len(BAD)


def test_no_crash_and_every_good_trajectory_kept(corpus: tuple[Path, LoadResult]) -> None:
    _, result = corpus
    crashes = [e for e in result.errors if " while reading: " in e.reason]
    assert crashes == []
    kept = {t.id for t in result.trajectories}
    wanted = set(GOOD_IDS) | {i for bad in BAD for i in bad.kept}
    assert kept == wanted, (sorted(kept - wanted), sorted(wanted - kept))


def test_every_bad_file_is_reported_and_nothing_else(corpus: tuple[Path, LoadResult]) -> None:
    _, result = corpus
    reported = {Path(e.file).name for e in result.errors}
    assert reported == {bad.name for bad in BAD} | {"loop-b.jsonl"}
    assert result.skipped == []


@pytest.mark.parametrize("bad", BAD, ids=[bad.name for bad in BAD])
def test_the_reason_names_the_real_problem(bad: Bad, corpus: tuple[Path, LoadResult]) -> None:
    root, result = corpus
    errors = [e for e in result.errors if e.file == str(root / bad.name)]
    assert errors, f"{bad.name} was not reported"
    error = errors[0]
    for word in bad.reason:
        assert word.lower() in error.reason.lower(), str(error)
    if bad.field is not None:
        assert error.field == bad.field, str(error)
    if bad.line is not None:
        assert error.line == bad.line, str(error)


def test_a_non_finite_number_is_located_in_a_multi_line_document(corpus: tuple[Path, LoadResult]) -> None:
    root, result = corpus
    (error,) = [e for e in result.errors if e.file == str(root / "nan_in_list.json")]
    doc = (root / "nan_in_list.json").read_bytes()
    assert error.line == doc[: doc.index(b"NaN")].count(b"\n") + 1


def test_good_trajectories_load_the_same_from_a_bom_file(corpus: tuple[Path, LoadResult]) -> None:
    _, result = corpus
    by_id = {t.id: t for t in result.trajectories}
    expected = Trajectory.model_validate_json(_line("bom-1"))
    assert by_id["bom-1"].steps == expected.steps
    assert by_id["big-head"].question is not None and len(by_id["big-head"].question) > 100_000


def test_the_limits_are_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "run.jsonl.gz").write_bytes(gzip.compress(_jsonl(_line("small")) + b"\n" * 5000))
    monkeypatch.setenv("MEMEX_AUDIT_MAX_INFLATED_BYTES", "4000")
    (error,) = load(tmp_path).errors
    assert "MEMEX_AUDIT_MAX_INFLATED_BYTES" in error.reason
    monkeypatch.delenv("MEMEX_AUDIT_MAX_INFLATED_BYTES")
    assert [t.id for t in load(tmp_path).trajectories] == ["small"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_and_folder_are_listed(tmp_path: Path) -> None:
    write_jsonl([memex_run("ok")], tmp_path / "ok.jsonl")
    locked = tmp_path / "locked.jsonl"
    write_jsonl([memex_run("locked")], locked)
    locked.chmod(0)
    folder = tmp_path / "private"
    folder.mkdir()
    write_jsonl([memex_run("hidden")], folder / "x.jsonl")
    folder.chmod(0)
    try:
        result = load(tmp_path)
    finally:
        locked.chmod(0o600)
        folder.chmod(0o700)
    assert [t.id for t in result.trajectories] == ["ok"]
    reasons = {Path(e.file).name: e.reason for e in result.errors}
    assert "permission" in reasons["locked.jsonl"].lower()
    assert "permission" in reasons["private"].lower()
