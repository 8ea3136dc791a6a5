from __future__ import annotations

from memex_audit.aggregator import (
    blind_group,
    check_rollouts,
    majority_vote,
    offline_verifier,
)

from .conftest import group_of, qa_rollout, tau_rollout

MARCH = """Table FD-1. Federal debt, March 1985 (millions of dollars)
Marketable | 1,247,402
Nonmarketable | 361,873
Agency | 3,501
Total | 1,612,776"""

JUNE = """Table FD-1. Federal debt, June 1985 (millions of dollars)
Marketable | 1,310,215
Nonmarketable | 378,401
Agency | 3,620
Total | 1,692,236"""


def _duplicated_table_task() -> list:
    # The June 1985 bulletin's FD-1 is a copy of the March table (a corrupted source). Five
    # rollouts read it and answer 3,501; three read the June figure from the September bulletin,
    # one of them also opening the March bulletin, where the same table belongs.
    wrong = [
        qa_rollout(
            f"w{i}", "3,501", [("t = read_table('bulletin_1985_06', 'FD-1')\nprint(t)", MARCH)], correct=False
        )
        for i in range(5)
    ]
    right = [
        qa_rollout(
            f"c{i}",
            "3,620",
            [("t = read_table('bulletin_1985_09', 'FD-1', period='1985-06')\nprint(t)", JUNE)],
            correct=True,
        )
        for i in range(3)
    ]
    right[0].steps.insert(
        1,
        right[0]
        .steps[1]
        .model_copy(update={"code": "t = read_table('bulletin_1985_03', 'FD-1')\nprint(t)", "output": MARCH}),
    )
    for i, step in enumerate(right[0].steps):
        step.index = i
    return [wrong[0], right[0], wrong[1], wrong[2], right[1], wrong[3], right[2], wrong[4]]


def test_verifier_chooses_the_minority_when_the_majority_read_a_duplicated_table() -> None:
    group = group_of(*_duplicated_table_task())
    blind = blind_group(group)
    assert majority_vote(blind).answer == "3,501"
    result = offline_verifier(blind)
    assert result.answer == "3,620"
    assert set(result.chosen_rollouts) == {"c0", "c1", "c2"}
    assert result.policy == "verifier"
    # the rationale and the evidence cite steps; every cited quote is in its step
    assert "#" in result.rationale or "step" in result.rationale
    assert result.evidence and all(e.verified for e in result.evidence)
    assert any(not e.supports for e in result.evidence)
    wrong_checks = [c for c in result.checks if c.rollout_id.startswith("w")]
    assert all(c.suspect_source_steps for c in wrong_checks)
    assert all(any("1985_03" in n or "March" in n or "march" in n for n in c.notes) for c in wrong_checks)


def test_verifier_never_reads_outcomes() -> None:
    rollouts = _duplicated_table_task()
    flipped = [
        r.model_copy(update={"outcome": r.outcome.model_copy(update={"correct": not r.outcome.correct})})
        for r in rollouts
    ]
    a = offline_verifier(group_of(*rollouts))
    b = offline_verifier(group_of(*flipped))
    assert a.answer == b.answer and a.chosen_rollouts == b.chosen_rollouts


def test_unsupported_answers_and_errors_weigh_less() -> None:
    table = "Receipts | 3,501 | 2,200 | 1,301 | 900"
    retyped = qa_rollout("r1", "3531", [("print(get('receipts'))", table)])
    copied = qa_rollout("r2", "3,501", [("print(get('receipts'))", table)])
    derived = qa_rollout(
        "r3", "1,301", [("print(get('receipts', 1990))", "Receipts | 3,501 | 2,200 | 77 | 900")]
    )
    crashed = qa_rollout(
        "r4",
        "3,501",
        [
            ("print(get('receipts'))", "Traceback (most recent call last):\nKeyError: 'receipts'"),
            ("print(get('receipts'))", table),
        ],
        metadata={"stop_reason": "max_turns"},
    )
    checks = {c.rollout_id: c for c in check_rollouts(group_of(retyped, copied, derived, crashed))}
    assert checks["r1"].support == "unsupported"
    assert checks["r2"].support == "present" and checks["r2"].support_steps == [1]
    assert checks["r3"].support == "derived"
    assert checks["r4"].limit_hit and checks["r4"].error_steps == [1]
    assert checks["r2"].score > checks["r3"].score > checks["r1"].score
    assert checks["r2"].score > checks["r4"].score


def test_totals_that_do_not_add_up_mark_the_source() -> None:
    bad = "Table X, 1990\nA | 10 | 20\nB | 5 | 5\nTotal | 99 | 25"
    r = qa_rollout("r1", "99", [("print(read('x', 1990))", bad)])
    check = check_rollouts(group_of(r))[0]
    assert check.suspect_source_steps == [1]
    assert any("sum to 15" in n for n in check.notes)


def test_action_rollouts_are_checked_for_grounding_and_confirmation() -> None:
    details = '{"reservation_id": "ABC123", "payment_methods": {"credit_card_1": {}}}'
    good = tau_rollout(
        "g",
        [
            ("get_reservation_details", {"reservation_id": "ABC123"}, details),
            ("cancel_reservation", {"reservation_id": "ABC123"}, '{"status": "cancelled"}'),
        ],
    )
    invented = tau_rollout(
        "i",
        [("cancel_reservation", {"reservation_id": "ZZZ999"}, '{"status": "cancelled"}')],
        user_says="Hmm, what are my options?",
    )
    checks = {c.rollout_id: c for c in check_rollouts(group_of(good, invented))}
    assert checks["g"].support == "grounded" and not checks["g"].unconfirmed_steps
    assert checks["i"].support == "unsupported" and checks["i"].unconfirmed_steps
    assert checks["g"].score > checks["i"].score
