"""The rollout files the app shows, each parsed once per version of the file.

A run records what it read as a path with a glob and a format. The app lists the files of each
such input and keeps what each file loaded keyed on its path, size and modification time, in one
process-wide memo. Reloading the runs, or a second browser session, reuses the trajectories already
parsed instead of holding a second copy: memory stays flat across reloads, and only the files that
changed are read again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from memex_audit.errors import MemexAuditError
from memex_audit.loaders import LoadProblem, iter_files, known_extensions, load
from memex_audit.trajectory import Trajectory

InputSpec = tuple[Path, str | None, str | None]
"""What a run read: a path, with the ``--glob`` and ``--format`` it was read with."""

_FileKey = tuple[str, int, int, str | None]


@dataclass
class FileLoad:
    """What one file held."""

    trajectories: list[Trajectory] = field(default_factory=list)
    errors: list[LoadProblem] = field(default_factory=list)


@dataclass
class SpecLoad:
    """What one input spec held, file by file, in file order."""

    files: list[tuple[Path, FileLoad]] = field(default_factory=list)
    problem: str | None = None


class RolloutFiles:
    """A memo of parsed rollout files, keyed on path, size, modification time and format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, tuple[_FileKey, FileLoad]] = {}

    def load_file(self, path: Path, fmt: str | None, *, in_folder: bool = False) -> FileLoad:
        """The trajectories and errors of ``path`` (parsed again only when the file changed).

        With ``in_folder``, a file that no format reads and whose extension is not a rollout
        extension (a README, a licence) holds nothing, as when ``load`` reads the folder.
        """
        try:
            stat = path.stat()
        except OSError as exc:
            return FileLoad(errors=[LoadProblem(file=str(path), reason=f"cannot read file: {exc}")])
        key: _FileKey = (str(path), stat.st_size, stat.st_mtime_ns, fmt)
        with self._lock:
            cached = self._files.get(str(path))
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            loaded = load(path, format=fmt)
            result = FileLoad(loaded.trajectories, loaded.errors)
        except MemexAuditError as exc:
            result = FileLoad(errors=[LoadProblem(file=str(path), reason=str(exc))])
        if (
            in_folder
            and fmt is None
            and not result.trajectories
            and not path.name.endswith(tuple(known_extensions()))
        ):
            result = FileLoad()
        with self._lock:
            self._files[str(path)] = (key, result)
        return result

    def load_spec(self, spec: InputSpec) -> SpecLoad:
        """Every file of one input (a file, or a folder read with a glob), loaded through the memo."""
        path, glob, fmt = spec
        try:
            files = iter_files(path, glob)
        except MemexAuditError as exc:
            return SpecLoad(problem=f"{path}: {exc}")
        in_folder = path.is_dir()
        return SpecLoad(files=[(file, self.load_file(file, fmt, in_folder=in_folder)) for file in files])

    def forget_missing(self, keep: Sequence[Path]) -> None:
        """Drop the files not in ``keep`` (a run folder that is no longer shown)."""
        wanted = {str(p) for p in keep}
        with self._lock:
            for name in [n for n in self._files if n not in wanted]:
                del self._files[name]

    def __len__(self) -> int:
        return len(self._files)


ROLLOUT_FILES = RolloutFiles()
"""The process-wide memo the app's workspaces load through."""
