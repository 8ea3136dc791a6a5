"""An index of a folder of rollouts: where each trajectory is, with its task, id and outcome.

``index_trajectories`` reads a file, a folder or an fsspec URL (``s3://…``, ``gs://…``,
``memory://…``; the ``cloud`` extra installs fsspec) once and keeps, for each trajectory, where to
read it again and the few fields a job plans with. ``TrajectoryIndex.load_task`` then reads one
task's trajectories, so a job over 100k trajectories holds one task group plus the index, never
the folder.

How each file is indexed:

* native JSONL (the bulk of large folders): each line is parsed with orjson for its top-level
  fields (``id``, ``task_id``, ``outcome``, ``source``) and its byte offset kept; nothing is validated
  until the line is read again, so a record that is not a valid trajectory becomes a ``LoadProblem``
  when its task is loaded;
* every other format, and compressed files: loaded one file at a time as ``load`` loads it, each
  trajectory written as a native line into the index's scratch folder (``spilled`` entries), so
  reading a task back is the same offset read for every format.

Trajectories read back through the index equal what ``load`` returns, source included.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from memex_audit._runtime import gc_paused, start_method
from memex_audit.errors import UsageError
from memex_audit.loaders._compression import compression_of
from memex_audit.loaders._jsonio import loads_checked, strip_bom
from memex_audit.loaders._load import _load_file, _renamed, iter_files
from memex_audit.loaders._native import _SUPPORTED_VERSIONS, _validate_json, _validate_record
from memex_audit.loaders._native import FORMAT as NATIVE
from memex_audit.loaders._registry import (
    HEAD_BYTES,
    FormatAdapter,
    LoadItem,
    LoadProblem,
    LoadWarning,
    get_format,
    is_companion,
    read_head,
    sniff_format,
)
from memex_audit.trajectory import Outcome, TaskGroup, Trajectory, group_by_task


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """Where one trajectory is and what a job plans with.

    Attributes:
        path: Where its bytes are: the input file (a path or URL), or the index's scratch copy.
        offset: Byte offset of its line in ``path``.
        length: Length of that line in bytes.
        line: Its 1-based line in ``path`` when ``path`` is the input file (``None`` when spilled).
        id: The trajectory id.
        task_id: Its task.
        success: ``Outcome.success`` of its outcome (``None`` when ungraded).
        source_file: The file its ``source`` names (what results and errors cite).
        source_line: The line its ``source`` names, when there is one.
        source_position: The record position its ``source`` names, when there is one.
        model: The model that produced it, when known (for selections).
        harness: The harness that ran it, when known.
        format: The format its ``source`` names.
        spilled: Its bytes are in the scratch folder of the machine that built the index.
    """

    path: str
    offset: int
    length: int
    line: int | None
    id: str
    task_id: str
    success: bool | None
    source_file: str | None
    source_line: int | None
    source_position: int | None
    model: str | None = None
    harness: str | None = None
    format: str | None = None
    spilled: bool = False

    @property
    def failed(self) -> bool:
        """True when the outcome says the rollout did not succeed (as ``Trajectory.failed``)."""
        return self.success is False

    @property
    def readable_anywhere(self) -> bool:
        """Whether another machine can read it (a URL, not a local or scratch file)."""
        return not self.spilled and is_url(self.path)


@dataclass
class TrajectoryIndex:
    """What ``index_trajectories`` found (see the module docstring); close it to remove its scratch copies.

    Attributes:
        root: The indexed path or URL.
        entries: One entry per trajectory, in the order ``load`` returns them.
        errors: Files or records that could not be indexed (more may show when a task is loaded).
        warnings: Trajectories of non-native files that loaded without content.
        files: Each file that held trajectories, with the format that read it.
        skipped: Files that are not trajectory data.
        scratch: The folder holding spilled trajectories (``None`` when nothing was spilled).
    """

    root: str
    entries: list[IndexEntry] = field(default_factory=list)
    errors: list[LoadProblem] = field(default_factory=list)
    warnings: list[LoadWarning] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    scratch: Path | None = None

    def __len__(self) -> int:
        return len(self.entries)

    def __enter__(self) -> TrajectoryIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the scratch folder (entries that point into it can no longer be read)."""
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def tasks(self) -> list[tuple[str, list[IndexEntry]]]:
        """The entries grouped by task, tasks in first-seen order (as ``group_by_task``)."""
        groups: dict[str, list[IndexEntry]] = {}
        for entry in self.entries:
            groups.setdefault(entry.task_id, []).append(entry)
        return list(groups.items())

    def load_task(self, entries: Iterable[IndexEntry]) -> tuple[TaskGroup | None, list[LoadProblem]]:
        """Read the trajectories of ``entries`` (one task's) as a ``TaskGroup``; see ``load_task``."""
        return load_task(entries)


