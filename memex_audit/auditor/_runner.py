"""Auditing a set of trajectories: plan, estimate, run concurrently, resume, stop at a budget.

Failed trajectories are grouped by task; each one is audited by its own agent run with the whole
task (question, ground truth, every sibling rollout, human labels removed) in scope. Results go to a
``RunStore`` one line per trajectory as soon as each finishes, so a run that is interrupted resumes
where it stopped and never audits a trajectory twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Set
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from memex_audit.agent import Agent, AgentSettings, Budget, render_prompt
from memex_audit.auditor._classify import fallback_verdict, verdict_from_signals
from memex_audit.auditor._offline import OfflineAuditPolicy
from memex_audit.auditor._report import AuditReport, AuditVerdict, Producer, audit_context
from memex_audit.auditor._scope import (
    calls_made,
    compare_sources,
    numbers_in_outputs,
    search_steps,
    sources_used,
)
from memex_audit.auditor._selection import AuditSelection
from memex_audit.auditor._signals import detect_signals
from memex_audit.errors import UsageError
from memex_audit.llm import LLMClient, ModelPrice, estimate_cost, estimate_tokens, worst_case_cost
from memex_audit.reading import answer_text, coding_evidence
from memex_audit.runs import (
    Executor,
    ExecutorKind,
    RunFailure,
    RunStore,
    Unit,
    UnitDone,
    UnitProgress,
    UnitRunner,
    make_executor,
    unit_keys,
)
from memex_audit.taxonomy import Taxonomy
from memex_audit.trajectory import TaskGroup, Trajectory, Usage, group_by_task, outcome_of

if TYPE_CHECKING:
    from memex_audit.loaders import TrajectoryIndex

MODEL_TOOLS = (
    search_steps,
    numbers_in_outputs,
    sources_used,
    compare_sources,
    calls_made,
    answer_text,
    coding_evidence,
    detect_signals,
)
"""The functions in a model auditor's scope: views and hints, never the offline verdict builder."""

AUDITOR_TOOLS = (*MODEL_TOOLS, verdict_from_signals, fallback_verdict)
"""The functions in the offline policy's scope (its one reply builds the verdict from the signals)."""

AUDITOR_PROMPT_VERSION = "2"
"""Version of ``prompts/auditor.md``; results record it with their producer."""


def auditor_instructions(taxonomy: Taxonomy) -> str:
    """The auditor's role prompt (``prompts/auditor.md``) with the taxonomy written into it."""
    return render_prompt("memex_audit.auditor", "auditor", taxonomy=taxonomy.describe())


def audit_task_text(group: TaskGroup, target: Trajectory) -> str:
    """The task statement of one audit: which trajectory, of which task, beside how many siblings."""
    correct = sum(1 for t in group.trajectories if t.success is True)
    outcome = outcome_of(target)
    if outcome != "failed":
        state = (
            "ungraded (no grade and maybe no reference answer: look for the taxonomy's failure modes in "
            "what it did, and submit 'unclassified' when none is shown)"
            if outcome == "ungraded"
            else "graded correct (look for failure modes it shows despite its grade)"
        )
        return (
            f"Audit the trajectory `target` (id {target.id!r}, harness {target.harness!r}, model "
            f"{target.model!r}, {len(target.steps)} steps) of task {group.task_id!r}; it is {state}. `task` "
            f"holds {len(group.trajectories)} rollouts of this task ({correct} correct). Classify with the "
            "taxonomy in `taxonomy`, cite evidence, and submit your verdict."
        )
    return (
        f"Audit the failed trajectory `target` (id {target.id!r}, harness {target.harness!r}, model "
        f"{target.model!r}, {len(target.steps)} steps) of task {group.task_id!r}. `task` holds "
        f"{len(group.trajectories)} rollouts of this task ({correct} correct). Classify the failure "
        "with the taxonomy in `taxonomy`, cite evidence, and submit your verdict."
    )


@dataclass(frozen=True)
class AuditUnit:
    """One failed trajectory to audit, with its task group (as loaded, labels included)."""

    key: str
    group: TaskGroup
    trajectory: Trajectory


