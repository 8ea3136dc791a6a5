"""The exceptions memex_audit raises, in one place.

Two kinds of failure are kept apart: you used the API wrong (``UsageError``), or the
work went wrong on some input (everything else). Errors say where: file, line, field.

::

    MemexAuditError
    ├── UsageError               a wrong argument, an unknown name, a missing optional package
    ├── TrajectoryFormatError    a file or record that cannot be read as trajectories
    │                            (carries ``file``, ``line``, ``field``, ``format``)
    ├── TaxonomyError            a taxonomy file that does not validate, or an unknown taxonomy
    ├── KernelError              code could not be run: the backend died, a timeout could not be enforced
    ├── ModelError               an LLM call failed after its retries, or real requests are forbidden
    │   └── BudgetExceeded       the run's token or cost budget is spent
    └── ResultsError             a results store that cannot be read or written
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