def load_entries(entries: Iterable[IndexEntry]) -> Iterator[LoadItem]:
    """Read the trajectories ``entries`` point at, in their order; a record that does not validate
    becomes a ``LoadProblem`` (file, line, field, reason) like ``load`` would give."""
    handles: dict[str, IO[bytes]] = {}
    try:
        for entry in entries:
            fh = handles.get(entry.path)
            if fh is None:
                fh = handles[entry.path] = _open(entry.path)
            fh.seek(entry.offset)
            raw = fh.read(entry.length)
            yield _read_record(entry, raw)
    finally:
        for fh in handles.values():
            fh.close()


def load_task(entries: Iterable[IndexEntry]) -> tuple[TaskGroup | None, list[LoadProblem]]:
    """One task's trajectories as a ``TaskGroup`` (equal to the group ``load`` + ``group_by_task``
    gives) and the records that could not be read; the group is ``None`` when none could."""
    trajectories: list[Trajectory] = []
    errors: list[LoadProblem] = []
    for item in load_entries(entries):
        if isinstance(item, Trajectory):
            trajectories.append(item)
        else:
            errors.append(item)
    groups = group_by_task(trajectories)
    return (groups[0] if groups else None), errors


def is_url(path: str | Path) -> bool:
    """Whether ``path`` names a file system by URL (``s3://…``, ``memory://…``), read through fsspec."""
    return isinstance(path, str) and "://" in path and not path.startswith("file://")


def index_trajectories(
    path: str | Path,
    *,
    glob: str | None = None,
    format: str | None = None,
    on_file: Callable[[str, str | None], None] | None = None,
    scratch: str | Path | None = None,
    workers: int = 1,
    pool: concurrent.futures.Executor | None = None,
) -> TrajectoryIndex:
    """Index a file, a folder (recursively) or an fsspec URL of rollouts (see the module docstring).

    Args:
        path: A file, a folder, or a URL (``s3://bucket/runs/``; needs the ``cloud`` extra).
        glob: Only read files matching this pattern (see ``iter_files``).
        format: Read every file with this adapter instead of sniffing.
        on_file: Called with each file and the format chosen for it, before it is read.
        scratch: Where to create the scratch folder for spilled trajectories (default: the
            system's temporary folder).
        workers: Processes that read a local folder's files at once (``PARALLEL_MIN_BYTES`` of
            files or more; otherwise, and for a URL, one). The index is the same whatever the
            number, entries in the same order; ``on_file`` is then called as each file's part of
            the index comes back, in order, rather than before the file is read.
        pool: Read the files on this process pool (``workers`` of its processes) instead of
            starting one here: a caller that will run jobs on the same processes after the index
            starts them once.

    Raises:
        UsageError: ``path`` does not exist, ``format`` is unknown, or a URL is given without fsspec.
    """
    forced: FormatAdapter | None = get_format(format) if format else None
    index = TrajectoryIndex(root=str(path))
    try:
        with gc_paused(), _Spill(index, lambda: _scratch(index, scratch) / "spilled.jsonl") as spill:
            if is_url(str(path)):
                _index_remote(str(path), glob, forced, index, spill, on_file)
            else:
                root = Path(path)
                single_file = root.is_file()
                files = iter_files(root, glob)
                parts = _parts(files, workers)
                if len(parts) > 1:
                    folder = _scratch(index, scratch)
                    _index_in_parallel(parts, forced, single_file, index, folder, on_file, workers, pool)
                else:
                    _index_files(files, forced, single_file, index, spill, on_file)
    except BaseException:
        index.close()
        raise
    return index


# -- indexing on several processes ----------------------------------------------------------------

PARALLEL_MIN_BYTES = 4 << 20
"""Folders smaller than this are indexed in this process: starting workers would cost more."""

PARTS_PER_WORKER = 8
"""Bytes say only roughly how long a part takes (formats differ): with 8 parts per worker rather
than 4, the index of the development data ends about 0.1 s sooner on 2 cores, its last parts
finishing closer together."""


