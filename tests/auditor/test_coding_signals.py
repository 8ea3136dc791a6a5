"""Coding rollouts are judged from the grading evidence they carry, and blamed where the change entered."""

from __future__ import annotations

from pathlib import Path

import pytest

import memex_audit as ma
from memex_audit.analysis import coding_consistency
from memex_audit.analysis._coding_reference import category_of_failure_type, label_consistent
from memex_audit.auditor import detect_signals, verdict_from_signals
from memex_audit.reading import coding_evidence
from memex_audit.taxonomy import load_taxonomy
from memex_audit.trajectory import Outcome, Step, ToolCall, Trajectory

SOURCE_PATCH = (
    "diff --git a/pkg/core.py b/pkg/core.py\n--- a/pkg/core.py\n+++ b/pkg/core.py\n@@ -1 +1 @@\n-a\n+b\n"
)
TEST_PATCH = (
    "diff --git a/pkg/tests/test_core.py b/pkg/tests/test_core.py\n--- a/pkg/tests/test_core.py\n"
    "+++ b/pkg/tests/test_core.py\n@@ -1 +1 @@\n-x\n+y\n"
)


def _run(patch: str, f2p: tuple[int, int], p2p: tuple[int, int]) -> Trajectory:
    def bash(index: int, command: str) -> Step:
        return Step(
            index=index,
            role="assistant",
            code=command,
            tool_calls=[ToolCall(id=f"c{index}", name="bash", arguments={"command": command})],
        )

    def out(index: int, text: str, code: int = 0) -> Step:
        return Step(
            index=index,
            role="tool",
            tool_call_id=f"c{index - 1}",
            tool_name="bash",
            output=f"<returncode>{code}</returncode>\n<output>\n{text}\n</output>",
            error=f"command exited with return code {code}" if code else None,
            metadata={"returncode": code},
        )

    return Trajectory(
        id="run/pkg-1",
        task_id="pkg-1",
        final_answer=patch,
        harness="mini-swe-agent",
        outcome=Outcome(
            correct=False,
            details={
                "patch_successfully_applied": True,
                "tests": {
                    "FAIL_TO_PASS": {"passed": f2p[0], "failed": f2p[1], "failures": ["t::target"] * f2p[1]},
                    "PASS_TO_PASS": {"passed": p2p[0], "failed": p2p[1], "failures": ["t::old"] * p2p[1]},
                },
            },
        ),
        metadata={"info": {"exit_status": "Submitted"}},
        steps=[
            Step(index=0, role="user", text="Fix the bug in pkg."),
            bash(1, "cat pkg/core.py"),
            out(2, "    except ValueError:\n        pass"),
            bash(3, "sed -i 's/a/b/' pkg/core.py"),
            out(4, ""),
            bash(5, "sed -i 's/x/y/' pkg/tests/test_core.py"),
            out(6, ""),
            bash(7, "python -m pytest pkg"),
            out(8, "plugins: timeout-2.3.1\nFAILED t::old\nAssertionError: boom", code=1),
            bash(9, "python -m pytest pkg"),
            out(10, "plugins: timeout-2.3.1\n3 passed"),
        ],
    )


def _verdict(t: Trajectory) -> ma.auditor.AuditVerdict:  # type: ignore[name-defined]
    return verdict_from_signals(detect_signals(t), load_taxonomy("coding"), t)


def test_a_fix_that_misses_its_tests_is_an_incorrect_fix_blamed_on_the_edit() -> None:
    verdict = _verdict(_run(SOURCE_PATCH, f2p=(0, 2), p2p=(10, 0)))
    assert verdict.primary == "incorrect_fix"
    assert verdict.faulty_step == 3  # the edit, not the test rerun at 7 or 9
    assert "environment_failure" not in verdict.secondary  # the listing at 2 shows code, not an error


def test_regressions_partial_fixes_and_test_edits_are_told_apart() -> None:
    broke = _verdict(_run(SOURCE_PATCH, f2p=(2, 0), p2p=(8, 2)))
    assert broke.primary == "broke_existing_tests"
    partial = _verdict(_run(SOURCE_PATCH, f2p=(1, 1), p2p=(8, 2)))
    assert partial.primary == "incomplete_fix" and "broke_existing_tests" in partial.secondary
    edited = _verdict(_run(SOURCE_PATCH + TEST_PATCH, f2p=(0, 1), p2p=(10, 0)))
    assert edited.primary == "modified_tests" and edited.faulty_step == 5
    assert "incorrect_fix" in edited.secondary


def test_an_empty_submission_ran_out_and_no_evidence_means_no_coding_label() -> None:
    empty = _verdict(_run("", f2p=(0, 1), p2p=(10, 0)))
    assert empty.primary == "ran_out_of_steps"
    bare = _run(SOURCE_PATCH, f2p=(0, 1), p2p=(1, 0)).model_copy(update={"outcome": Outcome(correct=False)})
    assert _verdict(bare).primary != "incorrect_fix"  # no report: the fix cannot be judged


def test_labels_are_checked_against_the_evidence_and_analyses_map_to_categories() -> None:
    evidence = coding_evidence(_run(SOURCE_PATCH, f2p=(1, 1), p2p=(8, 2)))
    assert evidence is not None
    assert label_consistent("broke_existing_tests", evidence) is True
    assert label_consistent("modified_tests", evidence) is False
    assert label_consistent("wrong_location", evidence) is None
    assert category_of_failure_type("Incorrect fix logic - changes don't pass", evidence) == "incomplete_fix"
    assert category_of_failure_type("Test file modification - agent modified tests", None) == "modified_tests"
    assert (
        category_of_failure_type("Empty submission - agent did not produce any changes", None)
        == "ran_out_of_steps"
    )


@pytest.mark.slow
def test_on_real_coding_runs_labels_hold_against_their_reports(shared_data: Path, tmp_path: Path) -> None:
    runs = [t for t in ma.load(shared_data / "mini_swe_agent").trajectories if t.success is False]
    taxonomy = load_taxonomy("coding")
    reports = []
    for t in runs:
        verdict = verdict_from_signals(detect_signals(t), taxonomy, t)
        reports.append(
            ma.auditor.AuditReport.from_verdict(  # type: ignore[attr-defined]
                verdict,
                t,
                taxonomy,
                ma.auditor.Producer(kind="offline", name="test"),  # type: ignore[attr-defined]
            )
        )
    figures = coding_consistency(reports, runs)
    assert figures.consistent_share is not None and figures.consistent_share >= 0.9
    assert figures.unclassified_share is not None and figures.unclassified_share <= 0.3
    assert figures.regressions_recall is not None and figures.regressions_recall >= 0.8
