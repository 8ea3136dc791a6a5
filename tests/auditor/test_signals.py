"""Offline signals on trajectories built in code: each fires on its failure, cites a quote that is
really at the cited step, and stays quiet where nothing is wrong."""

from __future__ import annotations

from memex_audit.auditor import detect_signals, verdict_from_signals
from memex_audit.auditor._signals import (
    detect_answer_mismatch,
    detect_retyped_numbers,
    detect_tool_errors,
    detect_truth_seen,
)
from memex_audit.taxonomy import load_taxonomy
from memex_audit.trajectory import Step, Trajectory
from tests.factories import good_memex, memex_traj, tool_traj

MEMEX = load_taxonomy("memex")


def _kinds(trajectory: Trajectory, siblings: list[Trajectory] | None = None) -> list[str]:
    return [s.kind for s in detect_signals(trajectory, siblings or [])]


def _quotes_hold(trajectory: Trajectory, siblings: list[Trajectory] | None = None) -> None:
    for signal in detect_signals(trajectory, siblings or []):
        assert trajectory.steps[signal.step].contains(signal.quote), signal


def test_retyped_number_is_the_3501_to_3531_case() -> None:
    traj = tool_traj(
        "tc-retyped",
        [
            ("read_table", {"doc": "bulletin-1944-03", "table": "FD-1"}, "March total: 3,501"),
            ("calculate", {"expression": "3531 * 1.0"}, "3531.0"),
        ],
        answer="3531.0",
        truth="3,501",
    )
    signals = detect_retyped_numbers(traj)
    assert [(s.kind, s.step, s.quote) for s in signals] == [("retyped_number", 3, "3531")]
    assert "3,501" in signals[0].detail
    verdict = verdict_from_signals(detect_signals(traj), MEMEX, traj)
    assert verdict.primary == "execution"
    assert verdict.faulty_step == 3
    assert verdict.evidence[0].quote == "3531"


def test_a_faithful_copy_or_a_year_is_not_a_retyping() -> None:
    traj = tool_traj(
        "tc-ok",
        [
            ("read_table", {"doc": "bulletin-1944-03"}, "total 3,501 as of 1944"),
            ("calculate", {"expression": "3501 + 0", "year": "1945"}, "3501"),
        ],
        answer="3501",
        truth="3,501",
    )
    assert detect_retyped_numbers(traj) == []


def test_answer_against_truth_format_rounding_and_units() -> None:
    cells = [("print(t.loc['March'])", "total 3,501.2")]
    fmt = memex_traj("fmt", cells, answer="3501.2", truth="3,501.2")
    rounding = memex_traj("rnd", [("print(r)", "12.46")], answer="12.5", truth="12.46")
    units = memex_traj("unit", cells, answer="3,501,200", truth="3,501.2")
    right = memex_traj("ok", cells, answer="3,501.2", truth="3,501.2")
    assert [s.kind for s in detect_answer_mismatch(fmt, fmt.ground_truth)] == ["format_mismatch"]
    assert [s.kind for s in detect_answer_mismatch(rounding, rounding.ground_truth)] == ["rounding_mismatch"]
    assert [s.kind for s in detect_answer_mismatch(units, units.ground_truth)] == ["unit_mismatch"]
    assert detect_answer_mismatch(right, right.ground_truth) == []
    assert verdict_from_signals(detect_signals(fmt), MEMEX, fmt).primary == "execution"
    assert verdict_from_signals(detect_signals(units), MEMEX, units).primary == "interpretation"
    for t in (fmt, rounding, units):
        _quotes_hold(t)


def test_truth_seen_in_the_same_output_is_interpretation() -> None:
    traj = memex_traj(
        "prelim",
        [
            (
                "t = read_table('bulletin-1944-03', 'FD-1')\nprint(t.loc['March'])",
                "preliminary 3,498.0  revised 3,501.2",
            ),
        ],
        answer="3,498.0",
    )
    signals = detect_truth_seen(traj, traj.ground_truth)
    assert [(s.kind, s.step, s.quote) for s in signals] == [("ground_truth_seen", 2, "3,501.2")]
    assert verdict_from_signals(detect_signals(traj), MEMEX, traj).primary == "interpretation"


def test_truth_seen_then_left_behind_is_search_strategy() -> None:
    traj = memex_traj(
        "wander",
        [
            ("print(read_table('bulletin-1944-03', 'FD-1'))", "March total 3,501.2"),
            ("print(search('more debt figures'))", "['bulletin-1945-01']"),
            ("print(read_table('bulletin-1945-01', 'FD-1'))", "January total 4,112.9"),
        ],
        answer="4,112.9",
    )
    kinds = [s.kind for s in detect_truth_seen(traj, traj.ground_truth)]
    assert kinds == ["wandered_past_answer"]
    assert verdict_from_signals(detect_signals(traj), MEMEX, traj).primary == "search_strategy"


