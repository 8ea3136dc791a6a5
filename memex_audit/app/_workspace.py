"""Everything the app shows, read from the run folders and the rollouts they read.

``load_workspace`` reads every run's results and errors at once (the index the pages start from:
milliseconds from an ``audit.parquet`` export). The rollout files the runs recorded as their inputs
(with the glob and format they were read with; a rollout read by several runs is kept once) are
loaded the first time a page asks for them (``trajectories``, ``table``, ``failures``), through the
process-wide memo of parsed files, so a reload reuses what did not change. It does not depend on
Streamlit, so tests and benchmarks use it directly.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from memex_audit.aggregator import AggregateTaskResult
from memex_audit.analysis import audit_frame, failure_frame, trajectory_table
from memex_audit.app._audits import AuditResults, read_audit_results
from memex_audit.app._discovery import Discovery, RunInfo
from memex_audit.app._rollouts import ROLLOUT_FILES, InputSpec
from memex_audit.auditor import AuditReport
from memex_audit.errors import MemexAuditError
from memex_audit.loaders import LoadProblem
from memex_audit.runs import RunFailure, RunStore
from memex_audit.taxonomy import load_taxonomy
from memex_audit.trajectory import Trajectory


@dataclass
class Workspace:
    """The runs, their results and the rollouts behind them.

    Attributes:
        runs: The run folders, in the order found.
        problems: Paths or runs that could not be read, with why.
        audits: Audit run name → its results (the table, and reports on demand).
        aggregates: Aggregate run name → its per-task results.
        errors: Run name → the errors it recorded.
        audit_rows: ``audit_frame`` of every audit run, with a ``run`` column.
        taxonomy_ids: Taxonomy name → its category ids in order (the taxonomies that could be found).
        specs: The inputs the runs read, loaded on first use (see ``trajectories``).

    ``trajectories``, ``load_errors``, ``table`` and ``failures`` load the rollouts the first time one
    of them is read.
    """

    runs: list[RunInfo]
    problems: list[str] = field(default_factory=list)
    audits: dict[str, AuditResults] = field(default_factory=dict)
    aggregates: dict[str, list[AggregateTaskResult]] = field(default_factory=dict)
    errors: dict[str, list[RunFailure]] = field(default_factory=dict)
    audit_rows: pl.DataFrame = field(default_factory=pl.DataFrame)
    taxonomy_ids: dict[str, list[str]] = field(default_factory=dict)
    specs: list[InputSpec] = field(default_factory=list)
    _rollouts: _Rollouts | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- the rollouts, loaded on first use ----------------------------------------------------------

    def _loaded(self) -> _Rollouts:
        with self._lock:
            if self._rollouts is None:
                self._rollouts = _load_rollouts(self)
            return self._rollouts

    @property
    def rollouts_loaded(self) -> bool:
        """Whether the rollouts were loaded already (a page can say it is about to load them)."""
        return self._rollouts is not None

    @property
    def trajectories(self) -> list[Trajectory]:
        """The rollouts the runs read (empty when their inputs are not reachable)."""
        return self._loaded().trajectories

    @property
    def load_errors(self) -> list[LoadProblem]:
        """Problems loading those rollouts."""
        return self._loaded().load_errors

    @property
    def table(self) -> pl.DataFrame:
        """``trajectory_table`` of ``trajectories``."""
        return self._loaded().table

    @property
    def failures(self) -> pl.DataFrame:
        """``failure_frame`` of the audit rows and the rollouts."""
        return self._loaded().failures

    # -- lookups -----------------------------------------------------------------------------------

    def trajectory(self, trajectory_id: str, file: str | None = None) -> Trajectory | None:
        """The rollout with this id (from ``file`` when several share the id), if it was loaded."""
        loaded = self._loaded()
        rows = loaded.by_id.get(trajectory_id, [])
        for row in rows:
            traj = loaded.trajectories[row]
            if file is None or (traj.source is not None and traj.source.file == file):
                return traj
        return loaded.trajectories[rows[0]] if rows else None

    def task(self, task_id: str) -> list[Trajectory]:
        """The loaded rollouts of a task, in load order."""
        rows = self.table.filter(pl.col("task_id") == task_id).get_column("row").to_list()
        return [self.trajectories[r] for r in rows]

    def reports_for(self, trajectory_id: str) -> list[tuple[str, AuditReport]]:
        """``(run name, report)`` for every audit of this rollout."""
        return [
            (name, r) for name, results in self.audits.items() for r in results.reports_for(trajectory_id)
        ]

    def runs_frame(self) -> pl.DataFrame:
        """One row per run: name, kind, policy or model, taxonomy, results, errors, inputs, folder."""
        rows = []
        for run in self.runs:
            config = run.manifest.config
            audit = self.audits.get(run.name)
            results = (audit.frame.height if audit else 0) + len(self.aggregates.get(run.name, []))
            rows.append(
                {
                    "run": run.name,
                    "kind": run.kind,
                    "model": str(config.get("model") or "offline"),
                    "taxonomy": str(config["taxonomy"]) if config.get("taxonomy") else None,
                    "results": results,
                    "errors": len(self.errors.get(run.name, [])),
                    "created": run.manifest.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                    "inputs": ", ".join(str(p) for p in run.inputs) or "(not found)",
                    "folder": str(run.path),
                }
            )
        return pl.DataFrame(
            rows,
            schema={
                "run": pl.String,
                "kind": pl.String,
                "model": pl.String,
                "taxonomy": pl.String,
                "results": pl.Int64,
                "errors": pl.Int64,
                "created": pl.String,
                "inputs": pl.String,
                "folder": pl.String,
            },
            orient="row",
        )

    def errors_frame(self) -> pl.DataFrame:
        """One row per recorded run error: run, key, kind, message, file, line, final."""
        rows = [
            {
                "run": run,
                "key": e.key,
                "kind": e.kind,
                "message": e.message,
                "file": e.file,
                "line": e.line,
                "final": e.final,
            }
            for run, errors in self.errors.items()
            for e in errors
        ]
        schema = {
            "run": pl.String,
            "key": pl.String,
            "kind": pl.String,
            "message": pl.String,
            "file": pl.String,
            "line": pl.Int64,
            "final": pl.Boolean,
        }
        return pl.DataFrame(rows, schema=schema, orient="row")

    def aggregate_result(self, run: str, task_id: str) -> AggregateTaskResult | None:
        """One task's result in an aggregate run."""
        return next((r for r in self.aggregates.get(run, []) if r.task_id == task_id), None)


