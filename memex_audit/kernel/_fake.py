"""A kernel that runs nothing: for testing code that drives a kernel (an agent loop, a UI)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from memex_audit.errors import KernelError
from memex_audit.kernel._protocol import ClosesOnExit, KernelSetup
from memex_audit.kernel._result import ExecutionResult


class FakeKernel(ClosesOnExit):
    """Answers each block from a script of results, or from a function of the code.

    Args:
        results: The results to return, one per ``execute`` call, in order; or a function from
            the block's code to its result. When a script runs out, ``execute`` returns an empty
            result.

    Attributes:
        executed: The code of every block received, in order.
        setup: What the kernel was started with.
        closed: True once ``close`` was called.
    """

    def __init__(self, results: Sequence[ExecutionResult] | Callable[[str], ExecutionResult] = ()) -> None:
        self._results = results if callable(results) else list(results)
        self.executed: list[str] = []
        self.setup: KernelSetup | None = None
        self.closed = False

    async def start(self, setup: KernelSetup) -> None:
        """Remember ``setup``."""
        self.setup = setup

    async def execute(self, code: str, *, timeout_s: float | None = None) -> ExecutionResult:
        """Record ``code`` and return the next scripted result."""
        if self.setup is None:
            raise KernelError("kernel not started: await kernel.start(setup) first")
        self.executed.append(code)
        if callable(self._results):
            return self._results(code)
        position = len(self.executed) - 1
        return self._results[position] if position < len(self._results) else ExecutionResult()

    async def close(self) -> None:
        """Mark the kernel closed."""
        self.closed = True
