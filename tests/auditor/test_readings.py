"""Reading signals: values taken from printed tables, compared with what correct siblings took."""

from __future__ import annotations

from memex_audit.auditor import detect_signals, verdict_from_signals
from memex_audit.auditor._readings import (
    code_picks,
    detect_bad_copy,
    detect_preliminary,
    detect_wrong_field,
    table_rows,
)
from memex_audit.taxonomy import load_taxonomy
from tests.factories import memex_traj, tool_traj

MEMEX = load_taxonomy("memex")

MARCH = """Table FFO-2. Budget Receipts
Period          Withheld      Other       Gross
1986 - Oct        32,511      3,793       4,339
       Nov r      32,541      3,706       4,376
       Dec        33,140      4,027      18,092
1987 - Jan        34,032      9,251       4,296
       Feb p      32,479      3,948       4,618
p Preliminary.  r Revised."""

JUNE = """Table FFO-2. Budget Receipts
Period          Withheld      Other       Gross
1986 - Dec        33,140      4,027      18,092
1987 - Jan        34,032      9,251       4,296
       Feb r      31,763      4,035       4,527
       Mar        31,547      4,043      16,130
p Preliminary.  r Revised."""


def _memex(traj_id: str, feb_from: str, column: str = "Gross", *, correct: bool = False, answer: str = "0"):
    return memex_traj(
        traj_id,
        [
            ("t1 = read_table('TB-1987-03', 'FFO-2')\nprint(t1)", MARCH),
            ("t2 = read_table('TB-1987-06', 'FFO-2')\nprint(t2)", JUNE),
            (f"feb = {feb_from}.value('Feb 1987', 'Corporation', '{column}')\nprint(feb)", "done"),
        ],
        answer=answer,
        truth="4,527",
        correct=correct,
    )


def test_table_rows_and_code_picks() -> None:
    traj = _memex("x", "t1")
    rows = list(table_rows(traj))
    assert [r.label for r in rows if r.preliminary] == ["Feb p"]
    assert rows[0].figures == ("32,511", "3,793", "4,339")
    (pick,) = code_picks(traj)
    assert (pick.source, pick.label, pick.fields) == (
        ("TB-1987-03", "FFO-2"),
        "Feb 1987",
        ("Corporation", "Gross"),
    )


def test_preliminary_row_picked_by_label_where_siblings_took_the_revised_one() -> None:
    siblings = [_memex("ok1", "t2", correct=True), _memex("ok2", "t2", correct=True)]
    bad = _memex("bad", "t1")
    (signal,) = detect_preliminary(bad, siblings)
    assert (signal.kind, signal.step, signal.quote) == ("preliminary_value", 2, "Feb p")
    assert verdict_from_signals(detect_signals(bad, siblings), MEMEX, bad).primary == "interpretation"
    assert detect_preliminary(siblings[0], [bad, siblings[1]]) == []


def test_preliminary_figure_copied_into_a_calculation() -> None:
    traj = tool_traj(
        "tc",
        [
            ("read_table", {"doc_id": "TB-1987-03"}, MARCH),
            ("python_exec", {"code": "print(4339 + 4618)"}, "8957"),
        ],
        answer="8,957",
        truth="8,866",
    )
    (signal,) = detect_preliminary(traj, [])
    assert signal.quote == "Feb p" and traj.steps[signal.step].contains("Feb p")


def test_neighbouring_column_is_wrong_field() -> None:
    siblings = [_memex("ok1", "t2", correct=True), _memex("ok2", "t2", correct=True)]
    bad = _memex("bad", "t2", column="Net")
    (signal,) = detect_wrong_field(bad, siblings)
    assert signal.kind == "wrong_field" and signal.quote == "Net"
    assert verdict_from_signals(detect_signals(bad, siblings), MEMEX, bad).primary == "interpretation"


def test_duplicated_and_misprinted_copies() -> None:
    duplicated = (
        JUNE.replace("1986 - Dec", "1987 - Jun")
        .replace("1987 - Jan", "       Jul")
        .replace("Feb r", "Aug  ")
        .replace("Mar  ", "Sep  ")
    )
    bad = tool_traj("dup", [("read_table", {"doc_id": "TB-1987-09"}, duplicated)], answer="1")
    sibling = tool_traj("ok", [("read_table", {"doc_id": "TB-1987-06"}, JUNE)], answer="4,527", correct=True)
    (signal,) = detect_bad_copy(bad, [sibling])
    assert signal.kind == "duplicated_source"
    assert verdict_from_signals(detect_signals(bad, [sibling]), MEMEX, bad).primary == "source_selection"
    misprint = JUNE.replace("16,130", "16,310")
    bad = tool_traj("mis", [("read_table", {"doc_id": "TB-1987-06b"}, misprint)], answer="1")
    (signal,) = detect_bad_copy(bad, [sibling])
    assert (signal.kind, signal.quote) == ("corrupted_source", "16,310")
    assert detect_bad_copy(sibling, [sibling.model_copy(update={"id": "twin"})]) == []
