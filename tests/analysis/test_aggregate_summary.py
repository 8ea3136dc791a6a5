from __future__ import annotations

from memex_audit.aggregator import AggregateTaskResult, Aggregation, ScalingPoint
from memex_audit.analysis._aggregate_summary import (
    aggregate_accuracy_frame,
    aggregate_scaling_frame,
    aggregate_tasks_frame,
)


def _result(
    task: str, majority: float, verifier: float, points: list[tuple[int, float, float]]
) -> AggregateTaskResult:
    aggs = {
        p: Aggregation(task_id=task, policy=p, answer=f"{p}-answer")  # type: ignore[arg-type]
        for p in ("majority", "verifier")
    }
    return AggregateTaskResult(
        task_id=task,
        n_rollouts=4,
        rollouts=[],
        aggregations=aggs,
        correct={"pass@1": 0.5, "majority": majority, "verifier": verifier, "oracle": 1.0},
        scaling=[ScalingPoint(n=n, subsets=3, accuracy={"majority": m, "verifier": v}) for n, m, v in points],
    )


RESULTS = [
    _result("t1", 0.0, 1.0, [(1, 0.5, 0.5), (2, 0.4, 0.6)]),
    _result("t2", 1.0, 0.0, [(1, 0.5, 0.5), (2, 0.8, 0.6)]),
    _result("t3", 1.0, 1.0, [(1, 0.5, 0.5)]),
]


def test_accuracy_table_counts_rescues_and_harms_against_majority() -> None:
    frame = aggregate_accuracy_frame(RESULTS)
    rows = {r["policy"]: r for r in frame.iter_rows(named=True)}
    assert list(rows) == ["pass@1", "majority", "verifier", "oracle"]
    assert rows["majority"]["accuracy"] == 2 / 3 and rows["majority"]["rescues"] is None
    assert rows["verifier"]["rescues"] == 1 and rows["verifier"]["harms"] == 1
    assert rows["oracle"]["rescues"] == 1 and rows["oracle"]["harms"] == 0


def test_scaling_table_averages_tasks_that_reach_each_size() -> None:
    frame = aggregate_scaling_frame(RESULTS)
    rows = {r["n"]: r for r in frame.iter_rows(named=True)}
    assert rows[1]["tasks"] == 3 and rows[2]["tasks"] == 2
    assert abs(rows[2]["majority"] - 0.6) < 1e-9 and abs(rows[2]["verifier"] - 0.6) < 1e-9


def test_tasks_table_has_one_row_per_task_with_answers() -> None:
    frame = aggregate_tasks_frame(RESULTS)
    assert frame.height == 3
    assert frame["verifier_answer"].to_list() == ["verifier-answer"] * 3
    assert frame.filter(frame["task_id"] == "t1")["verifier"].item() == 1.0
