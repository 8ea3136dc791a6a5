"""The index of a folder: task groups read back one at a time equal what ``load`` gives, for native
JSONL (offsets), other formats and compressed files (spilled), and fsspec URLs."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from memex_audit.loaders import index_trajectories, load, load_task
from memex_audit.trajectory import TaskGroup, group_by_task

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_trajectories"


def _groups_through_index(path: str | Path, **options: str) -> tuple[list[TaskGroup], list[str]]:
    with index_trajectories(path, **options) as index:
        groups = []
        errors = [str(e) for e in index.errors]
        for _, entries in index.tasks():
            group, more = load_task(entries)
            assert group is not None
            groups.append(group)
            errors += [str(e) for e in more]
        return groups, errors


def test_the_index_gives_the_groups_load_gives() -> None:
    loaded = load(SAMPLES)
    groups, errors = _groups_through_index(SAMPLES)
    assert groups == group_by_task(loaded.trajectories)
    assert errors == [str(e) for e in loaded.errors]


def test_native_lines_are_offsets_and_other_formats_are_spilled(tmp_path: Path) -> None:
    with index_trajectories(SAMPLES) as index:
        native = [e for e in index.entries if not e.spilled]
        spilled = [e for e in index.entries if e.spilled]
        assert native and spilled
        assert all(e.path.endswith(".jsonl") and e.line for e in native)
        assert {e.source_file for e in spilled} <= {
            str(p) for p in (SAMPLES / "mixed_formats").rglob("*.json")
        }
        assert index.scratch is not None and index.scratch.is_dir()
        scratch = index.scratch
        assert index.files == load(SAMPLES).files
    assert not scratch.exists()  # closing the index removes its scratch copies


def test_failed_and_task_come_from_the_index_alone() -> None:
    loaded = load(SAMPLES / "officeqa")
    with index_trajectories(SAMPLES / "officeqa") as index:
        assert [(e.id, e.task_id, e.failed) for e in index.entries] == [
            (t.id, t.task_id, t.failed) for t in loaded.trajectories
        ]


def test_bad_records_are_errors_at_index_or_at_load_time(tmp_path: Path) -> None:
    source = next((SAMPLES / "officeqa").glob("*.jsonl")).read_bytes().splitlines()
    lines = [source[0], b'{"id": "broken', b"", source[1].replace(b'"steps":', b'"steps": 3, "x":', 1)]
    (tmp_path / "runs.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    loaded = load(tmp_path)
    groups, errors = _groups_through_index(tmp_path)
    assert groups == group_by_task(loaded.trajectories)
    assert sorted(errors) == sorted(str(e) for e in loaded.errors)
    assert len(errors) == 2


def test_compressed_native_files_are_read(tmp_path: Path) -> None:
    for file in sorted((SAMPLES / "officeqa").glob("*.jsonl"))[:3]:
        (tmp_path / f"{file.name}.gz").write_bytes(gzip.compress(file.read_bytes()))
    loaded = load(tmp_path)
    groups, errors = _groups_through_index(tmp_path)
    assert len(loaded.trajectories) > 0 and not errors
    assert groups == group_by_task(loaded.trajectories)


def test_glob_and_single_files_as_load(tmp_path: Path) -> None:
    one = next((SAMPLES / "officeqa").glob("*.jsonl"))
    assert _groups_through_index(one)[0] == load(one).tasks()
    assert (
        _groups_through_index(SAMPLES, glob="bon-00*.jsonl")[0] == load(SAMPLES, glob="bon-00*.jsonl").tasks()
    )


def _to_memory(folder: Path, prefix: str) -> str:
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    for file in sorted(folder.rglob("*")):
        if file.is_file():
            fs.pipe(f"/{prefix}/{file.relative_to(folder).as_posix()}", file.read_bytes())
    return f"memory://{prefix}"


def test_urls_are_indexed_and_read_through_fsspec(tmp_path: Path) -> None:
    local = tmp_path / "data"
    shutil.copytree(SAMPLES / "officeqa", local / "officeqa")
    shutil.copytree(SAMPLES / "mixed_formats" / "anthropic", local / "anthropic")
    url = _to_memory(local, "index-test")
    groups, errors = _groups_through_index(url)
    expected = load(local).tasks()
    assert not errors
    assert [g.task_id for g in groups] == [g.task_id for g in expected]
    for got, want in zip(groups, expected, strict=True):
        for a, b in zip(got.trajectories, want.trajectories, strict=True):
            assert a.source is not None and b.source is not None
            assert a.source.file is not None and a.source.file.startswith("memory://index-test/")
            assert (
                a.source.file.removeprefix("memory://index-test/")
                == Path(b.source.file or "").relative_to(local).as_posix()
            )
            assert a.model_copy(update={"source": None}) == b.model_copy(update={"source": None})
    with index_trajectories(url) as index:
        assert any(e.readable_anywhere for e in index.entries)  # native lines: workers read the URL
        assert any(e.spilled for e in index.entries)  # the anthropic files were read whole


def test_a_missing_url_says_so() -> None:
    pytest.importorskip("fsspec")
    from memex_audit.errors import UsageError

    with pytest.raises(UsageError, match="does not exist"):
        index_trajectories("memory://nothing-here/at-all")


def test_a_file_skipped_inside_a_url_folder_is_named_by_its_url(tmp_path: Path) -> None:
    local = tmp_path / "data"
    shutil.copytree(SAMPLES / "officeqa", local / "officeqa")
    (local / "notes.txt").write_text("not trajectories\n")
    url = _to_memory(local, "skip-test")
    with index_trajectories(url) as index:
        assert index.entries
        assert index.skipped == ["memory://skip-test/notes.txt"]
