"""State changes, their gold diff and grading record, and domain packs (τ airline)."""

from __future__ import annotations

from typing import Any

import pytest

from memex_audit.reading import (
    gold_action_diff,
    pack_for,
    policy_findings,
    register_pack,
    reward_view,
    state_changes,
    unrecovered_failures,
    unregister_pack,
)
from memex_audit.reading._packs import PolicyFinding
from memex_audit.trajectory import Trajectory
from tests.factories import USER, airline_run, cancel_run, reservation
from tests.paths import shared_data


def test_state_changes_record_confirmation_and_invented_identifiers() -> None:
    run = airline_run(
        [
            ("user", "Please look at reservation ABC123."),
            ("call", ("get_reservation_details", {"reservation_id": "ABC123"}, reservation())),
            ("user", "No, wait. Not yet."),
            ("call", ("cancel_reservation", {"reservation_id": "ABC123"}, reservation())),
            ("user", "No problem, that's fine. Yes, go ahead."),
            ("call", ("cancel_reservation", {"reservation_id": "ZZZ999"}, "Error: reservation not found")),
        ]
    )
    first, second = state_changes(run)
    assert (first.name, first.confirmed, first.unseen, first.failed) == (
        "cancel_reservation",
        False,
        (),
        False,
    )
    assert second.confirmed and second.unseen == ("ZZZ999",) and second.failed
    # the failed cancel came last: nothing made it good
    assert [c.step for c in unrecovered_failures(run)] == [second.step]


def test_a_failed_write_made_good_later_is_recovered() -> None:
    run = airline_run(
        [
            ("user", "Yes, book it."),
            (
                "call",
                ("book_reservation", {"user_id": "mia_li_3668"}, "Error: payment amount does not add up"),
            ),
            ("user", "Yes."),
            ("call", ("book_reservation", {"user_id": "mia_li_3668"}, reservation())),
            (
                "call",
                ("update_reservation_baggages", {"reservation_id": "ABC123"}, "Error: not enough balance"),
            ),
        ]
    )
    assert [c.name for c in unrecovered_failures(run)] == ["update_reservation_baggages"]


def test_gold_diff_reports_missing_extra_and_wrong_arguments_and_ignores_gold_reads() -> None:
    gold = [
        {"name": "get_reservation_details", "arguments": {"reservation_id": "ABC123"}},
        {
            "name": "update_reservation_flights",
            "arguments": {
                "reservation_id": "ABC123",
                "flights": [{"flight_number": "HAT136", "date": "2024-05-20"}],
                "payment_id": "gift_card_1",
            },
        },
        {"name": "send_certificate", "arguments": {"user_id": "mia_li_3668", "amount": 100}},
    ]
    run = airline_run(
        [
            ("user", "Yes"),
            (
                "call",
                (
                    "update_reservation_flights",
                    {
                        "reservation_id": "abc123",
                        # a flight object that also carries its price still matches on the gold keys
                        "flights": [{"flight_number": "HAT136", "date": "2024-05-20", "price": 152}],
                        "payment_id": "credit_card_4421486",
                    },
                    reservation(),
                ),
            ),
            ("call", ("cancel_reservation", {"reservation_id": "ABC123"}, reservation())),
        ],
        gold=gold,
    )
    diff = gold_action_diff(run)
    assert diff is not None and not diff.clean
    assert diff.missing == [2]
    (wrong,) = diff.wrong_arguments
    assert wrong.name == "update_reservation_flights" and wrong.keys == ("payment_id",)
    assert wrong.expected == {"payment_id": "gift_card_1"}
    assert [c.name for c in diff.extra] == ["cancel_reservation"]
    assert gold_action_diff(airline_run([])) is None  # no gold, no diff


