"""An aggregate run: every task of a rollout folder aggregated into a resumable run folder.

Each task becomes one ``AggregateTaskResult`` line in the run's ``results.jsonl`` (keyed by task
id) as soon as it is done, so a killed run loses at most the task in flight and a rerun skips the
tasks already done. The verifier (and the LLM aggregator, given a model) run through the agent
loop; their runs are recorded in ``agent_runs.jsonl``. Exports (Parquet tables, ``summary.json``)
are written by the ``finalize`` step the caller supplies (the command line passes the analysis
layer's ``write_aggregate_exports``), once at the end, also after an interruption.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from memex_audit.agent import Budget
from memex_audit.aggregator._agent_policy import aggregate_with_agent
from memex_audit.aggregator._evaluate import DEFAULT_MAX_SUBSETS, aggregate_task
from memex_audit.aggregator._keys import KeyConfig
from memex_audit.aggregator._models import Aggregation
from memex_audit.errors import UsageError
from memex_audit.llm import LLMClient, ModelPrice, worst_case_cost
from memex_audit.runs import RunFailure, RunStore, Unit, UnitDone, UnitProgress, UnitRunner
from memex_audit.trajectory import TaskGroup


@dataclass
class AggregateRunOutcome:
    """What a run did.

    Attributes:
        tasks: Tasks in the input.
        done: Tasks aggregated by this invocation.
        skipped: Tasks already done in the run folder (resumed).
        failed: Tasks that failed (recorded in ``errors.jsonl``).
        through_agent: Whether the verifier ran through the agent loop.
        agent_fallback: Why the verifier ran directly although the agent loop was asked for
            (``None`` when it was not asked for, or ran).
        stopped: ``complete``, ``budget`` or ``interrupted``.
        remaining: Tasks not attempted (budget).
        cost_usd: What the LLM aggregator spent (known prices only).
        unknown_cost: Some task's cost was unknown.
        llm_failed: Tasks whose LLM aggregation failed (their offline results are kept).
    """

    tasks: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    through_agent: bool = True
    agent_fallback: str | None = None
    stopped: Literal["complete", "budget", "interrupted"] = "complete"
    remaining: int = 0
    cost_usd: float = 0.0
    unknown_cost: bool = False
    llm_failed: int = 0


def agent_loop_unavailable() -> str | None:
    """Why the MemEx agent loop (which runs the verifier and the LLM) cannot be imported, or
    ``None`` when it can."""
    try:
        from memex_audit.agent import Agent  # noqa: F401
    except ImportError as exc:
        return f"the agent loop cannot be imported ({type(exc).__name__}: {exc})"
    return None


def agent_loop_available() -> bool:
    """Whether the MemEx agent loop can be imported; ``agent_loop_unavailable`` says why not."""
    return agent_loop_unavailable() is None


async def aggregate_groups(
    groups: Sequence[TaskGroup],
    store: RunStore,
    *,
    model: LLMClient | None = None,
    config: KeyConfig | None = None,
    n: int | None = None,
    scaling: bool = True,
    max_subsets: int = DEFAULT_MAX_SUBSETS,
    seed: int = 0,
    use_agent: bool = True,
    on_task: Callable[[str, str], None] | None = None,
    concurrency: int = 1,
    max_cost_usd: float | None = None,
    max_turns: int = 20,
    price: ModelPrice | None = None,
    allow_unpriced: bool = False,
    finalize: Callable[[RunStore], None] | None = None,
) -> AggregateRunOutcome:
    """Aggregate every task of ``groups`` not yet done in ``store``, on the unit runner.

    Args:
        groups: The tasks (with outcomes, used only to grade).
        store: The run folder (``kind="aggregate"``).
        model: An LLM to run the LLM aggregator with, besides the offline policies.
        config: How answers are keyed.
        n: Use only the first ``n`` rollouts of each task.
        scaling: Compute accuracy over subsets of 1, 2, 4, … rollouts.
        max_subsets: Subsets drawn per size.
        seed: Seeds subset sampling and the random rollout.
        use_agent: Run the verifier through the agent loop. When the loop cannot be imported, the
            verifier runs directly: a ``RuntimeWarning`` and ``AggregateRunOutcome.agent_fallback``
            say why.
        on_task: Called with each task id and ``done``, ``skipped`` or ``failed``.
        concurrency: Tasks aggregated at once.
        max_cost_usd: The LLM aggregator's cost cap, over every rerun of the folder: each model call
            reserves its worst-case cost at ``price`` first (see ``memex_audit.agent.Budget``).
        max_turns: Turn limit of the LLM aggregator per task.
        price: The model's price at its endpoint.
        allow_unpriced: Run under ``max_cost_usd`` although the price is unknown.
        finalize: Called once at the end (the exports), also when the run is interrupted.

    Raises:
        UsageError: ``model`` is given but the agent loop, which runs the LLM aggregator, cannot be
            imported.
    """
    cfg = config or KeyConfig()
    unavailable = agent_loop_unavailable() if use_agent or model is not None else None
    if unavailable is not None and model is not None:
        raise UsageError(f"the LLM aggregator runs through the agent loop, and {unavailable}")
    if unavailable is not None:
        warnings.warn(
            f"the verifier runs directly, not through the agent loop: {unavailable}",
            RuntimeWarning,
            stacklevel=2,
        )
    through_agent = use_agent and unavailable is None
    units = [
        Unit(
            key=g.task_id,
            payload=g if n is None else g.model_copy(update={"trajectories": g.trajectories[:n]}),
        )
        for g in groups
    ]
    if on_task is not None:
        done_before = store.done_keys()
        for unit in units:
            if unit.key in done_before:
                on_task(unit.key, "skipped")

    budget = None
    if model is not None and max_cost_usd is not None:
        # One budget for every LLM aggregation, continued from the folder's ledger.
        budget = Budget(
            max_cost_usd=max_cost_usd,
            spent_usd=store.spent_usd(),
            worst_case=lambda request: worst_case_cost(request, price),
            allow_unpriced=allow_unpriced,
        )

    async def work(unit: Unit[TaskGroup]) -> UnitDone:
        group = unit.payload
        runs = []
        extra: dict[str, Aggregation] = {}
        cost: float | None = 0.0
        partial: list[RunFailure] = []
        if through_agent:
            verifier, run = await aggregate_with_agent(group, None, cfg)
            if run is not None:
                runs.append(run)
            extra["verifier"] = verifier
        if model is not None:
            llm, run = await aggregate_with_agent(group, model, cfg, max_turns=max_turns, budget=budget)
            if run is not None:
                runs.append(run)
                cost = run.usage.cost_usd
            extra["llm"] = llm
            if llm.error is not None:
                # the offline policies' results are kept; the model step's failure is recorded beside them
                kind = "budget" if "budget" in llm.error else "model"
                partial.append(
                    RunFailure(key=group.task_id, kind=kind, message=f"LLM aggregator: {llm.error}")
                )
        result = await asyncio.to_thread(
            aggregate_task, group, cfg, extra=extra, scaling=scaling, max_subsets=max_subsets, seed=seed
        )
        return UnitDone(record=result, cost_usd=cost, runs=runs, partial=partial)

    def progress(p: UnitProgress) -> None:
        if on_task is not None:
            on_task(p.key, "failed" if p.error is not None else "done")

    runner = UnitRunner(
        store, concurrency=concurrency, max_cost_usd=max_cost_usd, on_progress=progress, finalize=finalize
    )
    ran = await runner.run(units, work)
    return AggregateRunOutcome(
        tasks=len(groups),
        done=ran.done,
        skipped=ran.skipped,
        failed=ran.errors,
        llm_failed=ran.partial,
        through_agent=through_agent,
        agent_fallback=unavailable,
        stopped=ran.stopped,
        remaining=ran.remaining,
        cost_usd=ran.cost_usd,
        unknown_cost=ran.unknown_cost,
    )
