"""Persistent Python namespaces that run an agent's code blocks.

::

    Kernel (protocol)       start(KernelSetup) · execute(code) -> ExecutionResult · close()
    ├── InProcessKernel     a worker thread in this process: fast, objects shared by reference
    ├── SubprocessKernel    a child process: killable timeouts, memory/CPU caps, scratch cwd,
    │                       no API keys in its environment (isolation, not a security sandbox)
    └── FakeKernel          answers from a script, runs nothing (tests)

Both real backends capture each block's prints per kernel (concurrent agents never mix output),
allow top-level ``await``, print a final expression's repr, report exceptions as short
tracebacks over the agent's own lines, and define ``submit`` and ``spawn_agent``.
"""

from memex_audit.kernel._block import SubmitSignal
from memex_audit.kernel._codec import ForeignType
from memex_audit.kernel._env import clean_environment
from memex_audit.kernel._fake import FakeKernel
from memex_audit.kernel._inprocess import InProcessKernel
from memex_audit.kernel._protocol import RESERVED_NAMES, Kernel, KernelSetup, SpawnHandler
from memex_audit.kernel._result import ExecutionResult
from memex_audit.kernel._subprocess import SubprocessKernel

__all__ = [
    "RESERVED_NAMES",
    "ExecutionResult",
    "FakeKernel",
    "ForeignType",
    "InProcessKernel",
    "Kernel",
    "KernelSetup",
    "SpawnHandler",
    "SubmitSignal",
    "SubprocessKernel",
    "clean_environment",
]
