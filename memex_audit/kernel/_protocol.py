"""The interface every kernel backend implements, and what a kernel is started with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from memex_audit.kernel._result import ExecutionResult

SpawnHandler = Callable[[str, Any, dict[str, Any]], Awaitable[Any]]
"""``(task, output_type, objects) -> validated result``: runs a sub-agent for ``spawn_agent``."""

RESERVED_NAMES = ("submit", "spawn_agent")
"""Names every kernel defines; restored when agent code overwrites them (tools are reserved too)."""


@dataclass(frozen=True)
class KernelSetup:
    """What a kernel's namespace is filled with when it starts.

    Attributes:
        scope: Objects bound to names in the namespace (trajectories, task groups, data).
        tools: Plain Python functions (sync or async) bound under their ``__name__``.
        spawn: Runs a sub-agent for ``spawn_agent(task, output_type=..., **objects)``; when
            ``None``, ``spawn_agent`` raises an error explaining that sub-agents are off.
    """

    scope: Mapping[str, Any] = field(default_factory=dict)
    tools: Sequence[Callable[..., Any]] = ()
    spawn: SpawnHandler | None = None


@runtime_checkable
class Kernel(Protocol):
    """A persistent Python namespace that runs code blocks one at a time.

    Lifecycle: ``await kernel.start(setup)``, then any number of ``await kernel.execute(code)``,
    then ``await kernel.close()`` (or ``async with kernel:`` after ``start``). Blocks run one
    after another; several kernels run concurrently without mixing their output.
    """

    async def start(self, setup: KernelSetup) -> None:
        """Create the namespace: scope objects, tools, ``submit`` and ``spawn_agent``."""
        ...

    async def execute(self, code: str, *, timeout_s: float | None = None) -> ExecutionResult:
        """Run one block and report what it printed, raised or submitted.

        Args:
            code: Python source; top-level ``await`` is allowed.
            timeout_s: Stop the block after this many seconds (time spent waiting for sub-agents
                does not count); ``None`` uses the kernel's default.
        """
        ...

    async def close(self) -> None:
        """Release the namespace and whatever backs it (threads, processes, scratch files)."""
        ...

    async def __aenter__(self) -> Kernel: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class ClosesOnExit:
    """What every backend shares: ``async with kernel:`` closes the kernel however the block ends."""

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
