"""Grading evidence a coding rollout carries: the test report, the patch and how the run ended."""

from __future__ import annotations

from pathlib import Path

import memex_audit as ma
from memex_audit.reading import coding_evidence, file_edits, file_kind, parse_patch, run_end
from memex_audit.trajectory import Outcome, Step, ToolCall, Trajectory

PATCH = """diff --git a/pkg/core.py b/pkg/core.py
--- a/pkg/core.py
+++ b/pkg/core.py
@@ -1,2 +1,2 @@
-    return a
+    return b
diff --git a/pkg/tests/test_core.py b/pkg/tests/test_core.py
--- a/pkg/tests/test_core.py
+++ b/pkg/tests/test_core.py
@@ -1 +1,2 @@
+    assert f() == 2
diff --git a/setup.cfg b/setup.cfg
--- a/setup.cfg
+++ b/setup.cfg
@@ -1 +1 @@
-x
+y
"""


def test_a_patch_is_read_file_by_file_with_its_kind() -> None:
    patch = parse_patch(PATCH)
    assert [(f.path, f.kind, f.added, f.removed) for f in patch.files] == [
        ("pkg/core.py", "source", 1, 1),
        ("pkg/tests/test_core.py", "test", 1, 0),
        ("setup.cfg", "config", 1, 1),
    ]
    assert patch.touches_tests and patch.touches_config and patch.touches_source and not patch.only_tests
    assert parse_patch("").empty
    assert file_kind("test_app/models.py") == "test"
    assert file_kind("docs/index.rst") == "docs"


def _coding_run(submission: str, status: str = "Submitted") -> Trajectory:
    return Trajectory(
        id="r/i",
        task_id="i",
        final_answer=submission,
        harness="mini-swe-agent",
        outcome=Outcome(
            correct=False,
            details={
                "patch_successfully_applied": True,
                "tests": {
                    "FAIL_TO_PASS": {"passed": 1, "failed": 1, "failures": ["t::a"]},
                    "PASS_TO_PASS": {"passed": 9, "failed": 2, "failures": ["t::b", "t::c"]},
                },
            },
        ),
        metadata={"info": {"exit_status": status}},
        steps=[
            Step(index=0, role="user", text="fix it"),
            Step(
                index=1,
                role="assistant",
                code="sed -i 's/return a/return b/' pkg/core.py",
                tool_calls=[
                    ToolCall(
                        id="x",
                        name="bash",
                        arguments={"command": "sed -i 's/return a/return b/' pkg/core.py"},
                    )
                ],
            ),
            Step(index=2, role="tool", tool_call_id="x", output="<returncode>0</returncode>"),
            Step(index=3, role="assistant", code="python -m pytest pkg/core.py"),
        ],
    )


def test_the_report_the_patch_and_the_exit_are_typed_views() -> None:
    evidence = coding_evidence(_coding_run(PATCH))
    assert evidence is not None and evidence.report is not None
    assert evidence.report.fix_partial and evidence.report.broke_passing_tests
    assert evidence.report.pass_to_pass.failures == ("t::b", "t::c")
    assert evidence.end.submitted and not evidence.end.hit_limit
    assert run_end(_coding_run("", status="LimitsExceeded")).hit_limit
    edits = file_edits(_coding_run(PATCH), ("pkg/core.py",))
    assert [(e.step, e.path) for e in edits] == [(1, "pkg/core.py")]  # the test rerun at 3 is not an edit


def test_a_real_mini_swe_agent_run_carries_its_report(shared_data: Path) -> None:
    runs = ma.load(shared_data / "mini_swe_agent").trajectories
    failed = [t for t in runs if t.success is False]
    with_report = [t for t in failed if (e := coding_evidence(t)) is not None and e.report is not None]
    assert len(with_report) == len(failed) > 0
    regressions = [t for t in with_report if coding_evidence(t).report.broke_passing_tests]  # type: ignore[union-attr]
    assert regressions  # the dev data has runs that broke previously passing tests
