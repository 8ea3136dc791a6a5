"""Which trajectories a job takes, and the stable key of each unit in the run folder.

A selection filters by outcome (failed, correct, ungraded), by glob patterns on model, harness,
task, id or format, by a list of ids, then takes a seeded random sample and the first N. Unit keys
are the trajectory id, or ``id@file#position`` when several trajectories share an id, with ``file``
relative to the folder all the input files share: the same data gives the same keys however its
path was spelled, so a resume never does a unit twice.
"""

from __future__ import annotations

import fnmatch
import os
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Self

from pydantic import BaseModel, ConfigDict, Field

from memex_audit.errors import UsageError
from memex_audit.trajectory import OutcomeName, Trajectory, outcome_of

ALL_OUTCOMES: frozenset[OutcomeName] = frozenset({"failed", "correct", "ungraded"})
_FIELDS = ("outcome", "model", "harness", "task", "id", "format")


class Selection(BaseModel):
    """Which trajectories to take.

    Attributes:
        outcomes: The outcomes to take.
        where: Field → glob pattern (``model``, ``harness``, ``task``, ``id``, ``format``); all must match.
        ids: Only these trajectory ids (``None``: any).
        limit: At most this many, the first ones in input order.
        sample: A random sample of this many (seeded by ``seed``), taken before ``limit``.
        seed: The sample's seed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcomes: frozenset[OutcomeName] = ALL_OUTCOMES
    where: dict[str, str] = Field(default_factory=dict)
    ids: frozenset[str] | None = None
    limit: int | None = Field(default=None, ge=0)
    sample: int | None = Field(default=None, ge=0)
    seed: int = 0

    @classmethod
    def parse(
        cls,
        where: Iterable[str] = (),
        *,
        ids: Iterable[str] | None = None,
        limit: int | None = None,
        sample: int | None = None,
        seed: int = 0,
    ) -> Self:
        """From ``--where FIELD=PATTERN`` options (``outcome=failed,ungraded``, ``outcome=any``,
        ``model=gpt-*``…); outcomes not named keep the class's default.

        Raises:
            UsageError: An option names an unknown field or outcome.
        """
        outcomes: frozenset[OutcomeName] = cls.model_fields["outcomes"].default
        patterns: dict[str, str] = {}
        for item in where:
            name, sep, value = item.partition("=")
            name = name.strip().lower()
            if not sep or name not in _FIELDS:
                raise UsageError(
                    f"--where {item!r}: use FIELD=PATTERN with FIELD one of {', '.join(_FIELDS)}"
                )
            if name != "outcome":
                patterns[name] = value
                continue
            wanted = {v.strip().lower() for v in value.split(",") if v.strip()}
            if wanted == {"any"}:
                outcomes = ALL_OUTCOMES
                continue
            if not wanted or wanted - ALL_OUTCOMES:
                raise UsageError(
                    f"--where {item!r}: outcome is failed, correct, ungraded (comma-separated) or any"
                )
            outcomes = frozenset(wanted)  # type: ignore[arg-type]
        return cls(
            outcomes=outcomes,
            where=patterns,
            ids=frozenset(ids) if ids is not None else None,
            limit=limit,
            sample=sample,
            seed=seed,
        )

    def matches(self, trajectory: Trajectory) -> bool:
        """Whether ``trajectory`` passes the outcome, field and id filters (not limit or sample)."""
        return self.matches_fields(
            outcome=outcome_of(trajectory),
            id=trajectory.id,
            task_id=trajectory.task_id,
            model=trajectory.model,
            harness=trajectory.harness,
            format=trajectory.source.format if trajectory.source else None,
        )

    def matches_fields(
        self,
        *,
        outcome: OutcomeName,
        id: str,
        task_id: str,
        model: str | None,
        harness: str | None,
        format: str | None,
    ) -> bool:
        """``matches`` on the fields it reads, for callers that hold them without a trajectory (an
        index entry)."""
        if outcome not in self.outcomes:
            return False
        if self.ids is not None and id not in self.ids:
            return False
        values = {"model": model, "harness": harness, "task": task_id, "id": id, "format": format}
        return all(fnmatch.fnmatchcase(str(values[k] or ""), pattern) for k, pattern in self.where.items())

    def narrow(self, keys: Sequence[str]) -> list[str]:
        """The keys kept after ``sample`` and ``limit``, in input order."""
        kept = list(keys)
        if self.sample is not None and self.sample < len(kept):
            chosen = set(random.Random(self.seed).sample(kept, self.sample))
            kept = [k for k in kept if k in chosen]
        if self.limit is not None:
            kept = kept[: self.limit]
        return kept

    @property
    def is_default(self) -> bool:
        """Whether this is the class's default selection."""
        return self == type(self)()


def unit_keys(trajectories: Sequence[Trajectory]) -> list[str]:
    """The stable key of each trajectory (see the module docstring), in order."""
    places = []
    for traj in trajectories:
        src = traj.source
        at = (src.position if src.position is not None else src.line) if src else None
        places.append((traj.id, src.file if src else None, at))
    return keys_of_places(places)


def keys_of_places(places: Sequence[tuple[str, str | None, int | None]]) -> list[str]:
    """The stable keys of trajectories known by (id, file, position or line) only, in order: the
    same keys ``unit_keys`` gives the loaded trajectories (an index of a folder uses this)."""
    counts = Counter(tid for tid, _, _ in places)
    file_key = _file_keys([f for _, f, _ in places if f])
    keys = []
    for tid, file, at in places:
        if counts[tid] == 1:
            keys.append(tid)
            continue
        where = file_key.get(file, file) if file else "?"
        keys.append(f"{tid}@{where}#{'?' if at is None else at}")
    return keys


def _file_keys(files: list[str]) -> dict[str, str]:
    """Each file as a path relative to the folder the files share (its name, for a single file)."""
    unique = sorted(set(files))
    if not unique:
        return {}
    resolved = {f: os.path.realpath(f) for f in unique}
    common = os.path.commonpath(list(resolved.values()))
    if len(unique) == 1 or common == resolved[unique[0]]:
        common = os.path.dirname(common)
    return {f: os.path.relpath(r, common) for f, r in resolved.items()}
