"""Running checks over trajectories into a run folder: in parallel, resumable, evidence verified.

The runs layer's ``UnitRunner`` does the bookkeeping: each trajectory's report is appended to the
run folder's ``results.jsonl`` as soon as it is done, keyed by the digest of the check files and the
trajectory id, so a rerun of the same checks skips what is done and a run with edited checks
computes everything again beside the old results. With ``workers > 1`` the trajectories are checked
in forked worker processes that inherit the loaded trajectories and checks (only indices go in,
reports come back).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from memex_audit.checks._define import Check
from memex_audit.checks._models import (
    CheckedTrajectory,
    CheckFailure,
    CheckReport,
    CheckSummary,
    Finding,
    LabelCount,
)
from memex_audit.runs import RunStore, Unit, UnitDone, UnitProgress, UnitRunner
from memex_audit.trajectory import TaskGroup, Trajectory, group_by_task


@dataclass(frozen=True)
class CheckProgress:
    """How far a check run is: trajectories done of the total to check."""

    done: int
    total: int


@dataclass(frozen=True)
class CheckOutcome:
    """What a ``run_checks`` call did.

    Attributes:
        checked: Trajectories checked in this call.
        skipped: Trajectories already checked by an earlier call with the same checks.
        findings: Verified findings made in this call.
        unverified: Findings whose evidence did not hold.
        failures: Check calls that raised (recorded in the reports).
        errors: Trajectories that could not be checked at all (recorded in ``errors.jsonl``).
        stopped: ``complete`` or ``interrupted``.
        elapsed_s: Wall time of the call.
    """

    checked: int
    skipped: int
    findings: int
    unverified: int
    failures: int
    errors: int
    stopped: str
    elapsed_s: float

    @property
    def per_second(self) -> float:
        """Trajectories checked per second."""
        return self.checked / self.elapsed_s if self.elapsed_s > 0 else 0.0


def check_trajectory(
    trajectory: Trajectory, group: TaskGroup, checks: Sequence[Check], digest: str
) -> CheckReport:
    """Run every check on one trajectory; a check that raises is recorded, the others still run."""
    start = time.perf_counter()
    findings: list[Finding] = []
    failures: list[CheckFailure] = []
    for item in checks:
        try:
            found = item(trajectory, group)
        except Exception as exc:
            failures.append(
                CheckFailure(check=item.name, error=f"{type(exc).__name__}: {exc}", where=_where(exc, item))
            )
            continue
        findings.extend(f.verify(trajectory) for f in found)
    return CheckReport(
        trajectory=CheckedTrajectory.of(trajectory),
        checks_digest=digest,
        checks=[c.name for c in checks],
        findings=findings,
        failures=failures,
        elapsed_ms=round((time.perf_counter() - start) * 1000, 3),
    )


def result_key(digest: str, trajectory_id: str) -> str:
    """The key of a trajectory's report in the run folder."""
    return f"{digest}:{trajectory_id}"


def plan_checks(
    trajectories: Sequence[Trajectory], digest: str
) -> tuple[list[TaskGroup], list[Unit[tuple[int, int]]]]:
    """The task groups, and one unit per trajectory keyed by the checks digest and its id."""
    groups = group_by_task(trajectories)
    seen: Counter[str] = Counter()
    units: list[Unit[tuple[int, int]]] = []
    for g, group in enumerate(groups):
        for t, trajectory in enumerate(group.trajectories):
            seen[trajectory.id] += 1
            key = result_key(digest, _unique_id(trajectory, seen[trajectory.id]))
            units.append(Unit.of_trajectory(key, (g, t), trajectory))
    return groups, units


