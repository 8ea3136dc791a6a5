"""Loading a file or a folder of rollouts into trajectories, with a per-file error list."""

from __future__ import annotations

import errno
import fnmatch
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from memex_audit._runtime import gc_paused
from memex_audit.errors import TrajectoryFormatError, UsageError
from memex_audit.loaders._compression import (
    SizeLimitError,
    compression_of,
    decompress_bytes,
    decompress_to,
    forget_origin,
    inner_name,
    register_origin,
)
from memex_audit.loaders._formats._record_errors import format_problem
from memex_audit.loaders._jsonio import decode_error_reason, encoding_reason, first_json_char, strip_bom
from memex_audit.loaders._registry import (
    HEAD_BYTES,
    FormatAdapter,
    LoadItem,
    LoadProblem,
    LoadWarning,
    get_format,
    is_companion,
    known_extensions,
    read_head,
    sniff_format,
)
from memex_audit.trajectory import TaskGroup, Trajectory, group_by_task


@dataclass
class LoadResult:
    """What ``load`` read: the trajectories, the errors, and which files were read how.

    Attributes:
        trajectories: Every trajectory that loaded, in file order.
        errors: One entry per bad file or bad record (file, line, reason).
        warnings: One entry per trajectory that loaded without any content (no steps, or steps with
            no text, tool calls or outputs), with the reason when the format knows it.
        files: Each file that held trajectories, with the format that read it.
        skipped: Files that are not trajectory data (unknown extension, or a format's companion file).
    """

    trajectories: list[Trajectory] = field(default_factory=list)
    errors: list[LoadProblem] = field(default_factory=list)
    warnings: list[LoadWarning] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Trajectory]:
        return iter(self.trajectories)

    def __len__(self) -> int:
        return len(self.trajectories)

    def tasks(self) -> list[TaskGroup]:
        """The trajectories grouped by task."""
        return group_by_task(self.trajectories)


def iter_files(path: Path, glob: str | None = None) -> list[Path]:
    """The files under ``path`` (recursive, hidden ones skipped, sorted), filtered by ``glob``.

    ``glob`` matches the path relative to ``path`` (``**/*.jsonl``, ``runs/*/*.json``) or, when it has
    no slash, the file name alone (``*.traj.json``).

    Symbolic links that lead nowhere (dangling, or in a loop) and folders that cannot be listed are
    in the list too, so that loading them reports why they could not be read; links to folders are
    not followed.
    """
    if path.is_file():
        return [path]
    if not path.exists():
        if path.is_symlink():
            return [path]
        raise UsageError(f"{path} does not exist")
    unlistable: list[Path] = []

    def note(exc: OSError) -> None:
        if exc.filename is not None:
            unlistable.append(Path(exc.filename))

    candidates: list[Path] = []
    for folder, dirs, names in os.walk(path, onerror=note):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        base = Path(folder)
        for name in names:
            if name.startswith("."):
                continue
            candidate = base / name
            if candidate.is_file() or (candidate.is_symlink() and not candidate.exists()):
                candidates.append(candidate)
    candidates.extend(unlistable)
    files: list[Path] = []
    for candidate in sorted(set(candidates)):
        rel = candidate.relative_to(path)
        if glob is not None:
            target = rel.as_posix() if "/" in glob else candidate.name
            if not fnmatch.fnmatch(target, glob):
                continue
        files.append(candidate)
    return files


STDIN = "-"
"""The path that names standard input."""

STDIN_NAME = "<stdin>"
"""How trajectories and errors read from standard input name their file."""


