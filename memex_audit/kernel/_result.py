"""What a kernel returns for one block."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ExecutionResult(BaseModel):
    """The outcome of running one code block.

    Attributes:
        output: Everything the block printed (stdout, stderr, and the repr of a final bare
            expression), complete: callers truncate what a model sees, not the kernel.
        error: A short traceback pointing at the block's own lines, when it raised.
        submitted: True when the block called ``submit()``.
        submission: The value passed to ``submit()`` (the object itself in-process; its JSON-safe
            form, with pydantic models re-validated when their class can be imported, from a
            subprocess).
        timed_out: The block ran past its timeout and was stopped (or abandoned, see below).
        restarted: The backend was restarted: variables the agent defined are gone; scope
            objects and tools were loaded again.
        abandoned: The block could not be stopped and still runs in a background thread
            (in-process kernel only; blocking C calls such as ``time.sleep`` cannot be interrupted).
        notices: Messages about the kernel's state for the model (a reserved name restored, a
            reset namespace...).
        duration_s: Wall-clock time of the block.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    output: str = ""
    error: str | None = None
    submitted: bool = False
    submission: Any = None
    timed_out: bool = False
    restarted: bool = False
    abandoned: bool = False
    notices: list[str] = []
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the block ran to its end (or to ``submit()``) without an error."""
        return self.error is None and not self.timed_out
