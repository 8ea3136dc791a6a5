from __future__ import annotations

from pathlib import Path

import pytest

from memex_audit.aggregator import accuracy_by_policy, aggregate_task
from memex_audit.loaders import load
from tests.paths import committed

SAMPLES = Path(__file__).resolve().parents[2] / "sample_trajectories" / "best_of_n"


@pytest.mark.slow
def test_verifier_beats_majority_on_the_best_of_n_samples() -> None:
    groups = load(committed(SAMPLES)).tasks()
    assert len(groups) >= 20 and all(len(g) == 8 for g in groups)
    results = [aggregate_task(g, scaling=False) for g in groups]
    accuracy = accuracy_by_policy(results)
    assert accuracy["verifier"] > accuracy["majority"] + 0.1
    harms = [r.task_id for r in results if (r.correct["verifier"] or 0) < (r.correct["majority"] or 0)]
    assert not harms
    # every verifier decision cites steps whose quotes are really there
    for r in results:
        agg = r.aggregations["verifier"]
        assert agg.evidence and all(e.verified for e in agg.evidence), r.task_id