def _read_run(run: RunInfo, workspace: Workspace) -> None:
    store = RunStore(run.path, run.manifest)
    if run.kind not in ("audit", "aggregate"):
        workspace.problems.append(
            f"{run.name}: a {run.kind} run, which the app does not show yet; read it with "
            f"`memex-audit show {run.path}`"
        )
        return
    try:
        if run.kind == "audit":
            workspace.audits[run.name] = read_audit_results(store)
        else:
            workspace.aggregates[run.name] = store.read_results(AggregateTaskResult)
        workspace.errors[run.name] = store.read_errors()
    except MemexAuditError as exc:
        workspace.problems.append(f"{run.name}: {exc}")


@dataclass
class _Rollouts:
    trajectories: list[Trajectory] = field(default_factory=list)
    load_errors: list[LoadProblem] = field(default_factory=list)
    table: pl.DataFrame = field(default_factory=pl.DataFrame)
    failures: pl.DataFrame = field(default_factory=pl.DataFrame)
    by_id: dict[str, list[int]] = field(default_factory=dict)


def _load_rollouts(workspace: Workspace) -> _Rollouts:
    """Load each spec once; a rollout read by several specs (the same file) is kept once."""
    out = _Rollouts()
    row_of: dict[tuple[str | None, int | None, int | None, str], int] = {}
    rows_by_spec: dict[InputSpec, list[int]] = {}
    seen_errors: set[tuple[str | None, int | None, str]] = set()
    for spec in dict.fromkeys(workspace.specs):
        loaded = ROLLOUT_FILES.load_spec(spec)
        if loaded.problem is not None:
            if loaded.problem not in workspace.problems:
                workspace.problems.append(loaded.problem)
            continue
        rows = rows_by_spec.setdefault(spec, [])
        for _, file_load in loaded.files:
            for traj in file_load.trajectories:
                src = traj.source
                key = (src.file, src.line, src.position, traj.id) if src else (None, None, None, traj.id)
                row = row_of.get(key)
                if row is None:
                    row = row_of[key] = len(out.trajectories)
                    out.trajectories.append(traj)
                rows.append(row)
            for error in file_load.errors:
                error_key = (error.file, error.line, error.reason)
                if error_key not in seen_errors:
                    seen_errors.add(error_key)
                    out.load_errors.append(error)
    for row, traj in enumerate(out.trajectories):
        out.by_id.setdefault(traj.id, []).append(row)
    out.table = trajectory_table(out.trajectories)
    audited_rows = {
        row
        for run in workspace.runs
        if run.kind == "audit"
        for path in run.inputs
        for row in rows_by_spec.get(_spec(run, path), [])
    }
    read_by_audits = out.table.filter(pl.col("row").is_in(sorted(audited_rows)))
    out.failures = failure_frame(workspace.audit_rows, read_by_audits)
    return out


def _spec(run: RunInfo, path: Path) -> InputSpec:
    return (path, run.glob, run.format)


def _taxonomy_ids(names: Sequence[str]) -> dict[str, list[str]]:
    ids = {}
    for name in names:
        try:
            ids[name] = list(load_taxonomy(name).category_ids)
        except MemexAuditError:
            continue
    return ids


def load_workspace(discovery: Discovery, *, load_trajectories: bool = True) -> Workspace:
    """Read the runs of ``discovery`` and the rollouts they read.

    Args:
        discovery: The runs (from ``discover_runs``).
        load_trajectories: Load the runs' input rollouts when first asked for (without them the
            pages show results only).
    """
    workspace = Workspace(runs=list(discovery.runs), problems=list(discovery.problems))
    for run in workspace.runs:
        _read_run(run, workspace)
        if load_trajectories and not run.inputs and run.records_inputs:
            workspace.problems.append(
                f"{run.name}: the rollouts it read are not reachable from here; trajectories are not shown"
            )
    if load_trajectories:
        workspace.specs = [_spec(run, p) for run in workspace.runs for p in run.inputs]
    frames = []
    for name, results in workspace.audits.items():
        frames.append(results.frame.with_columns(pl.lit(name).alias("run")))
    workspace.audit_rows = (
        pl.concat(frames) if frames else audit_frame([]).with_columns(pl.lit(None, pl.String).alias("run"))
    )
    workspace.taxonomy_ids = _taxonomy_ids(workspace.audit_rows.get_column("taxonomy").unique().to_list())
    return workspace
