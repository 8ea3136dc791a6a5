from __future__ import annotations

from memex_audit.aggregator import blind_group, majority_vote, offline_verifier
from memex_audit.reading._tables import parse_table, row_relation_breaks, shifted_copies

from .conftest import group_of, qa_rollout

HEAD = """Table OFS-1. Estimated Ownership of Public Debt Securities
[In billions of dollars]
Period                Total       Federal    Commercial         Other
------------  ------------- ------------- ------------- -------------
"""

SEPTEMBER = (
    HEAD
    + """1987 - Mar           2,328.9         216.4         196.4       1,916.1
       Apr           2,349.3         216.6         220.2       1,930.5
       May r         2,361.1         215.9         202.1       1,943.1
       Jun           2,379.0         215.0         198.4       1,965.6
       Jul p         2,394.8         218.8         203.8       1,972.2
"""
)

JUNE = (
    HEAD
    + """1986 - Dec           2,276.6         210.0         201.6       1,865.0
1987 - Jan           2,293.3         210.2         198.4       1,884.7
       Feb           2,309.3         216.6         200.2       1,892.5
       Mar           2,328.9         216.4         196.4       1,916.1
       Apr           2,349.3         216.6         202.2       1,930.5
"""
)


def test_rows_carry_the_year_and_drop_flags() -> None:
    table = parse_table(SEPTEMBER)
    assert table is not None
    assert table.title.startswith("Table OFS-1")
    assert [r.label for r in table.rows] == ["1987 mar", "1987 apr", "1987 may", "1987 jun", "1987 jul"]
    assert table.rows[1].values == (2349.3, 216.6, 220.2, 1930.5)


def test_a_row_breaking_the_total_is_found() -> None:
    table = parse_table(SEPTEMBER)
    assert table is not None
    (broken,) = row_relation_breaks(table)
    assert broken.label == "1987 apr"
    assert "c1 = c2 + c3 + c4" in broken.relation
    assert abs(broken.gap + 18.0) < 1e-6
    clean = parse_table(JUNE)
    assert clean is not None and row_relation_breaks(clean) == ()


def test_rows_reprinted_under_new_labels_are_found() -> None:
    reprint = SEPTEMBER.replace("1987 - Mar", "1987 - Jun").replace("       Apr ", "       Jul ")
    copy, original = parse_table(reprint), parse_table(SEPTEMBER)
    assert copy is not None and original is not None
    assert ("1987 jun", "1987 mar") in shifted_copies(copy, original)


def test_verifier_rejects_the_majority_that_used_a_misprinted_cell() -> None:
    # commercial banks, Mar -> Apr 1987: (202.2 - 196.4) / 196.4 = 3.0%; the September issue
    # misprints Apr as 220.2 (its row no longer adds up), giving 12.1%
    wrong = [
        qa_rollout(
            f"w{i}", "12.1%", [("t = read_table('TB-1987-09', 'OFS-1')\nprint(t)", SEPTEMBER)], correct=False
        )
        for i in range(5)
    ]
    right = [
        qa_rollout(f"c{i}", "3.0%", [("t = read_table('TB-1987-06', 'OFS-1')\nprint(t)", JUNE)], correct=True)
        for i in range(3)
    ]
    group = blind_group(group_of(*wrong[:3], *right, *wrong[3:]))
    assert majority_vote(group).answer == "12.1%"
    result = offline_verifier(group)
    assert result.answer == "3.0%"
    w0 = next(c for c in result.checks if c.rollout_id == "w0")
    assert w0.score == 0.0
    assert any("220.2 differs from other sources" in n for n in w0.notes)


def test_figures_revised_by_a_later_issue_outweigh_the_preliminary_majority() -> None:
    # "holdings of commercial banks in May 1987, final revised figure": the June issue prints a
    # preliminary 198.0 (row May p); the September issue prints the revised 202.1
    june = JUNE + "       May p         2,361.1         211.0         198.0       1,952.1\n"
    prelim = [
        qa_rollout(
            f"p{i}", "198.0", [("t = read_table('TB-1987-06', 'OFS-1')\nprint(t)", june)], correct=False
        )
        for i in range(4)
    ]
    final = [
        qa_rollout(
            f"f{i}", "202.1", [("t = read_table('TB-1987-09', 'OFS-1')\nprint(t)", SEPTEMBER)], correct=True
        )
        for i in range(2)
    ]
    group = blind_group(group_of(*prelim, *final))
    assert majority_vote(group).answer == "198.0"
    result = offline_verifier(group)
    assert result.answer == "202.1"
    p0 = next(c for c in result.checks if c.rollout_id == "p0")
    assert any("revised by a later issue" in n and "198 -> 202.1" in n for n in p0.notes)
