"""memex_audit: audit LLM-agent trajectories and aggregate parallel rollouts.

Trajectories load as typed objects (``load``) into the scope of a code-writing agent; the auditor
sorts failed ones into a failure taxonomy with evidence, and the aggregator picks the answer to
trust among N rollouts.
"""

from memex_audit.errors import MemexAuditError, TrajectoryFormatError, UsageError
from memex_audit.loaders import LoadError, LoadResult, load, write_jsonl
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

__version__ = "0.1.0"

__all__ = [
    "HumanLabel",
    "LoadError",
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
