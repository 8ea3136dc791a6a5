"""Compressed rollout files (.gz, .zst) in folders and named directly, and standard input."""

from __future__ import annotations

import gzip
import io
import shutil
import sys
from pathlib import Path

import pytest
import zstandard

from memex_audit.loaders import load

FIXTURES = Path(__file__).parent / "fixtures"
SPANS = FIXTURES / "openinference_openai_0.1.66.json"
CLAUDE = FIXTURES / "claude_code_2.0.37" / "-home-dev-budget"


def _zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


def test_a_folder_reads_gz_and_zst_files_as_the_files_they_hold(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "trace.json.gz").write_bytes(gzip.compress(SPANS.read_bytes()))
    (run / "trace2.json.zst").write_bytes(_zst(SPANS.read_bytes()))
    (run / "notes.tar.gz").write_bytes(gzip.compress(b"not rollouts"))
    result = load(tmp_path)
    assert result.errors == []
    assert sorted(t.id.split("/")[0] for t in result.trajectories) == ["trace", "trace2"]
    assert sorted(t.source.file for t in result.trajectories if t.source) == [
        str(run / "trace.json.gz"),
        str(run / "trace2.json.zst"),
    ]
    assert [Path(p).name for p in result.skipped] == ["notes.tar.gz"]
    assert all(len(t.steps) == 6 for t in result.trajectories)


def test_a_compressed_file_named_directly_loads_and_a_damaged_one_says_so(tmp_path: Path) -> None:
    good = tmp_path / "trace.json.zst"
    good.write_bytes(_zst(SPANS.read_bytes()))
    [t] = load(good).trajectories
    assert t.source is not None and (t.source.file, t.source.format) == (str(good), "otel")
    bad = tmp_path / "spans.jsonl.gz"
    bad.write_bytes(b"\x1f\x8b not gzip at all")
    result = load(bad)
    [error] = result.errors
    assert error.file == str(bad) and "cannot decompress this gzip file" in error.reason


def test_compressed_claude_code_sessions_keep_their_sub_agents(tmp_path: Path) -> None:
    folder = tmp_path / CLAUDE.name
    folder.mkdir()
    for path in CLAUDE.iterdir():
        (folder / f"{path.name}.zst").write_bytes(_zst(path.read_bytes()))
    result = load(tmp_path)
    assert result.errors == []
    [t] = result.trajectories
    assert t.agents == ["main", "Explore"]
    assert [Path(p).name for p in result.skipped] == ["agent-a3f29c1e.jsonl.zst"]


@pytest.mark.parametrize("compress", [lambda b: b, gzip.compress, _zst], ids=["plain", "gzip", "zstd"])
def test_standard_input_is_read_whatever_its_format(monkeypatch: pytest.MonkeyPatch, compress) -> None:  # type: ignore[no-untyped-def]
    for source, steps in ((SPANS, 6), (FIXTURES / "inspect_mockllm_0.3.285.eval", 7)):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(compress(source.read_bytes()))))
        result = load("-")
        assert result.errors == []
        assert len(result.trajectories[0].steps) == steps
        assert {t.source.file for t in result.trajectories if t.source} == {"<stdin>"}


def test_jsonl_from_standard_input(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    session = next(CLAUDE.glob("7c1e*.jsonl"))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(session.read_bytes())))
    [t] = load("-").trajectories
    assert t.harness == "claude-code" and t.source is not None and t.source.file == "<stdin>"


def test_the_scratch_copies_are_removed(tmp_path: Path) -> None:
    import tempfile

    before = set(Path(tempfile.gettempdir()).glob("memex-unpack-*"))
    shutil.copy(SPANS, tmp_path / "a.json")
    (tmp_path / "a.json.gz").write_bytes(gzip.compress(SPANS.read_bytes()))
    load(tmp_path)
    assert set(Path(tempfile.gettempdir()).glob("memex-unpack-*")) == before
