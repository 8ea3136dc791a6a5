"""Customer-service audits: labels the evidence carries, checked against τ² reward_info on real runs."""

from __future__ import annotations

from typing import Any

import pytest

from memex_audit.analysis import reward_agreement
from memex_audit.auditor._classify import verdict_from_signals
from memex_audit.auditor._signals import detect_signals
from memex_audit.taxonomy import load_taxonomy
from memex_audit.trajectory import Trajectory
from tests.factories import USER, airline_run, cancel_run, reservation
from tests.paths import shared_data

TAXONOMY = load_taxonomy("customer_service")


def _primary(run: Trajectory) -> tuple[str, list[str]]:
    signals = detect_signals(run, ground_truth=run.ground_truth)
    return verdict_from_signals(signals, TAXONOMY, run).primary, [s.kind for s in signals]


def _update(payment_id: str, reservation_id: str = "ABC123") -> Trajectory:
    gold = [
        {
            "name": "update_reservation_baggages",
            "arguments": {
                "reservation_id": "ABC123",
                "total_baggages": 2,
                "nonfree_baggages": 0,
                "payment_id": "credit_card_4421486",
            },
        }
    ]
    return airline_run(
        [
            ("user", "Add a bag to ABC123 or XYZ789, I'm mia_li_3668."),
            ("call", ("get_reservation_details", {"reservation_id": reservation_id}, reservation())),
            ("user", "Yes, go ahead, use gift_card_7 or credit_card_4421486."),
            (
                "call",
                (
                    "update_reservation_baggages",
                    {
                        "reservation_id": reservation_id,
                        "total_baggages": 2,
                        "nonfree_baggages": 0,
                        "payment_id": payment_id,
                    },
                    reservation(total_baggages=2),
                ),
            ),
        ],
        gold=gold,
    )


def test_a_payment_method_id_is_an_argument_not_the_wrong_entity() -> None:
    primary, kinds = _primary(_update("gift_card_7"))
    assert primary == "wrong_arguments" and "wrong_entity" not in kinds


def test_a_different_reservation_is_the_wrong_entity() -> None:
    primary, _ = _primary(_update("credit_card_4421486", reservation_id="XYZ789"))
    assert primary == "wrong_user_or_entity"


def test_a_cancellation_the_policy_forbids_is_a_policy_violation() -> None:
    primary, kinds = _primary(cancel_run(reservation()))
    assert primary == "policy_violation" and "policy_violation" in kinds


def test_a_write_without_the_users_yes_is_a_policy_violation_when_nothing_stronger_fired() -> None:
    primary, kinds = _primary(cancel_run(reservation(insurance="yes"), answer="My user id is mia_li_3668."))
    assert "unconfirmed_write" in kinds and primary == "policy_violation"


def _booking(told: str, amounts: list[int], gold_amount: int = 5) -> Trajectory:
    gold: list[dict[str, Any]] = [
        {
            "name": "book_reservation",
            "arguments": {
                "user_id": "mia_li_3668",
                "payment_methods": [{"payment_id": "x", "amount": gold_amount}],
            },
        }
    ]
    return airline_run(
        [
            ("user", "Book HAT136 for me, I'm mia_li_3668; use my 250 certificate first."),
            ("call", ("get_user_details", {"user_id": "mia_li_3668"}, USER)),
            (
                "call",
                (
                    "search_direct_flight",
                    {"origin": "JFK", "destination": "SEA", "date": "2024-05-20"},
                    [
                        {"flight_number": "HAT136", "prices": {"economy": 152}},
                        {"flight_number": "HAT039", "prices": {"economy": 153}},
                    ],
                ),
            ),
            ("assistant", told),
            ("user", "Yes, book it."),
            (
                "call",
                (
                    "book_reservation",
                    {
                        "user_id": "mia_li_3668",
                        "payment_methods": [{"payment_id": "x", "amount": a} for a in amounts],
                    },
                    "Error: payment amount does not add up",
                ),
            ),
        ],
        gold=gold,
    )


def test_a_computed_remainder_or_sum_is_not_hallucinated() -> None:
    # 152 + 153 = 305 in total; 305 - 250 = 55 left for the card: both follow from shown values
    _, kinds = _primary(
        _booking("The total is $305; after the certificate, $55 goes on the card.", [250, 55])
    )
    assert "unsupported_amount" not in kinds


def test_an_amount_equal_to_the_expected_one_is_not_hallucinated() -> None:
    _, kinds = _primary(_booking("You will pay $37 on the card.", [250, 37], gold_amount=37))
    assert "unsupported_amount" not in kinds


def test_a_paid_amount_nothing_supports_is_hallucinated_information() -> None:
    run = _booking("I'll book HAT136 and HAT039 for you now.", [250, 418])
    _, kinds = _primary(run)
    assert "unsupported_amount" in kinds
    signal = next(
        s for s in detect_signals(run, ground_truth=run.ground_truth) if s.kind == "unsupported_amount"
    )
    assert signal.quote == "418" and run.steps[signal.step].contains(signal.quote)


@pytest.mark.slow
def test_classified_labels_agree_with_reward_info_nine_times_in_ten() -> None:
    from memex_audit.loaders import load

    loaded = load(shared_data("tau2_bench", "airline_runs"))
    checked, right = reward_agreement(loaded.trajectories, TAXONOMY)
    assert checked >= 100
    assert right / checked >= 0.9