def test_source_the_correct_siblings_used_is_source_selection() -> None:
    siblings = [good_memex("g1"), good_memex("g2"), good_memex("g3")]
    bad = memex_traj(
        "wrong-bulletin",
        [
            ("hits = search('public debt March 1944')\nprint(hits)", "['bulletin-1944-04']"),
            ("t = read_table('bulletin-1944-04', 'FD-1')\nprint(t.loc['March'])", "total 3,522.7"),
        ],
        answer="3,522.7",
    )
    signals = detect_signals(bad, siblings)
    assert signals[0].kind == "missing_sibling_source"
    assert signals[0].quote == "bulletin-1944-04"
    verdict = verdict_from_signals(signals, MEMEX, bad)
    assert verdict.primary == "source_selection"
    assert "bulletin-1944-03" in verdict.explanation
    _quotes_hold(bad, siblings)


def test_stopping_early_and_repeating_searches_are_search_strategy() -> None:
    siblings = [good_memex("g1"), good_memex("g2")]
    early = memex_traj("early", [("print(search('debt'))", "['bulletin-1944-03']")], answer="3,400")
    assert "few_searches" in _kinds(early, siblings)
    assert verdict_from_signals(detect_signals(early, siblings), MEMEX, early).primary == "search_strategy"
    loop = tool_traj("loop", [("search", {"q": "public debt"}, "nothing")] * 3, answer="0")
    assert "repeated_searches" in _kinds(loop)


def test_tool_errors_weaker_when_recovered() -> None:
    unresolved = tool_traj(
        "err",
        [("run_sql", {"sql": "select 1"}, "Traceback (most recent call last):\nValueError: bad")],
        answer="1",
    )
    recovered = tool_traj(
        "err2",
        [("run_sql", {"sql": "select x"}, "KeyError: 'x'"), ("run_sql", {"sql": "select 1"}, "1")],
        answer="1",
    )
    (a,) = detect_tool_errors(unresolved)
    (b,) = detect_tool_errors(recovered)
    assert a.kind == b.kind == "tool_error"
    assert a.strength > b.strength
    assert a.quote == "ValueError: bad" or a.quote.startswith("Traceback")
    timeout = tool_traj("to", [("fetch", {"url": "x"}, "Request timed out after 30 s")], answer="1")
    assert detect_tool_errors(timeout)[0].kind == "timeout"


def test_gold_actions_missing_wrong_argument_wrong_entity_transfer() -> None:
    gold = [
        {"name": "update_reservation_flights", "arguments": {"reservation_id": "ABC123", "cabin": "economy"}}
    ]
    wrong_cabin = tool_traj(
        "cs1",
        [("update_reservation_flights", {"reservation_id": "ABC123", "cabin": "business"}, "ok")],
        answer="done",
        truth=gold,
        harness="tau2",
    )
    wrong_entity = tool_traj(
        "cs2",
        [("update_reservation_flights", {"reservation_id": "XYZ999", "cabin": "economy"}, "ok")],
        answer="done",
        truth=gold,
        harness="tau2",
    )
    transfer = tool_traj(
        "cs3",
        [
            ("get_reservation_details", {"reservation_id": "ABC123"}, "{}"),
            ("transfer_to_human_agents", {}, "ok"),
        ],
        answer="transferred",
        truth=gold,
        harness="tau2",
    )
    cs = load_taxonomy("customer_service")
    assert verdict_from_signals(detect_signals(wrong_cabin), cs, wrong_cabin).primary == "wrong_arguments"
    assert (
        verdict_from_signals(detect_signals(wrong_entity), cs, wrong_entity).primary == "wrong_user_or_entity"
    )
    kinds = _kinds(transfer)
    assert {"missing_action", "premature_transfer"} <= set(kinds)
    for t in (wrong_cabin, wrong_entity, transfer):
        _quotes_hold(t)


def test_turn_limit_from_the_run_metadata() -> None:
    traj = memex_traj(
        "limit",
        [("print(search('debt'))", "[]")],
        answer="0",
        metadata={"termination_reason": "max_turns reached"},
    )
    assert "turn_limit" in _kinds(traj)


