"""memex_audit: audit LLM-agent trajectories and aggregate parallel rollouts.

Trajectories load as typed objects (``load``) into the scope of a code-writing agent; the auditor
sorts failed ones into a failure taxonomy with evidence, and the aggregator picks the answer to
trust among N rollouts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from memex_audit.errors import MemexAuditError, TrajectoryFormatError, UsageError

if TYPE_CHECKING:
    from memex_audit.loaders import LoadProblem, LoadResult, load, write_jsonl
    from memex_audit.trajectory import (
        HumanLabel,
        Outcome,
        Source,
        Step,
        TaskGroup,
        ToolCall,
        Trajectory,
        Usage,
        group_by_task,
    )

# Imported on first use: a command that needs none of them (``memex-audit --help``) does not pay
# for pydantic models, loaders and their dependencies.
_LAZY = {
    **dict.fromkeys(("LoadProblem", "LoadResult", "load", "write_jsonl"), "memex_audit.loaders"),
    **dict.fromkeys(
        (
            "HumanLabel",
            "Outcome",
            "Source",
            "Step",
            "TaskGroup",
            "ToolCall",
            "Trajectory",
            "Usage",
            "group_by_task",
        ),
        "memex_audit.trajectory",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'memex_audit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__version__ = "0.1.0"

__all__ = [
    "HumanLabel",
    "LoadProblem",
    "LoadResult",
    "MemexAuditError",
    "Outcome",
    "Source",
    "Step",
    "TaskGroup",
    "ToolCall",
    "Trajectory",
    "TrajectoryFormatError",
    "Usage",
    "UsageError",
    "__version__",
    "group_by_task",
    "load",
    "write_jsonl",
]
