from __future__ import annotations

from memex_audit.aggregator import majority_vote, oracle_choice, random_rollout, summary_only_vote

from .conftest import group_of, qa_rollout


def test_majority_picks_the_most_common_normalised_answer() -> None:
    group = group_of(
        qa_rollout("r1", "12"),
        qa_rollout("r2", "3,501.2"),
        qa_rollout("r3", "3501.2"),
        qa_rollout("r4", "$3,501.2"),
    )
    result = majority_vote(group)
    assert result.chosen_rollouts == ["r2", "r3", "r4"]
    assert [v.count for v in result.votes] == [3, 1]
    assert result.tie_break is None
    assert result.confidence == 0.75


def test_tie_is_broken_by_first_seen_and_reported() -> None:
    group = group_of(
        qa_rollout("r1", "7"),
        qa_rollout("r2", "9"),
        qa_rollout("r3", "9"),
        qa_rollout("r4", "7"),
    )
    result = majority_vote(group)
    assert result.answer == "7"
    assert result.chosen_rollouts == ["r1", "r4"]
    assert result.tie_break is not None and "tie between 2 answers" in result.tie_break
    assert "r1" in result.tie_break
    # the order of rollouts decides, so putting a "9" first flips the choice
    r1, r2, r3, r4 = group.trajectories
    flipped = majority_vote(group_of(r2, r1, r3, r4))
    assert flipped.answer == "9"


def test_seeded_tie_break_is_stable_and_independent_of_order() -> None:
    rollouts = [qa_rollout("r1", "7"), qa_rollout("r2", "9"), qa_rollout("r3", "9"), qa_rollout("r4", "7")]
    a = majority_vote(group_of(*rollouts), tie_break="seeded")
    b = majority_vote(group_of(*reversed(rollouts)), tie_break="seeded")
    assert a.answer == b.answer
    assert a.tie_break is not None and "seeded" in a.tie_break


def test_rollouts_without_an_answer_do_not_vote() -> None:
    group = group_of(qa_rollout("r1", None), qa_rollout("r2", None), qa_rollout("r3", "5"))
    assert majority_vote(group).answer == "5"
    assert majority_vote(group_of(qa_rollout("r1", None))).answer is None


def test_oracle_reads_outcomes_and_random_is_seeded() -> None:
    group = group_of(qa_rollout("r1", "1", correct=False), qa_rollout("r2", "2", correct=True))
    assert oracle_choice(group).chosen_rollouts == ["r2"]
    assert random_rollout(group, seed=3).chosen_rollouts == random_rollout(group, seed=3).chosen_rollouts


def test_summary_only_discounts_summaries_that_admit_trouble() -> None:
    unsure = qa_rollout("r1", "7")
    unsure.steps[-1].text = "I could not find the table, so I estimated 7."
    group = group_of(unsure, qa_rollout("r2", "9"))
    result = summary_only_vote(group)
    assert result.answer == "9"
    assert result.votes[0].weight == 1.0 and result.votes[1].weight == 0.5
