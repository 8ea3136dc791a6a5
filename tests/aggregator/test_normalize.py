from __future__ import annotations

import pytest

from memex_audit.reading import AnswerConfig, numbers_in_text, parse_answer, values_match


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("3,501.2", "3501.2"),
        ("$3,501.2", "3501.2 dollars"),
        ("3.5 million", "3,500,000"),
        ("3.5M", "3500000"),
        ("1.2bn", "1,200 million"),
        ("2.5k", "2500"),
        ("12.5%", "12.5 percent"),
        ("12.5%", "0.125"),
        ("(45)", "-45"),
        ("  Ohio ", "ohio."),
        ("Ohio, Texas", "ohio, texas"),
        ("[1, 2]", "1; 2"),
        ("about 7", "7"),
    ],
)
def test_same_answers_match(a: str, b: str) -> None:
    assert values_match(parse_answer(a), parse_answer(b))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("3,501.2", "3531.2"),
        ("3.5 million", "3.5"),
        ("12.5%", "$12.5"),
        ("Ohio, Texas", "Texas, Ohio"),
        ("March 1985", "1985"),
        ("3,501", "3,501.2"),
        ("", ""),
    ],
)
def test_different_answers_do_not_match(a: str, b: str) -> None:
    assert not values_match(parse_answer(a), parse_answer(b))


def test_thousands_separator_is_not_a_list() -> None:
    value = parse_answer("3,501,200")
    assert value.kind == "number"
    assert value.number == 3_501_200


def test_tolerances_are_configurable() -> None:
    loose = AnswerConfig(rel_tol=1e-3)
    assert not values_match(parse_answer("3501.2"), parse_answer("3501.9"))
    assert values_match(parse_answer("3501.2"), parse_answer("3501.9"), loose)
    assert values_match(parse_answer("10"), parse_answer("10.4"), AnswerConfig(abs_tol=0.5))


def test_scale_can_be_ignored_and_list_order_relaxed() -> None:
    assert values_match(parse_answer("3.5 million"), parse_answer("3.5"), AnswerConfig(ignore_scale=True))
    unordered = AnswerConfig(ordered_lists=False)
    assert values_match(parse_answer("Ohio, Texas"), parse_answer("Texas, Ohio"), unordered)


def test_percent_fraction_matching_can_be_switched_off() -> None:
    strict = AnswerConfig(percent_matches_fraction=False)
    assert not values_match(parse_answer("12.5%"), parse_answer("0.125"), strict)


def test_numbers_in_text_reads_separators_and_signs() -> None:
    assert numbers_in_text("Total | 3,501.2 | (12) | -4") == [3501.2, -12.0, -4.0]
