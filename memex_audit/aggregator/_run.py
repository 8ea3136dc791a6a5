"""An aggregate run: every task of a rollout folder aggregated into a resumable run folder.

Each task becomes one ``AggregateTaskResult`` line in the run's ``results.jsonl`` (keyed by task
id) as soon as it is done, so a killed run loses at most the task in flight and a rerun skips the
tasks already done. The verifier (and the LLM aggregator, given a model) run through the agent
loop; their runs are recorded in ``agent_runs.jsonl``. Exports (Parquet tables, ``summary.json``)
are rewritten atomically at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from memex_audit.aggregator._agent_policy import aggregate_with_agent
from memex_audit.aggregator._evaluate import DEFAULT_MAX_SUBSETS, accuracy_by_policy, aggregate_task
from memex_audit.aggregator._keys import KeyConfig
from memex_audit.aggregator._models import AggregateTaskResult, Aggregation
from memex_audit.errors import BudgetExceeded, ModelError
from memex_audit.llm import LLMClient
from memex_audit.results import RunError, RunStore
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
    """

    tasks: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    through_agent: bool = True


def agent_loop_available() -> bool:
    """Whether the MemEx agent loop can be imported (it runs the verifier and the LLM)."""
    try:
        from memex_audit.agent import Agent  # noqa: F401
    except ImportError:
        return False
    return True


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
) -> AggregateRunOutcome:
    """Aggregate every task of ``groups`` not yet done in ``store``.

    Args:
        groups: The tasks (with outcomes, used only to grade).
        store: The run folder (``kind="aggregate"``).
        model: An LLM to run the LLM aggregator with, besides the offline policies.
        config: How answers are keyed.
        n: Use only the first ``n`` rollouts of each task.
        scaling: Compute accuracy over subsets of 1, 2, 4, … rollouts.
        max_subsets: Subsets drawn per size.
        seed: Seeds subset sampling and the random rollout.
        use_agent: Run the verifier through the agent loop (when it is installed).
        on_task: Called with each task id and ``done``, ``skipped`` or ``failed``.
    """
    cfg = config or KeyConfig()
    through_agent = use_agent and agent_loop_available()
    outcome = AggregateRunOutcome(tasks=len(groups), through_agent=through_agent)
    done_keys = store.done_keys()
    for group in groups:
        if group.task_id in done_keys:
            outcome.skipped += 1
            if on_task:
                on_task(group.task_id, "skipped")
            continue
        if n is not None:
            group = group.model_copy(update={"trajectories": group.trajectories[:n]})
        try:
            extra: dict[str, Aggregation] = {}
            if through_agent:
                verifier, run = await aggregate_with_agent(group, None, cfg)
                if run is not None:
                    store.append_run_trajectory(run)
                extra["verifier"] = verifier
            if model is not None:
                llm, run = await aggregate_with_agent(group, model, cfg)
                if run is not None:
                    store.append_run_trajectory(run)
                if llm.error is not None:
                    raise ModelError(llm.error)
                extra["llm"] = llm
            result = await asyncio.to_thread(
                aggregate_task, group, cfg, extra=extra, scaling=scaling, max_subsets=max_subsets, seed=seed
            )
        except (ModelError, TimeoutError) as exc:
            # retried on resume: the model may be back, the budget raised
            kind = "budget" if isinstance(exc, BudgetExceeded) else "model"
            store.append_error(RunError(key=group.task_id, kind=kind, message=str(exc), final=False))
            outcome.failed += 1
            if on_task:
                on_task(group.task_id, "failed")
            continue
        except Exception as exc:  # one bad task must not stop the run
            store.append_error(
                RunError(key=group.task_id, kind="internal", message=f"{type(exc).__name__}: {exc}")
            )
            outcome.failed += 1
            if on_task:
                on_task(group.task_id, "failed")
            continue
        store.append_result(group.task_id, result)
        outcome.done += 1
        if on_task:
            on_task(group.task_id, "done")
    write_exports(store)
    return outcome


def write_exports(store: RunStore) -> None:
    """Rewrite the run's Parquet tables and ``summary.json`` from its results (atomically)."""
    from memex_audit.results._aggregate_summary import (
        aggregate_accuracy_frame,
        aggregate_scaling_frame,
        aggregate_tasks_frame,
    )

    results = store.read_results(AggregateTaskResult)
    if not results:
        return
    store.write_parquet("aggregate_tasks", aggregate_tasks_frame(results))
    store.write_parquet("aggregate_accuracy", aggregate_accuracy_frame(results))
    store.write_parquet("aggregate_scaling", aggregate_scaling_frame(results))
    store.write_json(
        "summary.json",
        {"tasks": len(results), "accuracy": accuracy_by_policy(results)},
    )