def _parts(files: list[Path], workers: int) -> list[list[Path]]:
    """``files`` cut into consecutive parts of about equal size, ``PARTS_PER_WORKER`` per worker (so
    that a part of big files does not keep one worker busy while the others wait); one part when
    not worth it."""
    if workers <= 1 or len(files) < 2:
        return [files]
    sizes = []
    for file in files:
        try:
            sizes.append(max(file.stat().st_size, 1))
        except OSError:
            sizes.append(1)
    total = sum(sizes)
    if total < PARALLEL_MIN_BYTES:
        return [files]
    wanted = min(len(files), workers * PARTS_PER_WORKER)
    parts: list[list[Path]] = [[]]
    filled = 0
    for file, size in zip(files, sizes, strict=True):
        # a file goes to the next part when its middle lies past the current part's share
        if parts[-1] and filled + size / 2 > total * len(parts) / wanted:
            parts.append([])
        parts[-1].append(file)
        filled += size
    return parts


@dataclass
class _Part:
    """What a worker found in its files: a piece of the index, and each file's format in order."""

    index: TrajectoryIndex
    formats: list[tuple[str, str | None]]


def _index_part(files: list[Path], forced: str | None, single_file: bool, spill_path: str) -> _Part:
    """Index ``files`` in a worker process, spilling into ``spill_path`` (a file of its own)."""
    part = TrajectoryIndex(root="")
    formats: list[tuple[str, str | None]] = []
    adapter = get_format(forced) if forced else None
    with gc_paused(), _Spill(part, lambda: Path(spill_path)) as spill:
        _index_files(files, adapter, single_file, part, spill, lambda name, fmt: formats.append((name, fmt)))
    return _Part(part, formats)


def _index_in_parallel(
    parts: list[list[Path]],
    forced: FormatAdapter | None,
    single_file: bool,
    index: TrajectoryIndex,
    folder: Path,
    on_file: Callable[[str, str | None], None] | None,
    workers: int,
    pool: concurrent.futures.Executor | None,
) -> None:
    """Index ``parts`` on ``workers`` processes (of ``pool``, or of one started here), spilling into
    ``folder``, and join their pieces into ``index``, in order."""
    with contextlib.ExitStack() as stack:
        if pool is None:
            context = multiprocessing.get_context(start_method())
            pool = stack.enter_context(
                ProcessPoolExecutor(max_workers=min(workers, len(parts)), mp_context=context)
            )
        futures = [
            pool.submit(
                _index_part,
                files,
                forced.name if forced else None,
                single_file,
                str(folder / f"part-{n}.jsonl"),
            )
            for n, files in enumerate(parts)
        ]
        try:
            for future in futures:
                done = future.result()
                for name, fmt in done.formats:
                    if on_file:
                        on_file(name, fmt)
                index.entries.extend(done.index.entries)
                index.errors.extend(done.index.errors)
                index.warnings.extend(done.index.warnings)
                for file, fmt in done.index.files.items():
                    index.files.setdefault(file, fmt)
                index.skipped.extend(done.index.skipped)
        except BaseException:
            for future in futures:
                future.cancel()
            raise


# -- indexing -------------------------------------------------------------------------------------


def _index_files(
    files: list[Path],
    forced: FormatAdapter | None,
    single_file: bool,
    index: TrajectoryIndex,
    spill: _Spill,
    on_file: Callable[[str, str | None], None] | None,
) -> None:
    """Index local ``files`` one after the other, in this process."""
    for file in files:
        _index_file(file, str(file), forced, single_file, index, spill, on_file)


def _index_file(
    file: Path,
    name: str,
    forced: FormatAdapter | None,
    single_file: bool,
    index: TrajectoryIndex,
    spill: _Spill,
    on_file: Callable[[str, str | None], None] | None,
) -> None:
    """Index one local file; ``name`` is what entries and errors call it (the URL of a downloaded file)."""
    try:
        head: bytes | None = read_head(file)
    except OSError:
        head = None  # ``_load_file`` says why
    if head is not None and _is_plain_native_jsonl(file, head, forced, single_file):
        if on_file:
            on_file(name, NATIVE)
        with file.open("rb") as fh:
            _scan_native(fh, name, index)
        return
    items: Iterator[LoadItem | tuple[str, Path]] = _load_file(
        file, forced, single_file, (lambda _f, fmt: on_file(name, fmt)) if on_file else None, head=head
    )
    renamed = name != str(file)  # a downloaded copy of a URL: items name the URL, not the copy
    if renamed:
        items = _renamed(items, file, name)
    for item in items:
        if isinstance(item, Trajectory):
            spill.add(item)
            src = item.source
            if src is not None and src.file is not None:
                index.files.setdefault(src.file, src.format or "?")
        elif isinstance(item, LoadWarning):
            index.warnings.append(item)
        elif isinstance(item, LoadProblem):
            index.errors.append(item)
        else:
            # (``Path`` would fold the URL's ``//``: a renamed item is the URL itself)
            index.skipped.append(name if renamed or item[1] == file else str(item[1]))