def test_reward_view_reads_tau2_reward_info() -> None:
    details = {
        "db_check": {"db_match": False, "db_reward": 0.0},
        "reward_basis": ["DB", "COMMUNICATE"],
        "reward_breakdown": {"DB": 0.0, "COMMUNICATE": 1.0},
        "action_checks": [
            {"action": {"name": "get_reservation_details"}, "action_match": False},
            {"action": {"name": "cancel_reservation"}, "action_match": False},
            {"action": {"name": "send_certificate"}, "action_match": True},
        ],
        "communicate_checks": [{"info": "305", "met": False}],
    }
    view = reward_view(airline_run([], details=details))
    assert view is not None and view.state_failed
    assert view.failed_writes == ["cancel_reservation"] and view.failed_reads == ["get_reservation_details"]
    assert view.communicate_failed == ["305"] and view.breakdown["DB"] == 0.0
    assert reward_view(airline_run([])) is None


def test_tau_airline_pack_flags_a_cancellation_the_policy_does_not_allow() -> None:
    run = cancel_run(reservation())
    assert pack_for(run) is not None and pack_for(run).name == "tau_airline"  # type: ignore[union-attr]
    (finding,) = policy_findings(run)
    assert finding.kind == "policy_violation" and finding.rule == "cancel_not_allowed"
    assert finding.quote == "ABC123" and run.steps[finding.step].contains(finding.quote)


@pytest.mark.parametrize(
    "fields",
    [
        {"created_at": "2024-05-15T09:00:00"},  # booked within the last 24 hours
        {"insurance": "yes"},
        {"cabin": "business"},
    ],
)
def test_tau_airline_pack_allows_a_cancellation_the_policy_allows(fields: dict[str, Any]) -> None:
    assert policy_findings(cancel_run(reservation(**fields))) == []


def test_tau_airline_pack_checks_bags_against_the_membership_allowance() -> None:
    run = airline_run(
        [
            ("user", "I'm mia_li_3668, add 2 bags to ABC123."),
            ("call", ("get_user_details", {"user_id": "mia_li_3668"}, USER)),
            ("call", ("get_reservation_details", {"reservation_id": "ABC123"}, reservation())),
            ("user", "Yes, please."),
            (
                "call",
                (
                    "update_reservation_baggages",
                    {
                        "reservation_id": "ABC123",
                        "total_baggages": 3,
                        "nonfree_baggages": 1,
                        "payment_id": "credit_card_4421486",
                    },
                    reservation(total_baggages=3, nonfree_baggages=1),
                ),
            ),
        ]
    )
    (finding,) = policy_findings(run)
    assert finding.kind == "computed_mismatch" and finding.rule == "nonfree_bags_miscounted"
    assert "3 free" in finding.detail  # gold member, economy: 3 free bags per passenger


def test_packs_are_registered_and_looked_up_by_tool_names() -> None:
    class ShopPack:
        name = "test_shop"
        read_only = frozenset({"get_order"})
        state_changing = frozenset({"refund_order"})

        def claims(self, trajectory: Trajectory) -> float:
            names = {c.name for s in trajectory.steps for c in s.tool_calls}
            return 1.0 if "refund_order" in names else 0.0

        def check_state_changes(self, trajectory: Trajectory) -> list[PolicyFinding]:
            return [
                PolicyFinding(
                    step=1, tool="refund_order", rule="r", kind="policy_violation", detail="d", quote="q"
                )
            ]

    register_pack(ShopPack())
    try:
        run = airline_run([("user", "refund please"), ("call", ("refund_order", {"order_id": "O1"}, "ok"))])
        assert pack_for(run) is not None and pack_for(run).name == "test_shop"  # type: ignore[union-attr]
        with pytest.raises(ValueError):
            register_pack(ShopPack())
    finally:
        unregister_pack("test_shop")
    assert pack_for(airline_run([("call", ("refund_order", {}, "ok"))])) is None


def test_tau_airline_findings_fall_on_failed_rollouts_only() -> None:
    from memex_audit.loaders import load

    loaded = load(shared_data("tau2_bench", "airline_runs"))
    flagged = [t for t in loaded.trajectories if policy_findings(t)]
    assert len(flagged) >= 20
    assert all(t.success is False for t in flagged)