def plan_audit(
    trajectories: Iterable[Trajectory], selection: AuditSelection | None = None
) -> tuple[list[AuditUnit], int]:
    """The trajectories to audit (by default the failed ones; see ``AuditSelection``), grouped by
    task, and how many others were left out.

    The key of a unit is the trajectory id, or ``id@file#position`` when several trajectories share
    an id, with ``file`` relative to the folder all the input files share: the same data gives the
    same keys however its path was spelled, so a resume never audits a trajectory twice.
    """
    groups = group_by_task(trajectories)
    ordered = [t for g in groups for t in g.trajectories]
    keys = dict(zip(map(id, ordered), unit_keys(ordered), strict=True))
    chosen = selection or AuditSelection()
    units, other = [], 0
    for group in groups:
        for traj in group.trajectories:
            if not chosen.matches(traj):
                other += 1
                continue
            units.append(AuditUnit(keys[id(traj)], group, traj))
    if chosen.sample is not None or chosen.limit is not None:
        keep = set(chosen.narrow([u.key for u in units]))
        other += len(units) - len(keep)
        units = [u for u in units if u.key in keep]
    return units, other


@dataclass(frozen=True)
class AuditEstimate:
    """What a run would audit and roughly cost, before anything is spent.

    Attributes:
        to_audit: Failed trajectories not yet audited in the run folder.
        already_done: Failed trajectories the run folder already has a result or a final error for.
        not_failed: Trajectories that are correct or ungraded (never audited).
        tasks: Tasks the trajectories to audit belong to.
        input_tokens: Estimated input tokens over all agent turns.
        output_tokens: Estimated output tokens.
        cost_usd: Estimated cost; 0 offline; ``None`` when the model's price is unknown.
        model: The policy or model that would run.
    """

    to_audit: int
    already_done: int
    not_failed: int
    tasks: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    model: str


_EST_TURNS = 6
_EST_OUTPUT_PER_TURN = 350
_EST_OBSERVATION_PER_TURN = 900


def estimate_audit(
    units: list[AuditUnit],
    taxonomy: Taxonomy,
    model: LLMClient | str,
    *,
    done: Set[str] = frozenset(),
    not_failed: int = 0,
) -> AuditEstimate:
    """Estimate tokens and cost of auditing ``units`` (those not in ``done``) with ``model`` (a client,
    or a model name when no client can be built yet, e.g. without an API key).

    An LLM run is assumed to take about six turns; each turn resends the conversation, which grows
    by the reply and a bounded observation. The offline policy costs nothing.
    """
    pending = [u for u in units if u.key not in done]
    base = estimate_tokens(auditor_instructions(taxonomy)) + 1500  # the loop's own prompt and scope summary
    per_turn_growth = _EST_OUTPUT_PER_TURN + _EST_OBSERVATION_PER_TURN
    input_tokens = sum(
        _EST_TURNS * (base + estimate_tokens(audit_task_text(u.group, u.trajectory)))
        + per_turn_growth * _EST_TURNS * (_EST_TURNS - 1) // 2
        for u in pending
    )
    output_tokens = len(pending) * _EST_TURNS * _EST_OUTPUT_PER_TURN
    offline = isinstance(model, OfflineAuditPolicy)
    name = model if isinstance(model, str) else model.model
    cost = (
        0.0 if offline else estimate_cost(name, Usage(input_tokens=input_tokens, output_tokens=output_tokens))
    )
    if offline:
        input_tokens = output_tokens = 0
    return AuditEstimate(
        to_audit=len(pending),
        already_done=len(units) - len(pending),
        not_failed=not_failed,
        tasks=len({u.group.task_id for u in pending}),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost,
        model=name,
    )


@dataclass
class AuditProgress:
    """Where a run stands, passed to the progress callback after each trajectory."""

    done: int
    total: int
    cost_usd: float
    key: str
    report: AuditReport | None = None
    error: RunFailure | None = None