def iter_load(
    path: str | Path,
    *,
    glob: str | None = None,
    format: str | None = None,
    on_file: Callable[[Path, str | None], None] | None = None,
) -> Iterator[LoadItem | tuple[str, Path]]:
    """Stream what ``load`` reads, file by file, without holding it all.

    Yields trajectories, ``LoadProblem`` records (``LoadWarning`` ones for what loaded but holds no
    content), and ``("skipped", path)`` for files that hold no trajectory data. ``on_file(path,
    format_name)`` is called before each file is read (for progress). ``path`` may be ``"-"``:
    standard input, whose format is told by its content.
    """
    forced: FormatAdapter | None = get_format(format) if format else None
    if str(path) == STDIN:
        with tempfile.TemporaryDirectory(prefix="memex-stdin-") as tmp:
            staged = _stage_stdin(Path(tmp))
            if on_file:
                on_file(Path(STDIN_NAME), None)
            yield from _renamed(_load_file(staged, forced, True, on_file), staged, STDIN_NAME)
        return
    root = Path(path)
    single_file = root.is_file()
    for file in iter_files(root, glob):
        yield from _load_file(file, forced, single_file, on_file)


def _load_file(
    file: Path,
    forced: FormatAdapter | None,
    single_file: bool,
    on_file: Callable[[Path, str | None], None] | None,
    *,
    head: bytes | None = None,
) -> Iterator[LoadItem | tuple[str, Path]]:
    """What one file holds (decompressed first when it is a ``.gz`` / ``.zst`` file); ``head``, its
    first ``HEAD_BYTES`` when the caller has read them."""
    if head is None:
        try:
            head = read_head(file)
        except OSError as exc:
            if on_file:
                on_file(file, None)
            yield LoadProblem(file=str(file), reason=_unreadable_reason(file, exc))
            return
    kind = compression_of(file, head)
    if kind is not None and (
        single_file or inner_name(file.name) != file.name or file.name.endswith(tuple(known_extensions()))
    ):
        yield from _load_compressed(file, kind, forced, single_file, on_file)
        return
    adapter = forced
    if adapter is None and not single_file and is_companion(file, head):
        # In a folder, a file some format reads with another one (a sub-agent's log beside its
        # session, a report beside its run) is not data of its own.
        if on_file:
            on_file(file, None)
        yield ("skipped", file)
        return
    if adapter is None:
        failures: list[str] = []
        adapter = sniff_format(file, head, failures=failures)
        if adapter is None:
            if on_file:
                on_file(file, None)
            if is_companion(file, head):
                yield ("skipped", file)
            elif single_file or file.name.endswith(tuple(known_extensions())):
                reason = _unknown_reason(file, head)
                if failures:
                    reason += f"; format checks that failed: {'; '.join(failures)}"
                yield LoadProblem(file=str(file), reason=reason)
            else:
                yield ("skipped", file)
            return
    if on_file:
        on_file(file, adapter.name)
    try:
        for item in adapter.load(file):
            yield item
            if isinstance(item, Trajectory):
                warning = _empty_warning(item, file, adapter)
                if warning is not None:
                    yield warning
    except TrajectoryFormatError as exc:  # the adapter says the rest of the file cannot be read
        yield format_problem(exc, path=file, fmt=adapter.name)
    except Exception as exc:  # an adapter bug must not stop a folder load
        yield LoadProblem(
            file=str(file),
            format=adapter.name,
            reason=f"{type(exc).__name__} while reading: {exc}",
            traceback="".join(traceback.format_exception(exc))[-8000:],
        )


def _load_compressed(
    file: Path,
    kind: str,
    forced: FormatAdapter | None,
    single_file: bool,
    on_file: Callable[[Path, str | None], None] | None,
) -> Iterator[LoadItem | tuple[str, Path]]:
    """Decompress ``file`` into a scratch folder and load the result as if it were ``file``.

    The scratch copy keeps the inner name (``run.jsonl.gz`` → ``run.jsonl``) and the parent
    folder's name, which adapters use for ids; trajectories and errors name ``file``.
    """
    inner = inner_name(file.name)
    named = inner != file.name  # else compressed without saying so: the content tells the format
    if named and not single_file and forced is None and not inner.endswith(tuple(known_extensions())):
        if on_file:
            on_file(file, None)
        yield ("skipped", file)
        return
    with tempfile.TemporaryDirectory(prefix="memex-unpack-") as tmp:
        staged = Path(tmp) / (file.parent.name or "_") / inner
        staged.parent.mkdir(parents=True)
        unnamed = "" if named else f" (the file holds {kind}-compressed data, which its name does not say)"
        try:
            with file.open("rb") as source:
                decompress_to(source, kind, staged)
        except UsageError:
            raise
        except SizeLimitError as exc:
            if on_file:
                on_file(file, None)
            yield LoadProblem(file=str(file), reason=f"not decompressed: {exc}{unnamed}")
            return
        except Exception as exc:  # a damaged archive is one bad file, not a stopped folder load
            if on_file:
                on_file(file, None)
            yield LoadProblem(file=str(file), reason=f"cannot decompress this {kind} file: {exc}{unnamed}")
            return
        if not named:
            staged = staged.rename(staged.with_name(_guess_name_of(staged, file.name)))
        register_origin(staged, file)
        try:
            for item in _renamed(_load_file(staged, forced, single_file, on_file), staged, str(file)):
                if unnamed and isinstance(item, LoadProblem) and not isinstance(item, LoadWarning):
                    item.reason += unnamed
                yield item
        finally:
            forget_origin(staged)


