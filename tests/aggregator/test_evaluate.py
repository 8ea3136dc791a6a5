from __future__ import annotations

from memex_audit.aggregator import aggregate_task, scaling_curve
from memex_audit.aggregator._evaluate import subset_sizes

from .conftest import group_of, qa_rollout


def test_subset_sizes_double_up_to_n() -> None:
    assert subset_sizes(8) == [1, 2, 4, 8]
    assert subset_sizes(7) == [1, 2, 4, 7]
    assert subset_sizes(1) == [1]


def _task() -> list:
    table = "Receipts | 3,501 | 2,200 | 1,301 | 900"
    return [
        qa_rollout("r0", "3531", [("print(get('receipts'))", table)], correct=False),
        qa_rollout("r1", "3531", [("print(get('receipts'))", table)], correct=False),
        qa_rollout("r2", "3,501", [("print(get('receipts'))", table)], correct=True),
        qa_rollout("r3", "3501", [("print(get('receipts'))", table)], correct=True),
        qa_rollout("r4", "3531", [("print(get('receipts'))", table)], correct=False),
    ]


def test_aggregate_task_grades_each_policy_by_the_returned_rollout() -> None:
    result = aggregate_task(group_of(*_task()), max_subsets=5)
    assert result.correct["pass@1"] == 0.4
    assert result.correct["oracle"] == 1.0
    assert result.correct["majority"] == 0.0  # three rollouts retyped 3,501 as 3531
    assert result.correct["verifier"] == 1.0  # 3531 appears in no output
    assert result.aggregations["verifier"].chosen_rollouts == ["r2", "r3"]
    assert [r.correct for r in result.rollouts] == [False, False, True, True, False]
    assert [p.n for p in result.scaling] == [1, 2, 4, 5]


def test_scaling_curve_is_seeded_and_bounded_by_oracle() -> None:
    group = group_of(*_task())
    a = scaling_curve(group, max_subsets=3, seed=1)
    b = scaling_curve(group, max_subsets=3, seed=1)
    assert a == b
    for point in a:
        assert point.subsets <= 5
        assert point.accuracy["verifier"] <= point.accuracy["oracle"] + 1e-9
    assert a[0].accuracy["majority"] == a[0].accuracy["pass@1"]
