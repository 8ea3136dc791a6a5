"""The index read on several processes is the index read in one: same entries in the same order, the
same problems, the same trajectories read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from memex_audit.loaders import IndexEntry, index_trajectories
from memex_audit.loaders import _index as index_module
from memex_audit.loaders._index import _parts, load_entries
from tests.paths import SAMPLES


def _key(entry: IndexEntry) -> tuple[object, ...]:
    # Where a spilled trajectory sits in the scratch folder differs (a file per worker); what it is does not.
    return (
        entry.id,
        entry.task_id,
        entry.success,
        entry.source_file,
        entry.source_line,
        entry.source_position,
        entry.format,
        entry.line,
        entry.spilled,
    )


@pytest.fixture
def always_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "PARALLEL_MIN_BYTES", 0)


@pytest.mark.slow
@pytest.mark.usefixtures("always_parallel")
def test_two_workers_index_the_samples_as_one_does(tmp_path: Path) -> None:
    folder = tmp_path / "rollouts"
    folder.mkdir()
    for file in sorted(SAMPLES.rglob("*")):
        if file.is_file() and not file.name.startswith("."):
            target = folder / file.relative_to(SAMPLES)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.read_bytes())
    (folder / "zz_broken.jsonl").write_text('{"id": "x", "task_id": \n')

    seen_one: list[tuple[str, str | None]] = []
    seen_two: list[tuple[str, str | None]] = []
    with (
        index_trajectories(folder, on_file=lambda f, fmt: seen_one.append((f, fmt))) as one,
        index_trajectories(folder, workers=2, on_file=lambda f, fmt: seen_two.append((f, fmt))) as two,
    ):
        assert len(one.entries) > 100
        assert [_key(e) for e in two.entries] == [_key(e) for e in one.entries]
        assert [(p.file, p.line, p.reason) for p in two.errors] == [
            (p.file, p.line, p.reason) for p in one.errors
        ]
        assert any(p.file and p.file.endswith("zz_broken.jsonl") for p in two.errors)
        assert two.files == one.files and two.skipped == one.skipped
        assert seen_two == seen_one
        read_one = [item.model_dump_json() for item in load_entries(one.entries)]
        read_two = [item.model_dump_json() for item in load_entries(two.entries)]
        assert read_two == read_one
        scratch = two.scratch
    assert scratch is None or not scratch.exists()  # closing the index removes every worker's part


def test_files_are_cut_into_consecutive_parts_of_about_equal_size(
    tmp_path: Path, always_parallel: None
) -> None:
    files = []
    for n, size in enumerate([10, 10, 10, 10, 400, 10, 10, 10]):
        file = tmp_path / f"{n}.jsonl"
        file.write_bytes(b"x" * size)
        files.append(file)
    parts = _parts(files, workers=2)
    assert [f for part in parts for f in part] == files  # consecutive, nothing lost or repeated
    assert 2 <= len(parts) <= len(files)
    assert any(part == [files[4]] for part in parts)  # the big file is a part of its own
    assert _parts(files, workers=1) == [files]


def test_a_small_folder_is_indexed_in_this_process(tmp_path: Path) -> None:
    files = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    for file in files:
        file.write_text("{}\n")
    assert _parts(files, workers=4) == [files]


@pytest.mark.slow
@pytest.mark.usefixtures("always_parallel")
def test_an_index_read_on_the_callers_pool_is_the_same_and_leaves_the_pool_open() -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from memex_audit._runtime import start_method
    from memex_audit.runs import available_cpus  # noqa: F401 - the pool's start method, as the audit's

    context = multiprocessing.get_context(start_method())
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        with index_trajectories(SAMPLES) as one, index_trajectories(SAMPLES, workers=2, pool=pool) as shared:
            assert [_key(e) for e in shared.entries] == [_key(e) for e in one.entries]
            read_one = [item.model_dump_json() for item in load_entries(one.entries)]
            assert [item.model_dump_json() for item in load_entries(shared.entries)] == read_one
        assert pool.submit(len, "still open").result() == 10