def _stage_stdin(folder: Path) -> Path:
    """Standard input written to a file in ``folder`` whose name says what the content is."""
    data = sys.stdin.buffer.read()
    kind = compression_of(Path(STDIN), data[:8])
    if kind is not None:
        data = decompress_bytes(data, kind)
    staged = folder / _guess_name(data, "stdin")
    staged.write_bytes(data)
    return staged


def _guess_name(data: bytes, stem: str) -> str:
    """A file name for ``data``: ``.eval`` for a zip, ``.json`` for one JSON document, else ``.jsonl``."""
    if data.startswith(b"PK\x03\x04"):
        return f"{stem}.eval"
    try:
        orjson.loads(strip_bom(data))
    except orjson.JSONDecodeError:
        return f"{stem}.jsonl"
    return f"{stem}.json"


def _guess_name_of(path: Path, stem: str) -> str:
    """``_guess_name`` for a file, reading no more than its first lines when it is large."""
    with path.open("rb") as fh:
        head = fh.read(_GUESS_WHOLE_BYTES + 1)
    if len(head) <= _GUESS_WHOLE_BYTES:
        return _guess_name(head, stem)
    if head.startswith(b"PK\x03\x04"):
        return f"{stem}.eval"
    # Too large to parse whole just to name it: JSONL when its first line is a JSON value.
    first = strip_bom(head).split(b"\n", 1)[0]
    try:
        orjson.loads(first)
    except orjson.JSONDecodeError:
        return f"{stem}.json"
    return f"{stem}.jsonl"


_GUESS_WHOLE_BYTES = 64 << 20


def _renamed(
    items: Iterator[LoadItem | tuple[str, Path]], staged: Path, name: str
) -> Iterator[LoadItem | tuple[str, Path]]:
    """Pass items through, naming ``name`` where they name the scratch file ``staged``."""
    staged_text = str(staged)
    for item in items:
        if isinstance(item, Trajectory):
            if item.source is not None and item.source.file == staged_text:
                item.source.file = name
        elif isinstance(item, LoadProblem):
            if item.file == staged_text:
                item.file = name
            item.reason = item.reason.replace(staged_text, name)
        else:
            item = (item[0], Path(name))
        yield item


def _empty_warning(trajectory: Trajectory, file: Path, adapter: FormatAdapter) -> LoadWarning | None:
    """A warning when ``trajectory`` has no step with any text, tool call or output."""
    if any(step.searchable_text() for step in trajectory.steps):
        return None
    what = (
        "no steps"
        if not trajectory.steps
        else f"{len(trajectory.steps)} steps, none with text, tool calls or outputs"
    )
    hint = getattr(adapter, "empty_reason", None)
    line = trajectory.source.line if trajectory.source is not None else None
    return LoadWarning(
        file=str(file),
        line=line,
        format=adapter.name,
        reason=f"trajectory {trajectory.id} loaded with {what}" + (f"; {hint}" if hint else ""),
    )


