"""Typed run configurations, one per kind of run, discriminated by ``kind``.

What a run was started with is persisted in its manifest; reading it back gives a typed object,
not a free-form dict. Input paths are kept as typed, absolute, and relative to the run folder, so a
run folder that was moved (or is read from another directory) still finds its data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue


class _RunConfig(BaseModel):
    # Unknown keys are kept (a newer version's options), never dropped.
    model_config = ConfigDict(extra="allow")

    path: str | None = Field(default=None, description="The input path as it was typed.")
    path_abs: str | None = Field(default=None, description="The input path, absolute.")
    path_rel: str | None = Field(default=None, description="The input path relative to the run folder.")
    glob: str | None = None
    format: str | None = None

    # Read access by name, for callers written against the earlier dict form.
    def get(self, key: str, default: Any = None) -> Any:
        """The option ``key`` (``default`` when unset)."""
        value = self.model_dump().get(key, default)
        return default if value is None else value

    def __getitem__(self, key: str) -> Any:
        data = self.model_dump()
        if key not in data:
            raise KeyError(key)
        return data[key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self.model_dump()

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(k for k, v in self.model_dump().items() if v is not None)

    def __bool__(self) -> bool:
        return True

    def input_path(self, run_dir: str | Path) -> Path | None:
        """Where the run's input is now: the absolute path if it exists, else the path relative to
        the run folder (the two moved together), else the path as typed."""
        for candidate in (
            Path(self.path_abs) if self.path_abs else None,
            (Path(run_dir) / self.path_rel).resolve() if self.path_rel else None,
            Path(self.path) if self.path else None,
        ):
            if candidate is not None and candidate.exists():
                return candidate
        typed = self.path_abs or self.path
        return Path(typed) if typed else None


class AuditRunConfig(_RunConfig):
    """The options of an audit run."""

    kind: Literal["audit"] = "audit"
    taxonomy: str | None = None
    taxonomy_source: str | None = None
    model: str | None = None
    concurrency: int | None = None
    max_cost_usd: float | None = None


class AggregateRunConfig(_RunConfig):
    """The options of an aggregate run."""

    kind: Literal["aggregate"] = "aggregate"
    n: int | None = None
    model: str | None = None
    mode: str | None = None
    rel_tol: float | None = None
    abs_tol: float | None = None
    subsets: int | None = None
    seed: int | None = None


class CheckRunConfig(_RunConfig):
    """The options of a run of user checks."""

    kind: Literal["check"] = "check"
    checks: list[str] = Field(default_factory=list)


class AskRunConfig(_RunConfig):
    """The options of a run that puts a question of your own to trajectories."""

    kind: Literal["ask"] = "ask"
    question: str | None = None
    answer_type: str | None = None
    model: str | None = None
    concurrency: int | None = None
    max_cost_usd: float | None = None


RunConfig = Annotated[
    AuditRunConfig | AggregateRunConfig | CheckRunConfig | AskRunConfig, Field(discriminator="kind")
]
"""The options a run was started with, by kind."""


def with_input_paths(config: dict[str, JsonValue], run_dir: str | Path) -> dict[str, JsonValue]:
    """``config`` with its ``path`` also recorded absolute and relative to ``run_dir``."""
    raw = config.get("path")
    if not isinstance(raw, str) or raw == "-" or "://" in raw:  # standard input, or a URL kept as typed
        return config
    absolute = Path(raw).resolve()
    relative = os.path.relpath(absolute, Path(run_dir).resolve())
    return {**config, "path_abs": str(absolute), "path_rel": relative}
