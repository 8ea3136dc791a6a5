"""Persistent Python namespaces that run an agent's code blocks.

::

    Kernel (protocol)       start(KernelSetup) · execute(code) -> ExecutionResult · close()
    ├── InProcessKernel     a worker thread in this process: fast, objects shared by reference;
    │                       for trusted code (a crash or os._exit in a block ends the host)
    ├── SubprocessKernel    a child process: killable timeouts, memory/CPU caps, scratch cwd,
    │                       no API keys in its environment, crashes become a restart, nothing it
    │                       starts outlives it or the host (isolation, not a security sandbox)
    └── FakeKernel          answers from a script, runs nothing (tests)

What crosses from either kernel into the host is bounded (the head and tail of a block's output,
the rest counted) and valid UTF-8 (``safe_text``), and a block's timeout never raises in the host.

Both real backends capture each block's prints per kernel (concurrent agents never mix output),
allow top-level ``await``, print a final expression's repr, report exceptions as short
tracebacks over the agent's own lines, and define ``submit`` and ``spawn_agent``.
"""

from memex_audit.kernel._block import SubmitSignal
from memex_audit.kernel._codec import ForeignType
from memex_audit.kernel._env import clean_environment
from memex_audit.kernel._fake import FakeKernel
from memex_audit.kernel._inprocess import InProcessKernel
from memex_audit.kernel._output import safe_text
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
    "safe_text",
]
