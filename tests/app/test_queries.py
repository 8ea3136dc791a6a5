"""The polars queries behind the pages: failure rows and filters, usage, best-of-N cases and votes."""

from __future__ import annotations

import polars as pl

from memex_audit.aggregator import AggregateTaskResult
from memex_audit.analysis._aggregate_summary import aggregate_accuracy_frame, aggregate_scaling_frame
from memex_audit.analysis._audit_summary import audit_frame
from memex_audit.analysis._queries import (
    NOT_AUDITED,
    FailureFilter,
    category_order,
    failure_frame,
    filter_failures,
    filter_options,
    outcome_totals,
    policy_cases,
    rollout_votes,
    scaling_long,
    trajectory_table,
    usage_by,
)
from memex_audit.runs import RunStore
from memex_audit.trajectory import Outcome, Trajectory, Usage
from tests.app.conftest import AppRuns


def _traj(
    tid: str, task: str, ok: bool | None, harness: str = "memex", cost: float | None = 0.01
) -> Trajectory:
    return Trajectory(
        id=tid,
        task_id=task,
        harness=harness,
        model="m",
        outcome=Outcome(correct=ok),
        usage=Usage(input_tokens=100, output_tokens=10, cost_usd=cost),
        metadata={"study": "s"},
    )


def _audits(rows: list[tuple[str, str, str, str]]) -> pl.DataFrame:
    """``audit_frame``-shaped rows of (trajectory id, task, category, policy)."""
    frame = audit_frame([])
    extra = pl.DataFrame(
        {
            "key": [r[0] for r in rows],
            "trajectory_id": [r[0] for r in rows],
            "task_id": [r[1] for r in rows],
            "harness": ["tool_calling" if r[1] == "t2" else "memex" for r in rows],
            "model": ["m"] * len(rows),
            "taxonomy": ["memex"] * len(rows),
            "primary": [r[2] for r in rows],
            "secondary": [["execution"]] * len(rows),
            "producer": [r[3] for r in rows],
        }
    )
    return pl.concat([frame, extra], how="diagonal_relaxed").with_columns(pl.lit("run1").alias("run"))


TRAJS = [
    _traj("a", "t1", False),
    _traj("b", "t1", True),
    _traj("c", "t2", False, "tool_calling", None),
    _traj("d", "t2", None, "tool_calling", None),
]


def test_failure_frame_has_a_row_per_verdict_and_per_rollout_without_one() -> None:
    frame = failure_frame(_audits([("a", "t1", "source_selection", "offline")]), trajectory_table(TRAJS))
    by_id = {row["trajectory_id"]: row for row in frame.iter_rows(named=True)}
    assert by_id["a"]["primary"] == "source_selection" and by_id["a"]["secondary"] == "execution"
    assert by_id["a"]["study"] == "s" and by_id["a"]["policy"] == "offline"
    assert by_id["b"]["primary"] == "correct" and by_id["b"]["outcome"] == "correct"
    assert by_id["c"]["primary"] == NOT_AUDITED and by_id["c"]["outcome"] == "failed"
    assert by_id["d"]["primary"] == "ungraded"
    assert category_order(frame, {"memex": ["execution", "source_selection"]}) == [
        "source_selection",
        "correct",
        "ungraded",
        NOT_AUDITED,
    ]


def test_failure_frame_without_rollouts_is_the_verdicts() -> None:
    frame = failure_frame(_audits([("a", "t1", "execution", "offline")]))
    assert frame.height == 1 and frame["study"].to_list() == [None]


def test_filters_keep_rows_that_are_not_verdicts_for_taxonomy_and_policy() -> None:
    audits = _audits([("a", "t1", "execution", "offline"), ("c", "t2", "interpretation", "llm")])
    frame = failure_frame(audits, trajectory_table(TRAJS))
    kept = filter_failures(frame, FailureFilter(policy=("offline",)))
    assert set(kept["trajectory_id"]) == {"a", "b", "d"}
    kept = filter_failures(frame, FailureFilter(outcome=("failed",), harness=("tool_calling",)))
    assert kept["trajectory_id"].to_list() == ["c"]
    kept = filter_failures(frame, FailureFilter(category=("correct", "execution")))
    assert set(kept["trajectory_id"]) == {"a", "b"}
    assert filter_failures(frame, FailureFilter()) is frame
    options = filter_options(frame)
    assert options["policy"] == ["llm", "offline"]
    assert options["outcome"] == ["correct", "failed", "ungraded"]


def test_usage_and_failure_rate_by_model_and_harness() -> None:
    table = trajectory_table(TRAJS)
    by = usage_by(table, ["harness"]).to_dicts()
    memex, tool = by
    assert memex["trajectories"] == 2 and memex["failure_rate"] == 0.5
    assert memex["cost_usd"] == 0.02 and memex["total_tokens"] == 220
    assert tool["failure_rate"] == 1.0, "ungraded rollouts are not in the rate"
    assert tool["cost_usd"] is None, "no known cost is not a zero cost"
    totals = outcome_totals(table)
    assert totals == {
        "trajectories": 4,
        "tasks": 2,
        "correct": 1,
        "failed": 2,
        "ungraded": 1,
        "failure_rate": 2 / 3,
    }


def test_policy_cases_agree_with_the_accuracy_table(app_runs: AppRuns) -> None:
    results = RunStore.read(app_runs.aggregate).read_results(AggregateTaskResult)
    accuracy = {row["policy"]: row for row in aggregate_accuracy_frame(results).iter_rows(named=True)}
    for policy in ("verifier", "summary_only", "first", "random"):
        cases = policy_cases(results, policy)
        assert cases.height == len(results)
        counts = dict(cases.group_by("case").len().iter_rows())
        assert counts.get("rescue", 0) == accuracy[policy]["rescues"]
        assert counts.get("harm", 0) == accuracy[policy]["harms"]


def test_rollout_votes_mark_the_returned_and_trusted_rollouts(app_runs: AppRuns) -> None:
    result = RunStore.read(app_runs.aggregate).read_results(AggregateTaskResult)[0]
    votes = rollout_votes(result, "verifier")
    verifier = result.aggregations["verifier"]
    assert votes.height == result.n_rollouts
    assert votes.filter(pl.col("returned"))["rollout_id"].to_list() == [verifier.chosen]
    assert set(votes.filter(pl.col("trusted"))["rollout_id"]) == set(verifier.chosen_rollouts)
    for row in votes.iter_rows(named=True):
        same = sum(1 for r in result.rollouts if r.answer == row["answer"])
        assert row["votes"] == same


def test_scaling_long_has_one_row_per_policy_and_n(app_runs: AppRuns) -> None:
    results = RunStore.read(app_runs.aggregate).read_results(AggregateTaskResult)
    wide = aggregate_scaling_frame(results)
    long = scaling_long(wide)
    assert set(long.columns) == {"n", "tasks", "policy", "accuracy"}
    assert long.height == sum(wide[c].is_not_null().sum() for c in wide.columns if c not in ("n", "tasks"))
    assert scaling_long(wide, ["nothing"]).height == 0
