"""What an aggregator may see: the rollouts without their grading.

An aggregator that read outcomes, rewards, human labels or the gold answer would not be
aggregating: it would be grading. ``blind_group`` removes all of them, including grading records
that adapters keep in ``metadata`` (τ²'s ``reward_info``, action checks, reviews).
"""

from __future__ import annotations

import re

from pydantic import JsonValue

from memex_audit.trajectory import Outcome, TaskGroup, Trajectory

_GRADING_KEYS = re.compile(
    r"reward|correct|label|grade|judge|evaluation|action_checks|db_check|nl_assertion|"
    r"communicate_check|env_assertion|review|ground_truth|gold|expected|mistake|outcome|score|"
    # a benchmark's task record states what is being tested ("agent should refuse ...")
    r"^task$|purpose|scenario|ticket",
    re.IGNORECASE,
)


def blind_metadata(metadata: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """``metadata`` without the entries that carry grading (at any depth)."""
    out: dict[str, JsonValue] = {}
    for key, value in metadata.items():
        if _GRADING_KEYS.search(key):
            continue
        out[key] = blind_metadata(value) if isinstance(value, dict) else value
    return out


def blind_trajectory(trajectory: Trajectory) -> Trajectory:
    """A copy with no outcome, labels, ground truth or grading metadata (steps are kept whole)."""
    steps = [
        step.model_copy(update={"metadata": blind_metadata(step.metadata)}) if step.metadata else step
        for step in trajectory.steps
    ]
    return trajectory.model_copy(
        update={
            "outcome": Outcome(),
            "labels": [],
            "ground_truth": None,
            "metadata": blind_metadata(trajectory.metadata),
            "steps": steps,
        }
    )


def blind_group(group: TaskGroup) -> TaskGroup:
    """The task's rollouts as an aggregator may see them (see ``blind_trajectory``)."""
    return TaskGroup(
        task_id=group.task_id,
        question=group.question,
        ground_truth=None,
        trajectories=[blind_trajectory(t) for t in group.trajectories],
    )
