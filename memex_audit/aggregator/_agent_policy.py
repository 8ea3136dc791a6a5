"""Aggregating through the MemEx agent loop: the offline verifier policy and the LLM aggregator.

Both run as agents over the same kernel and ``submit()`` validation, with the blinded rollouts in
scope and only checking functions as tools (nothing that could re-solve the task):

* ``OfflineVerifierPolicy`` is a function model whose reply is a code block calling the verifier's
  functions and submitting the resulting ``Aggregation``: deterministic, offline, recorded like a
  model's run.
* With a real model, the agent follows ``prompts/aggregator.md`` and submits an
  ``AggregatorDecision``; ``decision_to_aggregation`` turns it into an ``Aggregation`` whose
  evidence quotes are checked against the trajectories.
"""

from __future__ import annotations

from typing import Any

from memex_audit.agent import AgentSettings, Budget, render_prompt
from memex_audit.aggregator._baselines import keys_for
from memex_audit.aggregator._blind import blind_group
from memex_audit.aggregator._keys import KeyConfig, cluster_keys, key_of, keys_match
from memex_audit.aggregator._models import Aggregation, AggregatorDecision, EvidenceItem
from memex_audit.aggregator._sources import find_suspect_sources, read_sources
from memex_audit.aggregator._verifier import check_rollouts, evidence_vote, verify_evidence
from memex_audit.aggregator._vote import weighted_vote
from memex_audit.llm import FunctionModel, LLMClient, LLMRequest
from memex_audit.reading import numbers_in_text, parse_answer, values_match
from memex_audit.trajectory import TaskGroup, Trajectory, Usage

OFFLINE_MODEL = "offline-verifier"

_OFFLINE_BLOCK = """\
```python
checks = check_rollouts(task)
for c in checks:
    print(c.rollout_id, "score", c.score, "|", c.answer[:60], "|", "; ".join(c.notes[:2]))
result = evidence_vote(task, checks)
print("chosen:", result.answer[:80] if result.answer else None, "from", result.chosen_rollouts)
print(result.rationale)
submit(result)
```"""


def aggregator_instructions() -> str:
    """The LLM aggregator's instructions (``prompts/aggregator.md``)."""
    return render_prompt("memex_audit.aggregator", "aggregator")


def aggregation_task_text(group: TaskGroup) -> str:
    """The task message an aggregating agent receives."""
    lines = [
        f"Task {group.task_id}: choose the answer to trust among {len(group.trajectories)} rollouts.",
        f"Question: {group.question}"
        if group.question
        else "The question is in the rollouts' first user steps.",
        "Rollouts (id: steps, answer):",
    ]
    for t in group.trajectories:
        lines.append(f"- {t.id}: {len(t.steps)} steps, answer {key_of(t).label[:120]!r}")
    return "\n".join(lines)


def offline_verifier_reply(request: LLMRequest) -> str:
    """The verifier's code block, on every turn: the verifier is deterministic, so a retry after a
    failed submission gets the same block."""
    return _OFFLINE_BLOCK


class OfflineVerifierPolicy(FunctionModel):
    """The offline verifier as a model: a ``FunctionModel`` of ``offline_verifier_reply`` that costs nothing.

    The kernel runs the block over the blinded rollouts in scope; its ``submit(result)`` ends the run.
    """

    def __init__(self) -> None:
        super().__init__(offline_verifier_reply, model=OFFLINE_MODEL, cost_usd=0.0, keep_requests=False)


OFFLINE_SETTINGS = AgentSettings(name="aggregator", kernel="inprocess", max_turns=2)
"""How the offline verifier policy runs: in-process (its code is the library's), two turns."""


def _model_settings(max_turns: int) -> AgentSettings:
    # Model-written code runs isolated, in the subprocess kernel.
    return AgentSettings(
        name="aggregator", kernel="subprocess", max_turns=max_turns, instructions=aggregator_instructions()
    )


