"""Typed trajectories: the data every other part of memex_audit works on.

This package knows no file format; ``memex_audit.loaders`` reads files into these models.
"""

from memex_audit.trajectory._frames import steps_frame, trajectories_frame
from memex_audit.trajectory._group import TaskGroup, group_by_task
from memex_audit.trajectory._models import (
    SCHEMA_VERSION,
    HumanLabel,
    Outcome,
    Role,
    Source,
    Step,
    ToolCall,
    ToolOutput,
    Trajectory,
    Usage,
)
from memex_audit.trajectory._refs import Evidence, OutcomeName, TrajectoryRef, evidence_problems, outcome_of

__all__ = [
    "SCHEMA_VERSION",
    "Evidence",
    "HumanLabel",
    "Outcome",
    "OutcomeName",
    "Role",
    "Source",
    "Step",
    "TaskGroup",
    "ToolCall",
    "ToolOutput",
    "Trajectory",
    "TrajectoryRef",
    "Usage",
    "evidence_problems",
    "group_by_task",
    "outcome_of",
    "steps_frame",
    "trajectories_frame",
]