def _is_plain_native_jsonl(file: Path, head: bytes, forced: FormatAdapter | None, single_file: bool) -> bool:
    """Whether ``load`` would read ``file`` with the native adapter line by line (see ``_load_file``),
    told by its name and first bytes (``file`` need not exist here: a remote file's name will do)."""
    if not file.name.endswith(".jsonl") or compression_of(file, head) is not None:
        return False
    if forced is not None:
        return forced.name == NATIVE
    if not single_file and is_companion(file, head):
        return False
    adapter = sniff_format(file, head)
    return adapter is not None and adapter.name == NATIVE


def _scan_native(fh: IO[bytes], name: str, index: TrajectoryIndex) -> None:
    """Index a native JSONL stream: one orjson parse per line for its top-level fields, no validation."""
    offset, seen_any, found_any = 0, False, False
    for number, raw in enumerate(fh, start=1):
        start, offset = offset, offset + len(raw)
        if not raw.strip():
            continue
        seen_any = True
        # The same checks as loading (a repeated key or a non-finite number is an error, not a
        # silently different outcome to plan with), and a byte order mark on the first line.
        record = loads_checked(strip_bom(raw) if number == 1 else raw, Path(name), NATIVE, line=number)
        if isinstance(record, LoadProblem):
            record.file = name
            index.errors.append(record)
            continue
        entry = _native_entry(record, name, number, start, len(raw))
        if entry is None:
            # Not a record the fast path can plan with: validate it now for its exact error.
            checked = _validate_record(record, Path(name), line=number)
            if isinstance(checked, LoadProblem):
                checked.file = name
                index.errors.append(checked)
                continue
            entry = _entry_of(checked, name, start, len(raw), line=number, spilled=False)
        index.entries.append(entry)
        found_any = True
    if not seen_any:
        index.errors.append(LoadProblem(file=name, format=NATIVE, reason="empty file"))
    elif found_any:
        index.files.setdefault(name, NATIVE)


def _native_entry(record: Any, name: str, number: int, offset: int, length: int) -> IndexEntry | None:
    if not isinstance(record, dict):
        return None
    tid, task = record.get("id"), record.get("task_id")
    if not isinstance(tid, str) or not isinstance(task, str):
        return None
    if str(record.get("schema_version", "1.0")) not in _SUPPORTED_VERSIONS:
        return None
    try:
        success = Outcome.model_validate(record.get("outcome") or {}).success
    except ValidationError:
        return None
    src = record.get("source")
    if isinstance(src, dict):
        file, line, position, fmt = src.get("file"), src.get("line"), src.get("position"), src.get("format")
    else:
        file, line, position, fmt = name, number, None, NATIVE
    model, harness = record.get("model"), record.get("harness")
    return IndexEntry(
        path=name,
        offset=offset,
        length=length,
        line=number,
        id=tid,
        task_id=task,
        success=success,
        source_file=file if isinstance(file, str) else None,
        source_line=line if isinstance(line, int) else None,
        source_position=position if isinstance(position, int) else None,
        model=_interned(model),
        harness=_interned(harness),
        format=_interned(fmt),
    )


def _interned(value: Any) -> str | None:
    # The same few model, harness and format names repeat on every entry: keep one copy of each.
    return sys.intern(value) if isinstance(value, str) else None


def _entry_of(
    traj: Trajectory, path: str, offset: int, length: int, *, line: int | None, spilled: bool
) -> IndexEntry:
    src = traj.source
    return IndexEntry(
        path=path,
        offset=offset,
        length=length,
        line=line,
        id=traj.id,
        task_id=traj.task_id,
        success=traj.success,
        source_file=src.file if src else None,
        source_line=src.line if src else None,
        source_position=src.position if src else None,
        model=_interned(traj.model),
        harness=_interned(traj.harness),
        format=_interned(src.format if src else None),
        spilled=spilled,
    )


def _scratch(index: TrajectoryIndex, parent: str | Path | None) -> Path:
    """The index's scratch folder (in ``parent``), made now if it was not yet."""
    if index.scratch is None:
        index.scratch = Path(tempfile.mkdtemp(prefix="memex-index-", dir=parent))
    return index.scratch


