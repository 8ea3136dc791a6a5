"""Which trajectories a question is put to, and the stable key of each in the run folder.

Every trajectory by default (graded or not); the filters, sample and limit are those of
``memex_audit.runs.Selection``. Keys are computed over everything loaded, before the selection, so
changing the selection never renames a trajectory already answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from memex_audit.runs import Selection, unit_keys
from memex_audit.trajectory import Trajectory


class AskSelection(Selection):
    """A ``Selection`` that takes every trajectory by default, graded or not."""


@dataclass(frozen=True)
class AskUnit:
    """One trajectory to put the question to, with its key in the run folder."""

    key: str
    trajectory: Trajectory


def plan_ask(trajectories: Sequence[Trajectory], selection: AskSelection | None = None) -> list[AskUnit]:
    """The trajectories ``selection`` takes, in input order, each with a stable key."""
    chosen = selection or AskSelection()
    units = [
        AskUnit(key, traj)
        for key, traj in zip(unit_keys(trajectories), trajectories, strict=True)
        if chosen.matches(traj)
    ]
    keep = set(chosen.narrow([u.key for u in units]))
    return [u for u in units if u.key in keep]
