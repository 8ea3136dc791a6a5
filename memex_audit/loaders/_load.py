"""Loading a file or a folder of rollouts into trajectories, with a per-file error list."""

from __future__ import annotations

import fnmatch
import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from memex_audit.errors import UsageError
from memex_audit.loaders._jsonio import decode_error_reason
from memex_audit.loaders._registry import (
    HEAD_BYTES,
    FormatAdapter,
    LoadError,
    LoadItem,
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
        files: Each file that held trajectories, with the format that read it.
        skipped: Files that are not trajectory data (unknown extension, or a format's companion file).
    """

    trajectories: list[Trajectory] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
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
    """
    if path.is_file():
        return [path]
    if not path.exists():
        raise UsageError(f"{path} does not exist")
    files: list[Path] = []
    for candidate in sorted(path.rglob("*")):
        rel = candidate.relative_to(path)
        if any(part.startswith(".") for part in rel.parts) or not candidate.is_file():
            continue
        if glob is not None:
            target = rel.as_posix() if "/" in glob else candidate.name
            if not fnmatch.fnmatch(target, glob):
                continue
        files.append(candidate)
    return files


def iter_load(
    path: str | Path,
    *,
    glob: str | None = None,
    format: str | None = None,
    on_file: Callable[[Path, str | None], None] | None = None,
) -> Iterator[LoadItem | tuple[str, Path]]:
    """Stream what ``load`` reads, file by file, without holding it all.

    Yields trajectories and ``LoadError`` records, and ``("skipped", path)`` for files that hold no
    trajectory data. ``on_file(path, format_name)`` is called before each file is read (for progress).
    """
    root = Path(path)
    forced: FormatAdapter | None = get_format(format) if format else None
    extensions = known_extensions()
    single_file = root.is_file()
    for file in iter_files(root, glob):
        if forced is not None:
            adapter: FormatAdapter = forced
        else:
            try:
                head = read_head(file)
            except OSError as exc:
                if on_file:
                    on_file(file, None)
                yield LoadError(file=str(file), reason=f"cannot read file: {exc.strerror or exc}")
                continue
            sniffed = sniff_format(file, head)
            if sniffed is None:
                if on_file:
                    on_file(file, None)
                if is_companion(file, head):
                    yield ("skipped", file)
                elif single_file or file.name.endswith(tuple(extensions)):
                    yield LoadError(file=str(file), reason=_unknown_reason(file, head))
                else:
                    yield ("skipped", file)
                continue
            adapter = sniffed
        if on_file:
            on_file(file, adapter.name)
        try:
            yield from adapter.load(file)
        except Exception as exc:  # an adapter bug must not stop a folder load
            yield LoadError(
                file=str(file), format=adapter.name, reason=f"{type(exc).__name__} while reading: {exc}"
            )


def load(
    path: str | Path,
    *,
    glob: str | None = None,
    format: str | None = None,
    on_file: Callable[[Path, str | None], None] | None = None,
) -> LoadResult:
    """Load a file or a folder (recursively) of rollouts in any registered format.

    One bad file or record never stops the rest: it becomes an entry in ``errors``.

    Args:
        path: A file or a folder.
        glob: Only read files matching this pattern (see ``iter_files``).
        format: Read every file with this adapter instead of sniffing.
        on_file: Called with each file and the format chosen for it, before it is read.

    Raises:
        UsageError: ``path`` does not exist, or ``format`` is unknown.
    """
    result = LoadResult()
    # Trajectories are acyclic trees of many small objects: the cyclic garbage collector finds
    # nothing in them, yet its passes over every new object cost about 3x the parse time of a
    # large folder. It is paused while loading and restored afterwards.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for item in iter_load(path, glob=glob, format=format, on_file=on_file):
            if isinstance(item, Trajectory):
                result.trajectories.append(item)
                if item.source is not None and item.source.file is not None:
                    result.files.setdefault(item.source.file, item.source.format or "?")
            elif isinstance(item, LoadError):
                result.errors.append(item)
            else:
                result.skipped.append(str(item[1]))
    finally:
        if was_enabled:
            gc.enable()
    return result


def _unknown_reason(file: Path, head: bytes) -> str:
    if not head.strip():
        return "empty file"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the head boundary is still UTF-8 text.
        if exc.start < len(head) - 4:
            return "not valid UTF-8 text and no known format; save the file as UTF-8"
    if len(head) < HEAD_BYTES and file.name.endswith(".json"):
        # The head is the whole file: if it is not JSON at all, say that rather than "unknown format".
        try:
            orjson.loads(head)
        except orjson.JSONDecodeError as exc:
            line, reason = decode_error_reason(exc, head)
            return reason if line is None else f"{reason} (line {line})"
    return (
        "no registered format recognises this file; check that it is a supported rollout format "
        "(memex-audit formats lists them) or pass --format"
    )
