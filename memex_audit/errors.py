"""The exceptions memex_audit raises, in one place.

Two kinds of failure are kept apart: you used the API wrong (``UsageError``), or the
work went wrong on some input (everything else). Errors say where: file, line, field.
Every exception memex_audit raises on purpose derives from ``MemexAuditError``; anything
else is a bug, and is reported with its traceback.

::

    MemexAuditError
    ├── UsageError               a wrong argument, an unknown name, a missing optional package
    ├── TrajectoryFormatError    a file or record that cannot be read as trajectories
    │                            (carries ``file``, ``line``, ``field``, ``format``); format
    │                            adapters raise it, ``load`` lists it as a ``LoadProblem``
    │                            (``LoadProblem.as_error()`` turns one back into it)
    ├── TaxonomyError            a taxonomy file that does not validate, or an unknown taxonomy
    ├── KernelError              code could not be run: the backend died, a timeout could not be enforced
    ├── ModelError               an LLM call failed after its retries, or real requests are forbidden
    │   └── BudgetExceeded       the next model call would pass the run's cost cap, or its price
    │                            is unknown under one (``Budget.reserve``)
    ├── ResultsError             a run folder that cannot be read or written (a line that does not
    │   │                        validate names its file and line)
    │   ├── StorageError         (memex_audit.runs) the disk refused a write
    │   └── RunLocked            (memex_audit.runs) another process is writing the run folder
    └── GenerationError          (memex_audit.samples) a generated sample failed its own check

``LoadProblem`` (memex_audit.loaders) and ``RunFailure`` (memex_audit.runs) are records of what
went wrong, kept as data, not exceptions.
"""

from __future__ import annotations


class MemexAuditError(Exception):
    """Root of every error memex_audit raises on purpose."""


class UsageError(MemexAuditError):
    """The API or the command line was used wrongly; the message says how to use it."""


class TrajectoryFormatError(MemexAuditError):
    """A file or a record in it cannot be read as trajectories.

    Attributes:
        file: The file, when known.
        line: 1-based line (JSONL) or record position, when known.
        field: Dotted path of the offending field, when known.
        format: Name of the format adapter that tried to read it.
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        format: str | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        self.field = field
        self.format = format
        where = ":".join(str(p) for p in (file, line) if p is not None)
        prefix = f"{where}: " if where else ""
        field_part = f" (field {field})" if field else ""
        super().__init__(f"{prefix}{reason}{field_part}")


class TaxonomyError(MemexAuditError):
    """A taxonomy is unknown or its file does not validate."""


class KernelError(MemexAuditError):
    """The kernel could not run code: its backend died or could not be started."""


class ModelError(MemexAuditError):
    """An LLM call failed after its retries, or real requests are switched off."""


class BudgetExceeded(ModelError):
    """The token or cost budget shared by a run (and its sub-agents) is spent."""


class ResultsError(MemexAuditError):
    """A results store cannot be read or written."""
