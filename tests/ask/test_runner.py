"""AskRunner through the MemEx loop with a FunctionModel: typed answers, checked quotes, resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from memex_audit.ask import AnswerType, AskResult, AskRunner, AskSelection, plan_ask
from memex_audit.llm import FunctionModel, LLMRequest
from memex_audit.runs import RunStore
from tests.ask.policy import reply, rollouts

QUESTION = "Did the tests pass in the last test run?"


def _runner(answer_type: str, model: FunctionModel, **options: object) -> AskRunner:
    return AskRunner(QUESTION, AnswerType.parse(answer_type), model=model, kernel="inprocess", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("answer_type", "expected"),
    [
        ("bool", {"run-pass": True, "run-fail": False, "run-ungraded": True}),
        ("label:pass,fail", {"run-pass": "pass", "run-fail": "fail", "run-ungraded": "pass"}),
        ("number", {"run-pass": 3.0, "run-fail": 2.0, "run-ungraded": 3.0}),
        (
            "text",
            {
                "run-pass": "Fixed: the tests pass.",
                "run-fail": "Done, all good.",
                "run-ungraded": "The parser is fixed.",
            },
        ),
    ],
)
def test_each_answer_type_gives_typed_answers_with_verified_evidence(
    tmp_path: Path, answer_type: str, expected: dict[str, object]
) -> None:
    model = FunctionModel(reply)
    store = RunStore.open(tmp_path / "run", kind="ask")
    outcome = _runner(answer_type, model).run_sync(plan_ask(rollouts()), store)
    assert (outcome.done, outcome.errors) == (3, 0)
    results = {r.trajectory.id: r for r in store.read_results(AskResult)}
    assert {k: r.answer for k, r in results.items()} == expected
    for trajectory in rollouts():
        result = results[trajectory.id]
        assert type(result.answer) is type(expected[trajectory.id])
        assert result.answer_type == answer_type and result.question == QUESTION
        assert [e.step for e in result.evidence] == [4]
        assert trajectory.steps[4].contains(result.evidence[0].quote)
        assert result.producer.turns == 2 and result.producer.prompt_version == "1"
    assert {r.trajectory.outcome for r in results.values()} == {"correct", "failed", "ungraded"}
    # Every agent run is recorded beside the answers, as a trajectory.
    assert len(store.read_run_trajectories()) == 3


def test_a_wrong_quote_is_rejected_with_the_reason_then_fixed(tmp_path: Path) -> None:
    model = FunctionModel(lambda request: reply(request, wrong_quote_first=True))
    store = RunStore.open(tmp_path / "run", kind="ask")
    units = plan_ask(rollouts(), AskSelection.parse(["id=run-pass"]))
    outcome = _runner("bool", model).run_sync(units, store)
    assert (outcome.done, outcome.errors) == (1, 0)
    rejection = model.requests[2].messages[-1].text()
    assert "submit() rejected the value" in rejection
    assert "'3 tests passed' does not occur in step 4 of run-pass" in rejection
    assert "quote text exactly as it appears in that step" in rejection and "retries left" in rejection
    (result,) = store.read_results(AskResult)
    assert result.answer is True and result.evidence[0].quote == "3 passed in 0.12s"
    assert result.producer.turns == 3


def test_a_rerun_skips_what_is_answered_and_adds_no_duplicates(tmp_path: Path) -> None:
    model = FunctionModel(reply)
    run = tmp_path / "run"
    first = _runner("bool", model).run_sync(
        plan_ask(rollouts(), AskSelection(limit=2)), RunStore.open(run, kind="ask")
    )
    assert (first.done, first.skipped) == (2, 0)
    sent = len(model.requests)
    again = _runner("bool", model).run_sync(
        plan_ask(rollouts(), AskSelection(limit=2)), RunStore.open(run, kind="ask")
    )
    assert (again.done, again.skipped) == (0, 2) and len(model.requests) == sent
    more = _runner("bool", model).run_sync(plan_ask(rollouts()), RunStore.open(run, kind="ask"))
    assert (more.done, more.skipped) == (1, 2)
    keys = [
        line.split('"key":"')[1].split('"')[0] for line in (run / "results.jsonl").read_text().splitlines()
    ]
    assert sorted(keys) == ["run-fail", "run-pass", "run-ungraded"]


def test_a_run_out_of_turns_is_an_error_with_its_cause(tmp_path: Path) -> None:
    def never_submits(request: LLMRequest) -> str:
        return "Looking.\n```python\nprint(len(target.steps))\n```\n<end_code>"

    store = RunStore.open(tmp_path / "run", kind="ask")
    outcome = _runner("bool", FunctionModel(never_submits), max_turns=2).run_sync(
        plan_ask(rollouts()[:1]), store
    )
    assert (outcome.done, outcome.errors) == (0, 1)
    (error,) = store.read_errors()
    assert error.kind == "max_turns" and error.final and error.key == "run-pass"


def test_selection_by_outcome_sample_and_limit() -> None:
    trajectories = rollouts()
    assert [u.key for u in plan_ask(trajectories, AskSelection.parse(["outcome=failed,ungraded"]))] == [
        "run-fail",
        "run-ungraded",
    ]
    assert [u.key for u in plan_ask(trajectories, AskSelection.parse(limit=1))] == ["run-pass"]
    sampled = [u.key for u in plan_ask(trajectories, AskSelection.parse(sample=2, seed=3))]
    assert len(sampled) == 2 and sampled == [
        u.key for u in plan_ask(trajectories, AskSelection.parse(sample=2, seed=3))
    ]
    assert plan_ask(trajectories, AskSelection.parse(["model=gpt-*"])) == []