class _Spill:
    """The scratch native JSONL that holds trajectories of formats read whole, an entry of ``index``
    each; the file, at the path ``where()`` gives, is created on first use and closed on exit."""

    def __init__(self, index: TrajectoryIndex, where: Callable[[], Path]) -> None:
        self.index = index
        self.where = where
        self.fh: IO[bytes] | None = None
        self.path = ""
        self.offset = 0

    def __enter__(self) -> _Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None

    def add(self, traj: Trajectory) -> None:
        if self.fh is None:
            self.path = str(self.where())
            self.fh = open(self.path, "wb")  # noqa: SIM115 - closed on exit
        # ``model_dump_json`` as bytes, without a round trip through ``str``.
        raw = traj.__pydantic_serializer__.to_json(traj) + b"\n"
        self.index.entries.append(_entry_of(traj, self.path, self.offset, len(raw), line=None, spilled=True))
        self.fh.write(raw)
        self.offset += len(raw)


# -- reading back ---------------------------------------------------------------------------------


def _read_record(entry: IndexEntry, raw: bytes) -> LoadItem:
    if entry.spilled:
        return Trajectory.model_validate_json(raw)
    local = Path(entry.path)
    item = _validate_json(raw, local, line=entry.line, position=None)
    # ``Path`` folds the ``//`` of a URL: name the file as the index does.
    if isinstance(item, Trajectory):
        if item.source is not None and item.source.file == str(local):
            item.source.file = entry.path
    elif item.file == str(local):
        item.file = entry.path
    return item


# -- file systems ---------------------------------------------------------------------------------


def _fsspec() -> Any:
    try:
        import fsspec
    except ImportError as exc:
        raise UsageError(
            "reading s3://, gs:// and other URLs needs fsspec (and the file system's own package, such "
            "as s3fs or gcsfs): pip install 'memex-audit[cloud]'"
        ) from exc
    return fsspec


def _open(path: str) -> IO[bytes]:
    if is_url(path):
        handle: IO[bytes] = _fsspec().open(path, "rb").open()
        return handle
    return open(path, "rb")


def _index_remote(
    url: str,
    glob: str | None,
    forced: FormatAdapter | None,
    index: TrajectoryIndex,
    spill: _Spill,
    on_file: Callable[[str, str | None], None] | None,
) -> None:
    fs, root = _fsspec().core.url_to_fs(url)
    if not fs.exists(root):
        raise UsageError(f"{url} does not exist")
    single_file = fs.isfile(root)
    for remote, rel in _remote_files(fs, root, glob, single_file):
        # Named as the user spelled the URL, so results cite what they typed.
        name = url if single_file else f"{url.rstrip('/')}/{rel}"
        with fs.open(remote, "rb") as fh:
            head = fh.read(HEAD_BYTES)
            probe = Path(remote.rsplit("/", 1)[-1])
            if _is_plain_native_jsonl(probe, head, forced, single_file):
                if on_file:
                    on_file(name, NATIVE)
                fh.seek(0)
                _scan_native(fh, name, index)
                continue
        # Read whole by another adapter: a local copy, named as the adapters expect (they use the
        # file and folder names), stands in for the remote file.
        with tempfile.TemporaryDirectory(prefix="memex-remote-") as tmp:
            parts = remote.rstrip("/").split("/")
            local = Path(tmp) / (parts[-2] if len(parts) > 1 else "_") / parts[-1]
            local.parent.mkdir(parents=True)
            fs.get_file(remote, str(local))
            _index_file(local, name, forced, single_file, index, spill, on_file)


def _remote_files(fs: Any, root: str, glob: str | None, single_file: bool) -> list[tuple[str, str]]:
    """The files under ``root`` on ``fs`` with ``iter_files``'s rules (recursive, sorted, hidden ones
    skipped), each with its path relative to ``root``."""
    import fnmatch

    if single_file:
        return [(root, root.rsplit("/", 1)[-1])]
    prefix = root.rstrip("/") + "/"
    files = []
    for candidate in sorted(fs.find(root)):
        rel = candidate[len(prefix) :] if candidate.startswith(prefix) else candidate.rsplit("/", 1)[-1]
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        if glob is not None:
            target = rel if "/" in glob else rel.rsplit("/", 1)[-1]
            if not fnmatch.fnmatch(target, glob):
                continue
        files.append((candidate, rel))
    return files