def run_checks(
    trajectories: Sequence[Trajectory],
    checks: Sequence[Check],
    store: RunStore,
    *,
    digest: str,
    workers: int = 1,
    on_progress: Callable[[CheckProgress], None] | None = None,
    finalize: Callable[[RunStore], None] | None = None,
) -> CheckOutcome:
    """Check every trajectory not yet checked with these checks, appending each report to ``store``.

    Args:
        trajectories: What to check (grouped by task for checks that take the ``TaskGroup``).
        checks: The checks.
        store: The run folder (opened for writing).
        digest: The check files' digest (``checks_digest``).
        workers: Processes to check in (1: in this process).
        on_progress: Called after each report is written.
        finalize: Called once at the end (exports), also when interrupted.
    """
    groups, units = plan_checks(trajectories, digest)
    counts: Counter[str] = Counter()

    def progress(p: UnitProgress) -> None:
        report = p.record
        if isinstance(report, CheckReport):
            counts["findings"] += sum(1 for f in report.findings if f.verified is not False)
            counts["unverified"] += sum(1 for f in report.findings if f.verified is False)
            counts["failures"] += len(report.failures)
        if on_progress is not None:
            on_progress(CheckProgress(p.done, p.total))

    runner = UnitRunner(store, concurrency=max(1, workers), on_progress=progress, finalize=finalize)
    global _STATE
    _STATE = (groups, list(checks), digest)
    executor = None
    if workers > 1:
        # Forked workers inherit the loaded trajectories and checks: only indices and reports cross.
        executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))

    async def work(unit: Unit[tuple[int, int]]) -> UnitDone:
        if executor is None:
            report = _check_unit(unit.payload)
        else:
            report = await asyncio.get_running_loop().run_in_executor(executor, _check_unit, unit.payload)
        return UnitDone(record=report, cost_usd=0.0)

    try:
        outcome = runner.run_sync(units, work)
    finally:
        _STATE = None
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    return CheckOutcome(
        checked=outcome.done,
        skipped=outcome.skipped,
        findings=counts["findings"],
        unverified=counts["unverified"],
        failures=counts["failures"],
        errors=outcome.errors,
        stopped=outcome.stopped,
        elapsed_s=outcome.elapsed_s,
    )


_STATE: tuple[list[TaskGroup], list[Check], str] | None = None
"""What is being checked: set before workers fork, so they inherit it."""


def _check_unit(payload: tuple[int, int]) -> CheckReport:
    assert _STATE is not None, "checks run without state"
    groups, checks, digest = _STATE
    g, t = payload
    return check_trajectory(groups[g].trajectories[t], groups[g], checks, digest)


def _unique_id(trajectory: Trajectory, occurrence: int) -> str:
    if occurrence == 1:
        return trajectory.id
    src = trajectory.source
    where = f"{src.file}:{src.line or src.position}" if src is not None else str(occurrence)
    return f"{trajectory.id}@{where}"


def _where(exc: BaseException, item: Check) -> str | None:
    """``file:line in function`` of the deepest frame of the traceback inside the check's file."""
    source = str(Path(item.source).resolve())
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if str(Path(f.filename).resolve()) == source]
    if not frames:
        return None
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno} in {last.name}"


# -- reading a run back ---------------------------------------------------------------------------


def read_check_reports(store: RunStore, digest: str | None = None) -> list[CheckReport]:
    """The reports in a check run for one checks digest (default: the run's latest)."""
    wanted = digest or str(store.manifest.config.get("checks_digest") or "")
    return [r for r in store.read_results(CheckReport) if not wanted or r.checks_digest == wanted]


def summarize_checks(
    reports: Sequence[CheckReport], *, digest: str, checks: Sequence[str], load_errors: int = 0
) -> CheckSummary:
    """Counts per label (verified findings, and unverified ones apart), failures per check."""
    by_label: dict[str, LabelCount] = {}
    with_findings = 0
    failures: Counter[str] = Counter()
    for report in reports:
        labels_here: set[str] = set()
        for finding in report.findings:
            count = by_label.setdefault(finding.label, LabelCount(label=finding.label, check=finding.check))
            if finding.verified is False:
                count.unverified += 1
            else:
                count.findings += 1
                labels_here.add(finding.label)
        for label in labels_here:
            by_label[label].trajectories += 1
        with_findings += bool(labels_here)
        failures.update(f.check for f in report.failures)
    return CheckSummary(
        checks_digest=digest,
        checks=list(checks),
        trajectories=len(reports),
        with_findings=with_findings,
        labels=sorted(by_label.values(), key=lambda c: (-c.trajectories, -c.findings, c.label)),
        failures=dict(failures.most_common()),
        load_errors=load_errors,
    )


def findings_frame(reports: Sequence[CheckReport]) -> pl.DataFrame:
    """One row per finding: the trajectory, the check, the label and the evidence."""
    rows = [
        {
            "trajectory_id": r.trajectory.id,
            "task_id": r.trajectory.task_id,
            "model": r.trajectory.model,
            "harness": r.trajectory.harness,
            "outcome": r.trajectory.outcome,
            "file": r.trajectory.file,
            "check": f.check,
            "label": f.label,
            "step": f.step,
            "quote": f.quote,
            "note": f.note,
            "verified": f.verified,
        }
        for r in reports
        for f in r.findings
    ]
    schema = {
        "trajectory_id": pl.String,
        "task_id": pl.String,
        "model": pl.String,
        "harness": pl.String,
        "outcome": pl.String,
        "file": pl.String,
        "check": pl.String,
        "label": pl.String,
        "step": pl.Int64,
        "quote": pl.String,
        "note": pl.String,
        "verified": pl.Boolean,
    }
    return pl.DataFrame(rows, schema=schema)
