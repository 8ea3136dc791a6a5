"""A run folder on disk: a manifest, append-only JSONL results, errors and agent runs.

Layout of a run folder::

    manifest.json       what the run is (kind, config, memex_audit version), written atomically
    results.jsonl       one ``ResultLine`` per finished unit (a trajectory audited, a task aggregated)
    errors.jsonl        one ``FailureLine`` per failed unit: a ``RunFailure`` with its cause
    agent_runs.jsonl    every agent run, recorded as a native Trajectory
    ledger.jsonl        what each unit spent, so a cost cap holds across reruns
    *.parquet, *.json   exports, written to a temporary name and renamed into place

Each line is written whole and handed to the operating system before the next unit starts, so a
run that is killed loses at most the unit in flight; a torn last line is skipped on read and that
unit is redone on resume. Lines reach the disk itself (fsync) in groups: at least every
``SYNC_INTERVAL_S`` and whenever the store is synced or closed, so a machine that loses power loses
at most that last fraction of a second of results, which a rerun redoes. Spending (``ledger.jsonl``)
is synced line by line. Results never use pickle.

Every line of ``results.jsonl`` and ``errors.jsonl`` says what it is (``kind``: ``result`` or
``failure``) and which layout it has (``schema_version``, ``LINE_SCHEMA_VERSION``). Lines written
before they carried either are upgraded on read. A complete line that does not validate is an error
in both files (``ResultsError`` naming the file and line); only a torn line, one that is not JSON at
all, is skipped.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter, ValidationError, model_validator

from memex_audit.errors import ResultsError
from memex_audit.loaders import LoadProblem
from memex_audit.runs._config import AuditRunConfig, RunConfig, with_input_paths
from memex_audit.runs._lock import hold, let_go

if TYPE_CHECKING:
    import polars as pl
from memex_audit.trajectory import Trajectory

T = TypeVar("T", bound=BaseModel)

RunKind = Literal["audit", "aggregate", "check", "ask"]


class RunModelSettings(BaseModel):
    """The model a run used and everything that shapes what it is sent, to reproduce the run.

    Attributes:
        spec: The model spec, ``provider:name`` (``anthropic:claude-sonnet-4-6``,
            ``openai:gpt-4.1``) or ``offline``.
        endpoint: Where requests went (``None`` offline).
        prompt_version: Version of the prompts the agents were given (a declared version and a
            digest of the prompt files), so results of different prompts are never mixed up.
        params: What every request carries besides the conversation: ``temperature`` (``None``
            when the API takes none), the token-limit parameter, stop sequences, turn limits...
        cache: The response cache the run recorded into and replayed from, when it used one.
    """

    model_config = ConfigDict(extra="forbid")

    spec: str
    endpoint: str | None = None
    prompt_version: str | None = None
    params: dict[str, JsonValue] = Field(default_factory=dict)
    cache: str | None = None


class RunManifest(BaseModel):
    """What a run folder holds and how it was produced.

    Attributes:
        kind: ``audit`` or ``aggregate``.
        created_at: When the run folder was created (UTC).
        updated_at: When the manifest was last rewritten (a resume updates it).
        config: The options the run was started with.
        memex_audit_version: The version that created the run.
        resumes: How many times the run was resumed.
        llm: The model, prompt version and request parameters of the run (the latest session's,
            when a resume changed them); ``None`` in runs written before it was recorded.
    """

    @model_validator(mode="before")
    @classmethod
    def _config_of_its_kind(cls, data: Any) -> Any:
        # Manifests written before configs were typed hold a plain dict without a kind.
        if isinstance(data, dict) and isinstance(data.get("config"), dict) and "kind" not in data["config"]:
            data = {**data, "config": {**data["config"], "kind": data.get("kind", "audit")}}
        return data

    model_config = ConfigDict(extra="forbid")

    kind: RunKind
    created_at: datetime
    updated_at: datetime
    config: RunConfig = Field(default_factory=AuditRunConfig)
    memex_audit_version: str
    resumes: int = 0
    llm: RunModelSettings | None = None


class RunFailure(BaseModel):
    """A unit of work that failed, with its cause.

    Attributes:
        key: The unit (usually a trajectory id or a task id).
        kind: What failed: ``load``, ``model``, ``timeout``, ``validation``, ``budget``, ``internal``...
        message: What happened, in words that say what to do.
        file: The input file involved, when there is one.
        line: The line or record in that file, when known.
        field: The offending field, when known.
        final: False when a rerun should retry the unit (e.g. a timeout or a budget stop).
        traceback: Where an internal error was raised (the last frames), for a bug report.
        at: When it was recorded (UTC).
    """

    model_config = ConfigDict(extra="forbid")

    key: str
    kind: str
    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    final: bool = True
    traceback: str | None = None
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def of_load_problem(cls, problem: LoadProblem, key: str | None = None) -> RunFailure:
        """A record that could not be read, as a run records it: under ``key`` (a unit's), or under
        ``load:FILE:LINE`` (recorded once however many reruns meet it); the adapter's traceback kept."""
        return cls(
            key=key if key is not None else _load_key(problem),
            kind="load",
            message=problem.reason,
            file=problem.file,
            line=problem.line,
            field=problem.field,
            traceback=problem.traceback,
        )


def _load_key(problem: LoadProblem) -> str:
    """The key a run records an unreadable file or record under."""
    return f"load:{problem.file}:{problem.line or 0}"


LINE_SCHEMA_VERSION = 1
"""Layout version of the lines in ``results.jsonl`` and ``errors.jsonl``. Lines without one are
version 0 (a bare ``{"key", "record"}`` result, a bare ``RunFailure``) and are upgraded on read."""


class ResultLine(BaseModel):
    """One line of ``results.jsonl``: a finished unit and its record.

    Attributes:
        kind: Always ``result``.
        schema_version: The line layout (``LINE_SCHEMA_VERSION``).
        key: The unit (usually a trajectory id or a task id); a later line with the same key wins.
        record: The unit's result, as the run kind's model dumps it (an audit report, an aggregation...).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["result"] = "result"
    schema_version: int = LINE_SCHEMA_VERSION
    key: str
    record: dict[str, Any]


class FailureLine(BaseModel):
    """One line of ``errors.jsonl``: a unit that failed.

    Attributes:
        kind: Always ``failure``.
        schema_version: The line layout (``LINE_SCHEMA_VERSION``).
        failure: What failed and why.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["failure"] = "failure"
    schema_version: int = LINE_SCHEMA_VERSION
    failure: RunFailure


RunLine = Annotated[ResultLine | FailureLine, Field(discriminator="kind")]
"""A line of a run folder's ``results.jsonl`` or ``errors.jsonl``, told apart by ``kind``."""

RUN_LINE: TypeAdapter[ResultLine | FailureLine] = TypeAdapter(RunLine)


def upgrade_line(obj: Any, default: Literal["result", "failure"]) -> Any:
    """A parsed line in today's layout: a version-0 line (no ``schema_version``) is wrapped as a
    line of kind ``default``; anything else is returned as it is, for validation to judge."""
    if not isinstance(obj, dict) or "schema_version" in obj:
        return obj
    if default == "result":
        return {"kind": "result", "schema_version": LINE_SCHEMA_VERSION, **obj}
    return {"kind": "failure", "schema_version": LINE_SCHEMA_VERSION, "failure": obj}


_L = TypeVar("_L", ResultLine, FailureLine)


def _read_line(path: Path, number: int, obj: Any, expected: type[_L]) -> _L:
    """Line ``number`` of ``path`` validated as ``expected``.

    Raises:
        ResultsError: The line does not validate, comes from a newer memex_audit, or is of another kind.
    """
    default: Literal["result", "failure"] = "result" if expected is ResultLine else "failure"
    obj = upgrade_line(obj, default)
    version = obj.get("schema_version") if isinstance(obj, dict) else None
    if isinstance(version, int) and version > LINE_SCHEMA_VERSION:
        raise ResultsError(
            f"{path}:{number}: line layout version {version} is newer than this memex_audit reads "
            f"({LINE_SCHEMA_VERSION}); upgrade memex_audit"
        )
    try:
        line = RUN_LINE.validate_python(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first["loc"][1:] if first["loc"][:1] in (("result",), ("failure",)) else first["loc"]
        field = ".".join(str(p) for p in loc)
        raise ResultsError(f"{path}:{number}: {first['msg']} (field {field or 'kind'})") from exc
    if not isinstance(line, expected):
        raise ResultsError(f"{path}:{number}: a {line.kind} line, where {default} lines belong")
    return line


SYNC_INTERVAL_S = 0.25
"""Appended lines reach the disk at least this often (seconds), and when the store is synced or closed."""


class StorageError(ResultsError):
    """The run folder cannot be written (disk full, read-only, no permission); nothing recorded
    before is lost."""


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Turn an OS error while writing ``path`` into one clear ``StorageError``."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise StorageError(
            f"cannot write {path}: {reason}; nothing already recorded was lost — free space or fix "
            "permissions, then rerun the same command to resume"
        ) from exc


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file owner-only; a run folder is meant to be shared like any file
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _iter_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """Parsed JSON lines of ``path``; a torn or corrupt line is skipped (it is redone on resume)."""
    if not path.exists():
        return
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                yield number, orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue


class RunStore:
    """One run folder (see the module docstring). Safe to append to from several threads.

    Use ``RunStore.open`` to create a run or reopen it for resuming.
    """

    def __init__(self, root: Path, manifest: RunManifest) -> None:
        self.root = root
        self.manifest = manifest
        self._lock = threading.Lock()
        self._writer = False
        self._unsynced: set[str] = set()
        self._synced_at = time.monotonic()

    def sync(self) -> None:
        """Put every line appended so far on the disk (fsync), not only in the system's cache."""
        with self._lock:
            self._sync_locked()

    def _sync_locked(self) -> None:
        for name in sorted(self._unsynced):
            path = self.root / name
            with _writing(path):
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        self._unsynced.clear()
        self._synced_at = time.monotonic()

    def close(self) -> None:
        """Sync what was appended and give back the folder's write lock (a store opened for writing
        holds it until then)."""
        if self._unsynced:
            self.sync()
        if self._writer:
            self._writer = False
            let_go(self.root)

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- opening ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, run_dir: str | Path, kind: RunKind, config: dict[str, JsonValue] | None = None) -> RunStore:
        """Create a run folder, or reopen an existing one of the same kind to resume it, and take its
        write lock (``RunLock``) for this process until ``close()`` or exit.

        Raises:
            RunLocked: Another process is writing the folder.
            ResultsError: ``run_dir`` is a file, the folder holds a run of another kind, or its
                manifest is unreadable.
        """
        from memex_audit import __version__

        root = Path(run_dir)
        if root.exists() and not root.is_dir():
            raise ResultsError(f"{root} is a file, not a run folder; choose a folder for the run")
        with _writing(root):
            root.mkdir(parents=True, exist_ok=True)
            hold(root)
        try:
            return cls._open_locked(root, kind, config, __version__)
        except BaseException:
            let_go(root)
            raise

    @classmethod
    def _open_locked(
        cls, root: Path, kind: RunKind, config: dict[str, JsonValue] | None, version: str
    ) -> RunStore:
        now = datetime.now(UTC)
        manifest_path = root / "manifest.json"
        if manifest_path.exists():
            existing = cls.read(root)
            if existing.manifest.kind != kind:
                raise ResultsError(
                    f"{root} holds an {existing.manifest.kind} run, not an {kind} run; choose another --out folder"
                )
            merged = existing.manifest.config.model_dump(exclude_none=True)
            if config:
                merged.update(with_input_paths(dict(config), root))
            manifest = RunManifest.model_validate(
                {
                    **existing.manifest.model_dump(mode="json"),
                    "updated_at": now,
                    "resumes": existing.manifest.resumes + 1,
                    "config": {**merged, "kind": kind},
                }
            )
        else:
            manifest = RunManifest.model_validate(
                {
                    "kind": kind,
                    "created_at": now,
                    "updated_at": now,
                    "config": {**with_input_paths(dict(config or {}), root), "kind": kind},
                    "memex_audit_version": version,
                }
            )
        store = cls(root, manifest)
        store._writer = True
        store.write_json("manifest.json", manifest)
        return store

    def input_path(self) -> Path | None:
        """Where this run's input is now (see ``RunConfig.input_path``): works for a moved folder."""
        return self.manifest.config.input_path(self.root)

    @classmethod
    def read(cls, run_dir: str | Path) -> RunStore:
        """Open an existing run folder for reading.

        Raises:
            ResultsError: There is no run there, or its manifest does not validate.
        """
        root = Path(run_dir)
        manifest_path = root / "manifest.json"
        if not manifest_path.exists():
            raise ResultsError(
                f"{root} is not a run folder (no manifest.json); pass the --out folder of a run"
            )
        try:
            manifest = RunManifest.model_validate_json(manifest_path.read_bytes())
        except ValidationError as exc:
            raise ResultsError(f"{manifest_path}: invalid manifest: {exc.errors()[0]['msg']}") from exc
        return cls(root, manifest)

    @property
    def kind(self) -> RunKind:
        """The run's kind."""
        return self.manifest.kind

    def record_model(self, settings: RunModelSettings) -> None:
        """Record the run's model settings in its manifest (rewritten atomically)."""
        with self._lock:
            self.manifest = self.manifest.model_copy(update={"llm": settings})
            self.write_json("manifest.json", self.manifest)

    # -- appending -------------------------------------------------------------------------------

    def _append(self, name: str, payload: bytes, *, durable: bool = False) -> None:
        """Append one line; ``durable`` syncs it to the disk at once, otherwise it is synced with the
        next group (see the module docstring)."""
        with self._lock:
            with _writing(self.root / name), (self.root / name).open("a+b") as fh:
                # A run killed mid-write leaves a torn last line: end it so the new record stands alone.
                if fh.seek(0, os.SEEK_END) > 0:
                    fh.seek(-1, os.SEEK_END)
                    if fh.read(1) != b"\n":
                        fh.write(b"\n")
                fh.write(payload + b"\n")
                fh.flush()
                if durable:
                    os.fsync(fh.fileno())
                else:
                    self._unsynced.add(name)
            if self._unsynced and time.monotonic() - self._synced_at >= SYNC_INTERVAL_S:
                self._sync_locked()

    def append_result(self, key: str, record: BaseModel) -> None:
        """Record a finished unit. A later record with the same key replaces it on read."""
        line = {
            "kind": "result",
            "schema_version": LINE_SCHEMA_VERSION,
            "key": key,
            "record": record.model_dump(mode="json"),
        }
        self._append("results.jsonl", orjson.dumps(line))

    def append_error(self, error: RunFailure) -> None:
        """Record a failed unit with its cause."""
        self._append("errors.jsonl", FailureLine(failure=error).model_dump_json().encode())

    def append_spend(self, key: str, cost_usd: float | None) -> None:
        """Record what a unit spent in the folder's ledger (``ledger.jsonl``), which every rerun of
        the run continues: a cost cap holds across resumes."""
        self._append(
            "ledger.jsonl",
            orjson.dumps({"key": key, "cost_usd": cost_usd, "at": datetime.now(UTC).isoformat()}),
            durable=True,
        )

    def spent_usd(self) -> float:
        """What every invocation of this run has spent so far (known prices only)."""
        total = 0.0
        for _, obj in _iter_lines(self.root / "ledger.jsonl"):
            if isinstance(obj, dict) and isinstance(obj.get("cost_usd"), int | float):
                total += float(obj["cost_usd"])
        return total

    def append_run_trajectory(self, trajectory: Trajectory | bytes) -> None:
        """Record an agent run as a native trajectory (loadable with ``memex_audit.load``): the
        trajectory, or its JSON already serialized where the run happened (a worker process)."""
        payload = trajectory if isinstance(trajectory, bytes) else trajectory.model_dump_json().encode()
        self._append("agent_runs.jsonl", payload)

    # -- reading ---------------------------------------------------------------------------------

    def result_keys(self) -> set[str]:
        """Keys of the units that have a result."""
        return {
            obj["key"]
            for _, obj in _iter_lines(self.root / "results.jsonl")
            if isinstance(obj, dict) and "key" in obj
        }

    def done_keys(self) -> set[str]:
        """Keys a resume skips: units with a result, or with an error marked final."""
        done = self.result_keys()
        for error in self.read_errors():
            if error.final:
                done.add(error.key)
        return done

    def read_results(self, model: type[T]) -> list[T]:
        """The results as ``model`` instances, one per key (the last one written wins), in first-seen order.

        Raises:
            ResultsError: A complete line does not validate as a result line holding a ``model``
                (the file was written by another kind of run, a newer memex_audit, or edited by hand).
        """
        by_key: dict[str, T] = {}
        path = self.root / "results.jsonl"
        for number, obj in _iter_lines(path):
            line = _read_line(path, number, obj, ResultLine)
            try:
                record = model.model_validate(line.record)
            except ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(p) for p in ("record", *first["loc"]))
                raise ResultsError(f"{path}:{number}: {first['msg']} (field {field})") from exc
            by_key.pop(line.key, None)
            by_key[line.key] = record
        return list(by_key.values())

    def read_errors(self) -> list[RunFailure]:
        """The recorded errors, oldest first; an error superseded by a later result is still listed.

        Raises:
            ResultsError: A complete line does not validate as a failure line (as ``read_results``).
        """
        errors = []
        path = self.root / "errors.jsonl"
        for number, obj in _iter_lines(path):
            line = _read_line(path, number, obj, FailureLine)
            errors.append(line.failure)
        return errors

    def read_run_trajectories(self) -> list[Trajectory]:
        """The recorded agent runs."""
        runs = []
        for _, obj in _iter_lines(self.root / "agent_runs.jsonl"):
            try:
                runs.append(Trajectory.model_validate(obj))
            except ValidationError:
                continue
        return runs

    # -- exports ---------------------------------------------------------------------------------

    def write_json(self, name: str, obj: BaseModel | dict[str, Any] | list[Any]) -> Path:
        """Write a JSON file into the run folder atomically."""
        path = self.root / name
        if isinstance(obj, BaseModel):
            data = obj.model_dump_json(indent=2).encode()
        else:
            data = orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
        with _writing(path):
            _atomic_write(path, data + b"\n")
        return path

    def write_parquet(self, name: str, frame: pl.DataFrame) -> Path:
        """Write a frame as Parquet into the run folder atomically."""
        path = self.root / (name if name.endswith(".parquet") else f"{name}.parquet")
        with _writing(path):
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.close(fd)
            try:
                frame.write_parquet(tmp)
                os.chmod(tmp, 0o666 & ~_umask())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return path
