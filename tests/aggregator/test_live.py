from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from memex_audit.aggregator._agent_policy import aggregate_with_agent
from memex_audit.llm import AnthropicClient
from memex_audit.loaders import load

SAMPLES = Path(__file__).resolve().parents[2] / "sample_trajectories" / "best_of_n"


@pytest.mark.live
def test_llm_aggregator_submits_a_checked_decision_on_a_sample_task() -> None:
    if not SAMPLES.is_dir():
        pytest.skip("sample_trajectories/best_of_n has not been generated")
    group = load(SAMPLES / "bon-002.jsonl").tasks()[0]
    # the shared conftest allows real model requests for tests marked live
    aggregation, run = asyncio.run(aggregate_with_agent(group, AnthropicClient(), max_turns=12))
    assert aggregation.error is None, aggregation.error
    assert aggregation.policy == "llm" and aggregation.chosen_rollouts
    assert set(aggregation.chosen_rollouts) <= {t.id for t in group.trajectories}
    assert aggregation.evidence and any(e.verified for e in aggregation.evidence)
    assert run is not None and run.steps
