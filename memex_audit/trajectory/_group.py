"""``TaskGroup``: the rollouts of one task, side by side."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from memex_audit.trajectory._models import Trajectory

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl


class TaskGroup(BaseModel):
    """The trajectories of one task, with the task's question and ground truth.

    Attributes:
        task_id: The task the trajectories share.
        question: The task's question (the first trajectory that carries one).
        ground_truth: The task's reference answer (the first trajectory that carries one).
        trajectories: The rollouts, in the order they were loaded.
    """

    model_config = ConfigDict(extra="forbid")

    task_id: str
    question: str | None = None
    ground_truth: JsonValue = None
    trajectories: list[Trajectory] = Field(default_factory=list)

    def __len__(self) -> int:
        return len(self.trajectories)

    def __iter__(self) -> Iterator[Trajectory]:  # type: ignore[override]
        return iter(self.trajectories)

    def __getitem__(self, index: int) -> Trajectory:
        return self.trajectories[index]

    @property
    def failed(self) -> list[Trajectory]:
        """The rollouts whose outcome says they failed."""
        return [t for t in self.trajectories if t.failed]

    @property
    def succeeded(self) -> list[Trajectory]:
        """The rollouts whose outcome says they succeeded."""
        return [t for t in self.trajectories if t.success is True]

    def by_id(self, trajectory_id: str) -> Trajectory:
        """The rollout with this id (``KeyError`` if there is none)."""
        for t in self.trajectories:
            if t.id == trajectory_id:
                return t
        raise KeyError(trajectory_id)

    def without_labels(self) -> TaskGroup:
        """A copy whose trajectories carry no human labels."""
        return self.model_copy(update={"trajectories": [t.without_labels() for t in self.trajectories]})

    def to_polars(self) -> pl.DataFrame:
        """One row per trajectory (see ``trajectories_frame``)."""
        from memex_audit.trajectory._frames import trajectories_frame

        return trajectories_frame(self.trajectories)

    def to_pandas(self) -> pd.DataFrame:
        """One row per trajectory, as pandas."""
        return self.to_polars().to_pandas()


def group_by_task(trajectories: Iterable[Trajectory]) -> list[TaskGroup]:
    """Group trajectories by ``task_id``, keeping first-seen order of tasks and of rollouts."""
    groups: dict[str, TaskGroup] = {}
    for t in trajectories:
        group = groups.get(t.task_id)
        if group is None:
            group = groups[t.task_id] = TaskGroup(task_id=t.task_id)
        group.trajectories.append(t)
        if group.question is None and t.question is not None:
            group.question = t.question
        if group.ground_truth is None and t.ground_truth is not None:
            group.ground_truth = t.ground_truth
    return list(groups.values())
