"""The answer types, the answer model submit() checks, and the persisted AskResult."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from memex_audit.agent._validate import validate_submission as validate
from memex_audit.ask import AnswerType, AskAnswer, AskResult, answer_context, answer_model, summarize_answers
from memex_audit.errors import UsageError
from tests.ask.policy import rollouts


@pytest.mark.parametrize(
    ("text", "kind", "labels"),
    [
        ("bool", "bool", ()),
        ("label:pass, fail,unclear", "label", ("pass", "fail", "unclear")),
        ("number", "number", ()),
        ("TEXT", "text", ()),
    ],
)
def test_answer_types_are_read(text: str, kind: str, labels: tuple[str, ...]) -> None:
    parsed = AnswerType.parse(text)
    assert (parsed.kind, parsed.labels) == (kind, labels)
    assert AnswerType.parse(str(parsed)) == parsed


@pytest.mark.parametrize("text", ["boolean", "label", "label:", "label:a,a", "number:3", "list"])
def test_unreadable_answer_types_say_what_to_write(text: str) -> None:
    with pytest.raises(UsageError, match="label"):
        AnswerType.parse(text)


def test_the_answer_model_checks_type_and_evidence_against_the_trajectory() -> None:
    target = rollouts()[1]  # the run whose tests fail: step 4 holds the test output
    model = answer_model(AnswerType.parse("label:pass,fail"))
    context = answer_context(target)

    def validate_submission(model: type[AskAnswer], value: dict[str, object]) -> tuple[Any, str | None]:
        return validate(model, value, context=context)

    good = {"answer": "fail", "evidence": [{"step": 4, "quote": "1 failed,  2 passed"}], "explanation": "x"}
    value, errors = validate_submission(model, good)
    assert errors is None and value.answer == "fail"

    _, errors = validate_submission(model, {**good, "answer": "maybe"})
    assert errors is not None and "'pass' or 'fail'" in errors
    _, errors = validate_submission(model, {**good, "evidence": [{"step": 4, "quote": "2 tests failed"}]})
    assert errors is not None
    assert "'2 tests failed' does not occur in step 4 of run-fail" in errors
    _, errors = validate_submission(model, {**good, "evidence": [{"step": 9, "quote": "failed"}]})
    assert errors is not None and "step 9 does not exist" in errors
    _, errors = validate_submission(model, {**good, "evidence": []})
    assert errors is not None and "needs at least one piece of evidence" in errors
    # "The trajectory does not show it" needs no quote, only what was checked.
    value, errors = validate_submission(model, {"answer": None, "explanation": "no test run in the steps"})
    assert errors is None and value.answer is None
    # Without evidence required, a bare answer passes; quotes are still checked.
    lenient = answer_context(target, require_evidence=False)
    assert validate(model, {**good, "evidence": []}, context=lenient)[1] is None
    assert validate(model, {**good, "evidence": [{"step": 4, "quote": "nope"}]}, context=lenient)[1]


def test_one_answer_class_per_answer_type_whatever_the_trajectory() -> None:
    label = AnswerType.parse("label:pass,fail")
    assert answer_model(label) is answer_model(AnswerType.parse("label:pass,fail"))
    assert answer_model(label) is not answer_model(AnswerType.parse("number"))
    first, second = rollouts()[0], rollouts()[1]
    answer = {"answer": "fail", "evidence": [{"step": 4, "quote": "1 failed,  2 passed"}], "explanation": "x"}
    assert validate(answer_model(label), answer, context=answer_context(second))[1] is None
    errors = validate(answer_model(label), answer, context=answer_context(first))[1]
    assert errors is not None and "does not occur in step 4" in errors
    # Read back without a context (from a run folder), an answer is not checked against anything.
    assert answer_model(label).model_validate(answer).answer == "fail"


def test_number_answers_are_finite_and_text_answers_not_empty() -> None:
    target = rollouts()[0]
    evidence = [{"step": 4, "quote": "3 passed"}]
    context = answer_context(target)

    def validate_submission(model: type[AskAnswer], value: dict[str, object]) -> tuple[Any, str | None]:
        return validate(model, value, context=context)

    number = answer_model(AnswerType.parse("number"))
    assert (
        validate_submission(number, {"answer": "3", "evidence": evidence, "explanation": "x"})[0].answer
        == 3.0
    )
    assert validate_submission(number, {"answer": float("nan"), "evidence": evidence, "explanation": "x"})[1]
    text = answer_model(AnswerType.parse("text"))
    assert validate_submission(text, {"answer": "", "evidence": evidence, "explanation": "x"})[1]


def _result(answer_type: str, answer: object) -> dict[str, object]:
    return {
        "question": "q?",
        "answer_type": answer_type,
        "answer": answer,
        "evidence": [{"step": 4, "quote": "3 passed"}],
        "explanation": "x",
        "trajectory": {"id": "run-pass", "task_id": "fix-parser"},
        "producer": {"name": "m"},
    }


def test_a_persisted_answer_keeps_its_type() -> None:
    label = AskResult.model_validate_json(
        AskResult.model_validate(_result("label:1,2", "1")).model_dump_json()
    )
    assert label.answer == "1" and label.answer_text == "1"
    number = AskResult.model_validate(_result("number", 3))
    assert number.answer == 3.0 and isinstance(number.answer, float) and number.answer_text == "3"
    flag = AskResult.model_validate(_result("bool", True))
    assert flag.answer is True and flag.answer_text == "true"
    with pytest.raises(ValidationError):
        AskResult.model_validate(_result("label:a,b", "c"))
    with pytest.raises(ValidationError, match="does not occur in step 4"):
        AskResult.model_validate(
            {**_result("bool", True), "evidence": [{"step": 4, "quote": "9 passed"}]},
            context={"trajectory": rollouts()[0]},
        )


def test_summaries_count_labels_and_spread_numbers() -> None:
    labels = [AskResult.model_validate(_result("label:a,b", v)) for v in ("a", "b", "a", None)]
    summary = summarize_answers(labels, question="q?", answer_type="label:a,b")
    assert summary.counts == {"a": 2, "b": 1, "-": 1}
    assert (summary.trajectories, summary.answered, summary.unanswered) == (4, 3, 1)
    numbers = [AskResult.model_validate(_result("number", v)) for v in (1, 2, 6)]
    stats = summarize_answers(numbers, question="q?", answer_type="number").numbers
    assert stats is not None and (stats.mean, stats.median, stats.min, stats.max) == (3.0, 2.0, 1.0, 6.0)
