"""The format registry: which adapter reads a file, decided by its name and first bytes.

An adapter is any object with a ``name``, a ``sniff(path, head)`` that returns a confidence in
``[0, 1]`` (0: not mine), and a ``load(path)`` that yields trajectories and ``LoadProblem`` records,
one per bad record, so that one bad record never stops the rest. Adapters register themselves with
``register_format``; the loader never names a format.

An adapter may also claim *companion* files (``is_companion(path, head)``): files that belong to a
format without holding trajectories of their own (a SWE-bench ``report.json`` beside a trajectory,
say). The loader lists them as skipped, not as errors.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from memex_audit.errors import TrajectoryFormatError, UsageError
from memex_audit.trajectory import Trajectory

logger = logging.getLogger("memex_audit.loaders")

HEAD_BYTES = 65536
"""How many leading bytes of a file the sniffers see first."""

LONG_HEAD_BYTES = (1 << 20, 16 << 20)
"""How far ``sniff_format`` looks again when no format recognises the first ``HEAD_BYTES`` of a
JSON file (a native record whose question or ground truth fills them, before its steps)."""


class LoadProblem(BaseModel):
    """A file, or a record in it, that could not be loaded: where and why.

    Attributes:
        file: The file.
        line: 1-based line (line-oriented files) or record position, when known.
        field: Dotted path of the offending field, when known.
        format: The adapter that tried, when one did.
        reason: What went wrong, in words that say what to do.
        traceback: Where the adapter failed, when it raised an error of its own rather than
            reporting the record as unreadable (a bug to report, with these last frames).
    """

    model_config = ConfigDict(extra="forbid")

    file: str
    line: int | None = None
    field: str | None = None
    format: str | None = None
    reason: str
    traceback: str | None = None

    def as_error(self) -> TrajectoryFormatError:
        """This problem as the exception to raise where one bad record must stop the caller."""
        return TrajectoryFormatError(
            self.reason, file=self.file, line=self.line, field=self.field, format=self.format
        )

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" [field {self.field}]" if self.field else ""
        fmt = f" ({self.format})" if self.format else ""
        return f"{where}{fmt}: {self.reason}{field}"


class LoadWarning(LoadProblem):
    """A file or record that loaded, but not as a user would expect (no steps, no content): where and why.

    It has the fields of ``LoadProblem``; ``load`` lists warnings apart from errors.
    """


LoadItem = Trajectory | LoadProblem


@runtime_checkable
class FormatAdapter(Protocol):
    """What a format adapter provides. See the module docstring."""

    name: str
    """Short name of the format (``native``, ``openai_chat``, ``tau2``...)."""

    extensions: tuple[str, ...]
    """File name endings this adapter may read (``.json``, ``.jsonl``, ``.traj.json``...)."""

    def sniff(self, path: Path, head: bytes) -> float:
        """Confidence in ``[0, 1]`` that ``path`` (whose first bytes are ``head``) is this format."""
        ...

    def load(self, path: Path) -> Iterator[LoadItem]:
        """Yield the file's trajectories, and a ``LoadProblem`` for each record that cannot be read."""
        ...


_REGISTRY: dict[str, FormatAdapter] = {}


def register_format(adapter: FormatAdapter, *, replace: bool = False) -> FormatAdapter:
    """Add an adapter to the registry, so ``load`` and ``sniff_format`` consider it.

    Raises:
        UsageError: An adapter with that name is registered and ``replace`` is false.
    """
    if adapter.name in _REGISTRY and not replace and _REGISTRY[adapter.name] is not adapter:
        raise UsageError(f"a format named {adapter.name!r} is already registered; pass replace=True")
    _REGISTRY[adapter.name] = adapter
    return adapter


def registered_formats() -> dict[str, FormatAdapter]:
    """The registered adapters by name (a copy)."""
    _ensure_builtin_formats()
    return dict(_REGISTRY)


def get_format(name: str) -> FormatAdapter:
    """The adapter registered under ``name``.

    Raises:
        UsageError: No such format; the message lists the known ones.
    """
    formats = registered_formats()
    if name not in formats:
        raise UsageError(f"unknown format {name!r}; known formats: {', '.join(sorted(formats))}")
    return formats[name]


def read_head(path: Path) -> bytes:
    """The first ``HEAD_BYTES`` of a file."""
    with path.open("rb") as fh:
        return fh.read(HEAD_BYTES)


def known_extensions() -> set[str]:
    """Every file ending some registered adapter reads."""
    return {ext for adapter in registered_formats().values() for ext in adapter.extensions}


def sniff_format(
    path: Path, head: bytes | None = None, *, failures: list[str] | None = None
) -> FormatAdapter | None:
    """The adapter most confident it can read ``path``, or ``None`` when none is.

    Ties go to the adapter registered first, so built-in formats win over later plug-ins of
    equal confidence. When none recognises a JSON file from its first ``HEAD_BYTES``, they are
    asked again with the first ``LONG_HEAD_BYTES``.

    A sniffer that raises counts as "not mine", so one faulty plug-in cannot stop a folder load;
    it is logged (``memex_audit.loaders``, debug level, with its traceback) and, when ``failures``
    is given, described there (``format: ErrorType: message``).
    """
    if head is None:
        head = read_head(path)
    best = _most_confident(path, head, failures)
    for size in LONG_HEAD_BYTES:
        if best is not None or len(head) < HEAD_BYTES or _first_char(head) not in (b"{", b"["):
            break
        try:
            with path.open("rb") as fh:
                longer = fh.read(size)
        except OSError:
            break
        if len(longer) <= len(head):
            break
        head = longer
        best = _most_confident(path, head, failures)
    return best


def _first_char(head: bytes) -> bytes:
    return head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]


def _most_confident(path: Path, head: bytes, failures: list[str] | None) -> FormatAdapter | None:
    best: tuple[float, FormatAdapter] | None = None
    for adapter in registered_formats().values():
        try:
            score = float(adapter.sniff(path, head))
        except Exception as exc:  # a plug-in's sniffer must not break folder loading
            _note_failure(adapter, "sniff", path, exc, failures)
            continue
        if score > 0 and (best is None or score > best[0]):
            best = (score, adapter)
    return best[1] if best else None


def is_companion(path: Path, head: bytes) -> bool:
    """Whether some adapter claims ``path`` as a companion file (no trajectories of its own)."""
    for adapter in registered_formats().values():
        check = getattr(adapter, "is_companion", None)
        if check is None:
            continue
        try:
            if check(path, head):
                return True
        except Exception as exc:
            _note_failure(adapter, "is_companion", path, exc, None)
            continue
    return False


def _note_failure(
    adapter: FormatAdapter, method: str, path: Path, exc: Exception, failures: list[str] | None
) -> None:
    """Log a sniffing method that raised, and describe it in ``failures`` when it is given."""
    logger.debug("%s.%s raised on %s", adapter.name, method, path, exc_info=exc)
    if failures is not None:
        described = f"{adapter.name}: {type(exc).__name__}: {exc}"
        if described not in failures:
            failures.append(described)


_BUILTINS_LOADED = False


def _ensure_builtin_formats() -> None:
    """Import the built-in adapters once; each registers itself on import."""
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    from memex_audit.loaders import _builtin  # noqa: F401