def load(
    path: str | Path,
    *,
    glob: str | None = None,
    format: str | None = None,
    on_file: Callable[[Path, str | None], None] | None = None,
) -> LoadResult:
    """Load a file or a folder (recursively) of rollouts in any registered format.

    One bad file or record never stops the rest: it becomes an entry in ``errors``. Compressed
    files (``.gz``, ``.zst``) are read as the file they hold; ``"-"`` reads standard input.

    Args:
        path: A file, a folder, or ``"-"`` for standard input.
        glob: Only read files matching this pattern (see ``iter_files``).
        format: Read every file with this adapter instead of sniffing.
        on_file: Called with each file and the format chosen for it, before it is read.

    Raises:
        UsageError: ``path`` does not exist, or ``format`` is unknown.
    """
    result = LoadResult()
    with gc_paused():
        for item in iter_load(path, glob=glob, format=format, on_file=on_file):
            if isinstance(item, Trajectory):
                result.trajectories.append(item)
                if item.source is not None and item.source.file is not None:
                    result.files.setdefault(item.source.file, item.source.format or "?")
            elif isinstance(item, LoadWarning):
                result.warnings.append(item)
            elif isinstance(item, LoadProblem):
                result.errors.append(item)
            else:
                result.skipped.append(str(item[1]))
    return result


_MAGIC = (
    (b"PAR1", "a Parquet file"),
    (b"PK\x03\x04", "a zip archive (an Inspect log is read when named .eval)"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"%PDF-", "a PDF document"),
    (b"\x7fELF", "an executable (ELF)"),
    (b"BZh", "bzip2-compressed data (decompress it, or recompress it as .gz or .zst)"),
    (b"\xfd7zXZ\x00", "xz-compressed data (decompress it, or recompress it as .gz or .zst)"),
)


def _unreadable_reason(file: Path, exc: OSError) -> str:
    """Why ``file`` could not be opened: a dangling or looping link, a folder that cannot be listed..."""
    if file.is_symlink():
        if exc.errno == errno.ELOOP:
            return "symbolic link loop: the link leads back to itself, never to a file"
        target = os.readlink(file)
        if not file.exists():
            return f"broken symbolic link: it points to {target}, which does not exist"
    if file.is_dir():
        try:
            os.scandir(file).close()
        except OSError as listing:
            return f"cannot list folder: {listing.strerror or listing}"
    return f"cannot read file: {exc.strerror or exc}"


def _unknown_reason(file: Path, head: bytes) -> str:
    if not strip_bom(head).strip():
        return "empty file"
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return _magic_reason(file, what)
    encoding = encoding_reason(head[:64])
    if encoding is not None:
        return encoding
    if file.name.endswith(".eval"):
        return "not a zip archive, which an Inspect .eval log is (truncated or damaged?)"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the head boundary is still UTF-8 text.
        if exc.start < len(head) - 4:
            return "not valid UTF-8 text and no known format; save the file as UTF-8"
    text = strip_bom(head)
    if file.name.endswith(".jsonl") and first_json_char(text) != b"":
        # The first line says whether this is JSON at all.
        first, newline, _ = text.partition(b"\n")
        if newline:
            try:
                orjson.loads(first)
            except orjson.JSONDecodeError as exc:
                _, reason = decode_error_reason(exc, first)
                return f"{reason} (line 1)"
    if len(head) < HEAD_BYTES and file.name.endswith(".json"):
        # The head is the whole file: if it is not JSON at all, say that rather than "unknown format".
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            line, reason = decode_error_reason(exc, text)
            return reason if line is None else f"{reason} (line {line})"
    return (
        "no registered format recognises this file; check that it is a supported rollout format "
        "(memex-audit formats lists them) or pass --format"
    )


def _magic_reason(file: Path, what: str) -> str:
    reason = f"this is {what}, not a rollout file any registered format reads"
    if what.startswith("a Parquet"):
        detail = _parquet_problem(file)
        if detail is not None:
            return f"a damaged Parquet file (truncated download?): {detail}"
        if not file.name.endswith(".parquet"):
            return f"{reason}; a Parquet file is read when its name ends in .parquet"
    return reason


def _parquet_problem(file: Path) -> str | None:
    """What pyarrow says is wrong with a Parquet file, or ``None`` when it reads its schema."""
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return None
    try:
        pq.read_schema(file)
    except Exception as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None
