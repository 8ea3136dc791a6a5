"""Finding the run folders the app shows: from the command line and ``MEMEX_AUDIT_RUNS``.

A path given to the app is either a run folder (it holds ``manifest.json``) or a folder of run
folders (``runs/demo`` holding ``audit/`` and ``aggregate/``), searched two levels deep. A path that
holds no run is reported, never fatal: the app shows what it found and says what it did not.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from memex_audit.errors import ResultsError
from memex_audit.runs import RunManifest, RunStore

RUNS_ENV = "MEMEX_AUDIT_RUNS"
"""Environment variable naming run folders (separated by ``os.pathsep``) for the app to show."""

_INPUT_KEYS = ("path_abs", "path", "path_rel", "paths", "input", "inputs")
_SEARCH_DEPTH = 2


@dataclass(frozen=True)
class RunInfo:
    """One run folder the app shows.

    Attributes:
        path: The run folder (absolute).
        name: A short unique label for it (the folder name, or parent/name when names clash).
        manifest: Its manifest (kind, config, when it was created).
        inputs: The rollout files or folders the run read, resolved to paths that exist.
    """

    path: Path
    name: str
    manifest: RunManifest
    inputs: tuple[Path, ...] = ()

    @property
    def glob(self) -> str | None:
        """The ``--glob`` the run read its inputs with, if any."""
        value = self.manifest.config.get("glob")
        return value if isinstance(value, str) and value else None

    @property
    def format(self) -> str | None:
        """The ``--format`` the run read its inputs with, if any."""
        value = self.manifest.config.get("format")
        return value if isinstance(value, str) and value else None

    @property
    def records_inputs(self) -> bool:
        """Whether the manifest names the rollouts the run read (found here or not)."""
        return any(self.manifest.config.get(key) for key in _INPUT_KEYS)

    @property
    def kind(self) -> str:
        """``audit`` or ``aggregate``."""
        return self.manifest.kind


@dataclass
class Discovery:
    """The runs found, and the paths that held none (with why)."""

    runs: list[RunInfo] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def paths_from_env(environ: Mapping[str, str] | None = None) -> list[str]:
    """The run paths named by ``MEMEX_AUDIT_RUNS`` (empty entries ignored)."""
    value = (environ if environ is not None else os.environ).get(RUNS_ENV, "")
    return [part for part in value.split(os.pathsep) if part.strip()]


def _resolve_input(raw: str, run_dir: Path) -> Path | None:
    """An input path as recorded by a run: absolute, relative to the working directory the app was
    started from, or relative to a folder above the run (runs usually sit inside the project)."""
    candidate = Path(raw).expanduser()
    if candidate.is_absolute():
        return candidate if candidate.exists() else None
    if candidate.exists():
        return candidate.resolve()
    for base in run_dir.parents[:4]:
        if (base / candidate).exists():
            return (base / candidate).resolve()
    return None


def _inputs_of(manifest: RunManifest, run_dir: Path) -> tuple[Path, ...]:
    found: list[Path] = []
    for key in _INPUT_KEYS:
        value = manifest.config.get(key)
        raws = value if isinstance(value, list) else [value]
        for raw in raws:
            if isinstance(raw, str) and raw:
                resolved = _resolve_input(raw, run_dir)
                if resolved is not None and resolved not in found:
                    found.append(resolved)
    return tuple(found)


def _candidate_dirs(root: Path) -> Iterable[Path]:
    if (root / "manifest.json").is_file():
        yield root
        return
    frontier = [root]
    for _ in range(_SEARCH_DEPTH):
        children = []
        for folder in frontier:
            for child in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
                if (child / "manifest.json").is_file():
                    yield child
                else:
                    children.append(child)
        frontier = children


def discover_runs(paths: Sequence[str | Path]) -> Discovery:
    """The run folders at or under ``paths`` (each once, in the order given).

    Args:
        paths: Run folders, or folders holding run folders.
    """
    found = Discovery()
    seen: set[Path] = set()
    located: list[tuple[Path, RunManifest]] = []
    for raw in paths:
        root = Path(raw).expanduser().resolve()
        if not root.is_dir():
            found.problems.append(f"{raw}: no such folder")
            continue
        dirs = list(_candidate_dirs(root))
        if not dirs:
            found.problems.append(f"{raw}: no run folder here (no manifest.json)")
        for run_dir in dirs:
            if run_dir in seen:
                continue
            seen.add(run_dir)
            try:
                located.append((run_dir, RunStore.read(run_dir).manifest))
            except ResultsError as exc:
                found.problems.append(str(exc))
    names = [d.name for d, _ in located]
    for run_dir, manifest in located:
        name = run_dir.name if names.count(run_dir.name) == 1 else f"{run_dir.parent.name}/{run_dir.name}"
        found.runs.append(RunInfo(run_dir, name, manifest, _inputs_of(manifest, run_dir)))
    return found


def run_fingerprint(runs: Sequence[RunInfo]) -> tuple[tuple[str, int, int], ...]:
    """Size and modification time of each run's files: changes when a run gains results.

    The app keys its caches on it, so a page left open shows new results on its next rerun.
    """
    parts = []
    for run in runs:
        for name in ("manifest.json", "results.jsonl", "errors.jsonl"):
            path = run.path / name
            try:
                stat = path.stat()
            except OSError:
                continue
            parts.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(parts)
