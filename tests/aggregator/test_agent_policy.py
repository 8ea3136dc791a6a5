from __future__ import annotations

import asyncio

from memex_audit.aggregator import offline_verifier
from memex_audit.aggregator._agent_policy import aggregate_with_agent, aggregator_instructions
from memex_audit.llm import ScriptedModel

from .conftest import group_of
from .test_verifier import _duplicated_table_task

LLM_REPLIES = [
    """```python
print([r.outcome.correct for r in rollouts], task.ground_truth, [len(r.labels) for r in rollouts])
print([key_of(r).label for r in rollouts])
```""",
    """```python
submit(AggregatorDecision(
    answer="3,620",
    chosen_rollouts=["c0", "nope"],
    rationale="c0#1 shows the March table is printed again under June in w0#1",
    evidence=[
        EvidenceItem(rollout_id="c0", step=2, quote="Agency | 3,620"),
        EvidenceItem(rollout_id="w0", step=1, quote="Federal debt, March 1985", supports=False),
        EvidenceItem(rollout_id="w0", step=1, quote="a quote that is not there", supports=False),
    ],
    confidence=0.8,
))
```""",
]


def test_offline_verifier_runs_through_the_agent_loop() -> None:
    group = group_of(*_duplicated_table_task())
    aggregation, run = asyncio.run(aggregate_with_agent(group))
    direct = offline_verifier(group)
    assert aggregation.policy == "verifier" and aggregation.model == "offline-verifier"
    assert aggregation.answer == direct.answer == "3,620"
    assert aggregation.chosen_rollouts == direct.chosen_rollouts
    assert run is not None and run.task_id == f"aggregate/{group.task_id}"
    assert any(s.code and "evidence_vote" in s.code for s in run.steps)


def test_llm_aggregator_sees_blinded_rollouts_and_its_evidence_is_checked() -> None:
    group = group_of(*_duplicated_table_task())
    model = ScriptedModel(LLM_REPLIES, model="scripted-aggregator")
    aggregation, run = asyncio.run(aggregate_with_agent(group, model))
    assert aggregation.error is None
    assert aggregation.policy == "llm" and not aggregation.offline
    assert aggregation.model == "scripted-aggregator"
    assert aggregation.answer == "3,620"
    assert aggregation.chosen_rollouts == ["c0"]  # unknown ids are dropped
    assert [e.verified for e in aggregation.evidence] == [True, True, False]
    assert aggregation.votes[0].answer == "3,501" and aggregation.votes[0].count == 5
    assert aggregation.usage.total_tokens > 0
    # the instructions are the prompt file, and no grading reached the scope
    assert "You cannot re-solve the task" in model.requests[0].system
    assert aggregator_instructions().splitlines()[0] in model.requests[0].system
    observed = "\n".join(s.output or "" for s in run.steps) if run else ""
    assert "[None, None, None, None, None, None, None, None] None [0, 0, 0, 0, 0, 0, 0, 0]" in observed