@dataclass
class AuditOutcome:
    """How a run ended.

    Attributes:
        audited: Trajectories audited in this invocation.
        errors: Trajectories that failed in this invocation (recorded in ``errors.jsonl``).
        skipped: Trajectories skipped because the run folder already had them.
        remaining: Trajectories not attempted (the budget stopped the run).
        stopped: ``budget`` when the cost budget stopped the run, ``interrupted`` after Ctrl-C (the
            exception propagates; the outcome is what ``interrupted_outcome`` holds), else ``complete``.
        cost_usd: What this invocation spent.
        elapsed_s: Wall-clock time.
    """

    audited: int = 0
    errors: int = 0
    skipped: int = 0
    remaining: int = 0
    stopped: Literal["complete", "budget", "interrupted"] = "complete"
    cost_usd: float = 0.0
    elapsed_s: float = 0.0
    unknown_cost: bool = field(default=False)


class AuditRunner:
    """Audits the failed trajectories of a collection into a run folder.

    Args:
        taxonomy: The taxonomy to classify into.
        model: The LLM to audit with; ``None`` runs the offline policy.
        concurrency: How many trajectories are audited at once.
        max_cost_usd: Stop starting new audits once this much has been spent (in-flight ones finish).
        kernel: ``inprocess`` or ``subprocess`` (isolation for model-written code); ``None``:
            subprocess for a model, in-process for the offline policy.
        max_turns: Agent turns allowed per trajectory.
        on_progress: Called after each trajectory with the run's progress.
        after_result: Called with each key once its result is stored (a hook for tests and tools).
        price: The model's price at its endpoint; under ``max_cost_usd`` each call reserves its
            worst-case cost at this price before it is sent, so concurrency cannot overshoot.
        allow_unpriced: Run under ``max_cost_usd`` although the price is unknown (the cap then only
            stops new audits once known costs reach it).
    """

    def __init__(
        self,
        taxonomy: Taxonomy,
        *,
        model: LLMClient | None = None,
        concurrency: int = 4,
        max_cost_usd: float | None = None,
        kernel: Literal["inprocess", "subprocess"] | None = None,
        max_turns: int = 20,
        on_progress: Callable[[AuditProgress], None] | None = None,
        after_result: Callable[[str], None] | None = None,
        price: ModelPrice | None = None,
        allow_unpriced: bool = False,
    ) -> None:
        self.taxonomy = taxonomy
        self.model: LLMClient = model if model is not None else OfflineAuditPolicy()
        self.concurrency = max(1, concurrency)
        self.max_cost_usd = max_cost_usd
        # Model-written code is untrusted: a model run defaults to the subprocess kernel.
        offline_policy = isinstance(self.model, OfflineAuditPolicy)
        self.kernel: Literal["inprocess", "subprocess"] = kernel or (
            "inprocess" if offline_policy else "subprocess"
        )
        self.max_turns = max_turns
        self.on_progress = on_progress
        self.after_result = after_result
        self.offline = isinstance(self.model, OfflineAuditPolicy)
        self._settings = AgentSettings(
            instructions=auditor_instructions(taxonomy), kernel=self.kernel, max_turns=max_turns
        )
        self._groups: dict[int, tuple[TaskGroup, TaskGroup]] = {}
        self.price = price
        self.allow_unpriced = allow_unpriced
        self._budget: Budget | None = None
        self._attempts: Counter[str] = Counter()

    def _label_free(self, group: TaskGroup) -> TaskGroup:
        """The group without human labels, made once per task and shared by its audits (read-only)."""
        cached = self._groups.get(id(group))
        if cached is None or cached[0] is not group:
            cached = self._groups[id(group)] = (group, group.without_labels())
        return cached[1]

    def run_sync(self, trajectories: Iterable[Trajectory], store: RunStore) -> AuditOutcome:
        """``run`` for callers without an event loop."""
        return asyncio.run(self.run(trajectories, store))

    async def run(
        self,
        trajectories: Iterable[Trajectory],
        store: RunStore,
        *,
        finalize: Callable[[RunStore], None] | None = None,
        selection: AuditSelection | None = None,
    ) -> AuditOutcome:
        """Audit every failed trajectory that ``store`` does not have yet.

        Runs on the unit runner (``memex_audit.runs.UnitRunner``): one unit per failed trajectory,
        results appended as they finish, ``finalize`` (exports) called once at the end, also when
        the run is interrupted.
        """
        if self.max_cost_usd is not None and not self.offline:
            # One budget shared by every agent run and continued from the folder's ledger.
            self._budget = Budget(
                max_cost_usd=self.max_cost_usd,
                spent_usd=store.spent_usd(),
                worst_case=lambda request: worst_case_cost(request, self.price),
                allow_unpriced=self.allow_unpriced,
            )
        audit_units, _ = plan_audit(trajectories, selection)
        units = [Unit.of_trajectory(u.key, u, u.trajectory) for u in audit_units]
        return await self._run_units(units, store, self._work, self.concurrency, finalize)

    async def run_indexed(
        self,
        index: TrajectoryIndex,
        store: RunStore,
        *,
        executor: ExecutorKind | Executor | None = None,
        address: str | None = None,
        finalize: Callable[[RunStore], None] | None = None,
        selection: AuditSelection | None = None,
    ) -> AuditOutcome:
        """``run`` over an index (``memex_audit.loaders.index_trajectories``), one task group at a time.

        The units and their results are those ``run`` gives over the loaded trajectories; each task
        group is read when its first unit starts and dropped after its last, and records that turn
        out unreadable are recorded as load errors. With an executor other than ``local`` (a kind
        or an ``Executor``; the offline policy only), each task group's audits are one job on a
        worker process (``processes``) or a Ray cluster (``ray``, joined at ``address``); the
        results come back here and only this process writes ``store``.

        Raises:
            UsageError: A ``processes`` or ``ray`` executor with a model (model audits wait on the
                network: raise ``concurrency`` instead).
        """
        from memex_audit.auditor._indexed import (
            OfflineAuditWorker,
            executor_work,
            load_error_recorder,
            local_work,
            plan_indexed,
        )

        units, tasks, _ = plan_indexed(index, selection)
        record_errors = load_error_recorder(store)
        if executor is None or executor == "local":
            work: Callable[[Unit[Any]], Awaitable[UnitDone]] = local_work(self, tasks, units, record_errors)
            return await self._run_units(units, store, work, self.concurrency, finalize)
        if not self.offline:
            raise UsageError(
                "the processes and ray executors run the offline policy; audits with a model wait on the "
                "network, not on a core: use the local executor with a higher --concurrency"
            )
        owned = isinstance(executor, str)
        running = (
            make_executor(
                executor,
                OfflineAuditWorker(self.taxonomy, kernel=self.kernel, max_turns=self.max_turns),
                address=address,
                preload=("memex_audit.auditor",),
            )
            if isinstance(executor, str)
            else executor
        )
        try:
            done = store.done_keys()
            batched = executor_work(running, tasks, [u for u in units if u.key not in done], record_errors)
            return await self._run_units(units, store, batched, batched.concurrency, finalize)
        finally:
            if owned:
                running.close()

    async def _run_units(
        self,
        units: list[Unit[Any]],
        store: RunStore,
        work: Callable[[Unit[Any]], Awaitable[UnitDone]],
        concurrency: int,
        finalize: Callable[[RunStore], None] | None,
    ) -> AuditOutcome:
        def progress(p: UnitProgress) -> None:
            if self.on_progress is not None:
                report = p.record if isinstance(p.record, AuditReport) else None
                self.on_progress(AuditProgress(p.done, p.total, p.cost_usd, p.key, report, p.error))

        # Earlier failed tries of a unit each left an error: the next try gets the next stable run id.
        self._attempts = Counter(e.key for e in store.read_errors())
        runner = UnitRunner(
            store,
            concurrency=concurrency,
            max_cost_usd=self.max_cost_usd,
            on_progress=progress,
            after_result=self.after_result,
            finalize=finalize,
        )
        ran = await runner.run(units, work)
        return AuditOutcome(
            audited=ran.done,
            errors=ran.errors,
            skipped=ran.skipped,
            remaining=ran.remaining,
            stopped=ran.stopped,
            cost_usd=ran.cost_usd,
            elapsed_s=ran.elapsed_s,
            unknown_cost=ran.unknown_cost,
        )

    async def audit_one(
        self, unit: AuditUnit, store: RunStore
    ) -> tuple[AuditReport | None, RunFailure | None, float | None]:
        """Audit one trajectory, store its report or error, and return them with the cost spent."""
        done = await self._work(Unit(key=unit.key, payload=unit))
        for run in done.runs:
            store.append_run_trajectory(run)
        if isinstance(done.record, AuditReport):
            store.append_result(unit.key, done.record)
            return done.record, None, done.cost_usd
        if done.error is not None:
            store.append_error(done.error)
        return None, done.error, done.cost_usd

    async def _work(self, item: Unit[AuditUnit]) -> UnitDone:
        """One audit: the agent run, then the report or the error it ends in (nothing is written)."""
        unit = item.payload
        src = unit.trajectory.source
        scope_group = self._label_free(unit.group)
        target = (
            scope_group.by_id(unit.trajectory.id)
            if _unique_id(scope_group, unit.trajectory.id)
            else unit.trajectory.without_labels()
        )
        agent: Agent[AuditVerdict] = Agent(
            self.model,
            AuditVerdict,
            self._settings,
            tools=AUDITOR_TOOLS if self.offline else MODEL_TOOLS,
            budget=self._budget,
            name=f"auditor:{unit.key}",
            run_id=_stable_run_id(unit.key, self._attempts.get(unit.key, 0)),
        )
        try:
            result = await agent.run(
                audit_task_text(scope_group, target),
                validation_context=audit_context(target, self.taxonomy),
                task=scope_group,
                target=target,
                taxonomy=self.taxonomy,
            )
        except Exception as exc:  # one trajectory's failure must not stop the run
            error = RunFailure(
                key=unit.key,
                kind="internal",
                message=f"{type(exc).__name__}: {exc}",
                file=src.file if src else None,
                line=src.line if src else None,
                final=False,
                traceback="".join(traceback.format_exception(exc))[-8000:],
            )
            return UnitDone(error=error, cost_usd=0.0)
        runs = [result.trajectory]
        cost = 0.0 if self.offline else result.usage.cost_usd
        output = result.output
        if result.stop_reason != "submitted" or not isinstance(output, AuditVerdict):
            error = RunFailure(
                key=unit.key,
                kind=result.stop_reason,
                message=result.error
                or f"the auditor stopped ({result.stop_reason}) without submitting a verdict",
                file=src.file if src else None,
                line=src.line if src else None,
                final=result.stop_reason == "max_turns",
            )
            return UnitDone(error=error, cost_usd=cost, runs=runs)
        producer = Producer(
            kind="offline" if self.offline else "llm",
            name=self.model.model,
            usage=result.usage if not self.offline else Usage(cost_usd=0.0),
            cost_usd=cost,
            turns=result.turns,
            stop_reason=result.stop_reason,
            run_id=result.trajectory.id,
            prompt_version=None if self.offline else AUDITOR_PROMPT_VERSION,
        )
        report = AuditReport.from_verdict(output, unit.trajectory, self.taxonomy, producer)
        if result.replied_at is not None:  # a recorded reply: the report is as reproducible as the run
            report = report.model_copy(update={"created_at": result.replied_at})
        return UnitDone(record=report, cost_usd=cost, runs=runs)


def _stable_run_id(key: str, attempt: int) -> str:
    """The id of the agent run auditing ``key`` (its ``attempt``-th try): the same in every rerun of
    the same audit, so a replayed run records the same ids."""
    digest = hashlib.sha256(f"{key}#{attempt}".encode()).hexdigest()[:12]
    return f"auditor-{digest}"


def _unique_id(group: TaskGroup, trajectory_id: str) -> bool:
    return sum(1 for t in group.trajectories if t.id == trajectory_id) == 1