def test_no_signal_is_unclassified_with_a_reason_and_a_labelled_guess() -> None:
    traj = memex_traj(
        "quiet", [("print(read_table('bulletin-1944-03', 'FD-1'))", "total 2,000")], answer="1,999.0"
    )
    assert detect_signals(traj) == []
    verdict = verdict_from_signals([], MEMEX, traj)
    assert verdict.primary == "unclassified"
    assert "no offline signal fired" in verdict.explanation
    assert "guess" in verdict.explanation
    assert verdict.faulty_step == 2
    assert verdict.confidence <= 0.1


def test_multi_agent_error_is_blamed_on_the_agent_whose_code_failed() -> None:
    traj = Trajectory(
        id="ww",
        task_id="ww",
        question="How many clients get the sunset design?",
        ground_truth="8",
        outcome={"correct": False},  # type: ignore[arg-type]
        harness="ag2",
        steps=[
            Step(index=0, role="assistant", agent="Planner_Expert", text="Plan: load the file and count."),
            Step(
                index=1,
                role="user",
                agent="Excel_Expert",
                text="```python\nimport pandas as pd\nprint(df['Adress'])\n```",
            ),
            Step(
                index=2,
                role="user",
                agent="Computer_terminal",
                text="exitcode: 1 (execution failed)\nCode output: KeyError: 'Adress'",
            ),
            Step(index=3, role="user", agent="Verification_Expert", text="The answer is 4. TERMINATE"),
        ],
    )
    verdict = verdict_from_signals(detect_signals(traj), load_taxonomy("mast"), traj)
    assert verdict.primary == "no_or_incomplete_verification"
    assert (verdict.faulty_step, verdict.faulty_agent) == (1, "Excel_Expert")
    assert verdict.evidence[0].step == 2


def test_labels_are_never_read() -> None:
    traj = memex_traj(
        "x",
        [("print(read_table('bulletin-1944-03', 'FD-1'))", "total 3,501.2")],
        answer="3,498.0",
        label="source_selection",
    )
    assert detect_signals(traj) == detect_signals(traj.without_labels())


def test_an_error_the_run_recovered_from_is_not_the_finding() -> None:
    recovered = tool_traj(
        "err2",
        [("run_sql", {"sql": "select x"}, "KeyError: 'x'"), ("run_sql", {"sql": "select 1"}, "1")],
        answer="1",
    )
    verdict = verdict_from_signals(detect_signals(recovered), MEMEX, recovered)
    assert verdict.primary == "unclassified"
    assert "tool_error" in verdict.explanation
    assert verdict.faulty_step == 1  # attribution still points at the call that failed


def test_rounding_an_intermediate_value_is_execution() -> None:
    traj = tool_traj(
        "round",
        [
            ("read_table", {"doc_id": "TB-1987-03"}, "Oct 70,537 Nov 68,688"),
            (
                "python_exec",
                {"code": "total = sum(round(v / 1000, 1) for v in [70537, 68688])\nprint(total)"},
                "139.2",
            ),
        ],
        answer="139.2",
        truth="139.3",
    )
    kinds = _kinds(traj)
    assert "intermediate_rounding" in kinds
    verdict = verdict_from_signals(detect_signals(traj), MEMEX, traj)
    assert verdict.primary == "execution" and verdict.evidence[0].quote == "round(v / 1000, 1)"
    plain = tool_traj(
        "fmt", [("python_exec", {"code": "x = 70537 / 1000\nprint(round(x, 1))"}, "70.5")], answer="70.5"
    )
    assert "intermediate_rounding" not in _kinds(plain)


def test_without_signals_the_guess_is_the_first_worker_step_that_acts() -> None:
    traj = Trajectory(
        id="ww2",
        task_id="ww2",
        question="How many?",
        ground_truth="8",
        outcome={"correct": False},  # type: ignore[arg-type]
        harness="ag2",
        steps=[
            Step(index=0, role="user", agent="human", text="How many?"),
            Step(index=1, role="assistant", agent="Orchestrator (thought)", text="Plan: ask the analyst."),
            Step(
                index=2, role="assistant", agent="Analyst_Expert", text="Let us think about the data first."
            ),
            Step(index=3, role="assistant", agent="Analyst_Expert", text="```python\nprint(len(df))\n```"),
            Step(
                index=4, role="user", agent="Computer_terminal", text="exitcode: 0 (execution succeeded)\n4"
            ),
        ],
    )
    verdict = verdict_from_signals(detect_signals(traj), load_taxonomy("mast"), traj)
    assert verdict.primary == "unclassified"
    assert (verdict.faulty_step, verdict.faulty_agent) == (3, "Analyst_Expert")