def scope_tools() -> list[Any]:
    """The checking functions an aggregating agent gets (none of them can re-solve the task)."""
    return [
        key_of,
        cluster_keys,
        parse_answer,
        values_match,
        numbers_in_text,
        read_sources,
        find_suspect_sources,
        check_rollouts,
        evidence_vote,
    ]


async def aggregate_with_agent(
    group: TaskGroup,
    model: LLMClient | None = None,
    config: KeyConfig | None = None,
    *,
    max_turns: int = 20,
    budget: Budget | None = None,
) -> tuple[Aggregation, Trajectory | None]:
    """Aggregate one task through the agent loop; returns the aggregation and the agent's run.

    Args:
        group: The task's rollouts; they are blinded before entering the scope.
        model: The LLM to run; ``None`` runs the offline verifier policy.
        config: How answers are keyed (the agent's helpers use the default).
        max_turns: Turn limit of the agent.
        budget: A cost budget shared with other aggregations (model runs only).
    """
    from memex_audit.agent import Agent

    blind = blind_group(group)
    offline = model is None
    client: LLMClient = OfflineVerifierPolicy() if model is None else model
    agent: Any = Agent(
        client,
        Aggregation if offline else AggregatorDecision,
        OFFLINE_SETTINGS if offline else _model_settings(max_turns),
        tools=scope_tools(),
        budget=None if offline else budget,
    )
    run = await agent.run(
        aggregation_task_text(blind),
        task=blind,
        rollouts=list(blind.trajectories),
        AggregatorDecision=AggregatorDecision,
        EvidenceItem=EvidenceItem,
    )
    usage: Usage = run.usage
    recorded = run.trajectory.model_copy(
        update={
            "task_id": f"aggregate/{group.task_id}",
            "metadata": {**run.trajectory.metadata, "aggregated_task": group.task_id},
        }
    )
    if run.output is None:
        failed = Aggregation(
            task_id=group.task_id,
            policy="verifier" if offline else "llm",
            model=client.model,
            offline=offline,
            answer=None,
            rationale="",
            n_rollouts=len(group.trajectories),
            usage=usage,
            error=f"agent stopped on {run.stop_reason}: {run.error or 'no submission'}",
        )
        return failed, recorded
    if offline:
        aggregation = run.output.model_copy(update={"model": client.model, "offline": True, "usage": usage})
        return aggregation, recorded
    return decision_to_aggregation(
        blind, run.output, model=client.model, usage=usage, config=config
    ), run.trajectory


def decision_to_aggregation(
    group: TaskGroup,
    decision: AggregatorDecision,
    *,
    model: str,
    usage: Usage | None = None,
    config: KeyConfig | None = None,
) -> Aggregation:
    """The persisted ``Aggregation`` for an agent's decision.

    Chosen ids that name no rollout are dropped; when none is left, the rollouts whose answer
    matches ``decision.answer`` are chosen. The evidence is checked quote by quote, and the vote
    distribution of the rollouts' answers is attached for comparison.
    """
    keys = keys_for(group, config)
    ids = [t.id for t in group.trajectories]
    chosen = [rid for rid in decision.chosen_rollouts if rid in ids]
    if not chosen and decision.answer is not None:
        wanted = parse_answer(decision.answer)
        for rid, key in zip(ids, keys, strict=True):
            if key.label == decision.answer or (key.value is not None and values_match(key.value, wanted)):
                chosen.append(rid)
    label = decision.answer
    if chosen:
        first_key = keys[ids.index(chosen[0])]
        label = first_key.label if not first_key.is_none else decision.answer
        # keep only rollouts that gave the chosen answer, best first
        chosen = [rid for rid in chosen if keys_match(keys[ids.index(rid)], first_key, config)] or chosen[:1]
    vote = weighted_vote(keys, ids, config=config, task_id=group.task_id)
    return Aggregation(
        task_id=group.task_id,
        policy="llm",
        model=model,
        offline=False,
        answer=label,
        chosen_rollouts=chosen,
        rationale=decision.rationale,
        evidence=verify_evidence(group, decision.evidence),
        confidence=decision.confidence,
        votes=vote.votes,
        n_rollouts=len(ids),
        usage=usage or Usage(),
    )
