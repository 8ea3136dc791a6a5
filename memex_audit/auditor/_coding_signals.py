"""Signals for coding rollouts, read from the grading evidence the rollout carries.

A SWE-bench style run carries the grader's verdict on its patch: which of the tests the fix had to
make pass still fail, which previously passing tests now fail, and what the patch changed. These
signals restate that evidence and point at the step where the change that the failure follows from
entered the run: the first step that wrote the file in question, not a later test rerun.

* ``no_patch``: the run handed in no change (it stopped at a limit, or submitted an empty diff).
* ``tests_modified`` / ``config_modified``: the patch changes test files or build and test
  configuration, which graders replace or which break the test environment.
* ``fix_missed``: none of the tests the fix had to make pass do; ``fix_partial``: some do.
* ``tests_regressed``: tests that passed before the patch fail with it.
"""

from __future__ import annotations

from memex_audit.auditor._signal import Signal, make_signal, tail_quote
from memex_audit.reading import CodingEvidence, FileChange, coding_evidence, file_edits
from memex_audit.taxonomy import SignalKind
from memex_audit.trajectory import Step, Trajectory

_MAX_NAMED = 3


def _named(tests: tuple[str, ...], total: int) -> str:
    shown = ", ".join(tests[:_MAX_NAMED])
    more = f" and {total - _MAX_NAMED} more" if total > _MAX_NAMED else ""
    return f"{shown}{more}" if shown else ""


def _edit_step(trajectory: Trajectory, files: list[FileChange]) -> tuple[Step, str] | None:
    """The first step that wrote one of ``files`` and the way it names the file."""
    # One pass over the writing steps for all the files: edits come in step order, and within a
    # step in the order of ``files``, so the first is the earliest edit of the first such file.
    edits = file_edits(trajectory, tuple(change.path for change in files))
    if not edits:
        return None
    return trajectory.steps[edits[0].step], edits[0].quote


def _mention_step(trajectory: Trajectory, files: list[FileChange]) -> tuple[Step, str] | None:
    """Else the last step that names one of ``files``: where the run staged or showed the change
    it submitted (a ``git add -A`` also stages changes the run never made itself)."""
    for step in reversed(trajectory.steps):
        for change in files:
            if step.contains(change.path):
                return step, change.path
    return None


def _anchor(trajectory: Trajectory, files: list[FileChange]) -> tuple[Step, str] | None:
    return _edit_step(trajectory, files) or _mention_step(trajectory, files)


def detect_coding_findings(trajectory: Trajectory) -> list[Signal]:
    """What the rollout's own grading evidence shows went wrong (nothing when it carries none)."""
    evidence = coding_evidence(trajectory)
    if evidence is None or not trajectory.steps or trajectory.success is not False:
        return []
    signals = [*_patch_signals(trajectory, evidence), *_report_signals(trajectory, evidence)]
    if evidence.end.hit_limit and not evidence.patch.empty:
        last = trajectory.steps[-1]
        quote = tail_quote(last)
        if quote:
            signals.append(
                make_signal("turn_limit", last, quote, f"the run stopped at a limit ({evidence.end.status})")
            )
    return signals


def _patch_signals(trajectory: Trajectory, evidence: CodingEvidence) -> list[Signal]:
    patch = evidence.patch
    if patch.empty:
        ends = ((s, tail_quote(s)) for s in reversed(trajectory.steps))
        last, quote = next(((s, q) for s, q in ends if q), (trajectory.steps[-1], ""))
        if not quote:
            return []
        why = f"the run ended with status {evidence.end.status!r}" if evidence.end.status else "the run ended"
        return [make_signal("no_patch", last, quote, f"{why} and submitted no change to the repository")]
    signals: list[Signal] = []
    kinds: tuple[tuple[SignalKind, str, str], ...] = (
        ("tests_modified", "test", "test files"),
        ("config_modified", "config", "build or test configuration"),
    )
    for kind, file_kind, what in kinds:
        files = patch.of_kind(file_kind)  # type: ignore[arg-type]
        if not files:
            continue
        anchor = _anchor(trajectory, files)
        if anchor is None:
            continue
        step, quote = anchor
        paths = ", ".join(f.path for f in files[:_MAX_NAMED])
        signals.append(
            make_signal(
                kind,
                step,
                quote,
                f"the submitted patch changes {what} ({paths}); first written at step {step.index}",
            )
        )
    return signals


def _report_signals(trajectory: Trajectory, evidence: CodingEvidence) -> list[Signal]:
    report = evidence.report
    patch = evidence.patch
    if report is None or patch.empty or report.patch_applied is False:
        return []
    source = patch.of_kind("source") or [f for f in patch.files if f.kind not in ("test", "config")]
    anchor = _anchor(trajectory, source or list(patch.files))
    if anchor is None:
        return []
    step, quote = anchor
    signals: list[Signal] = []
    f2p, p2p = report.fail_to_pass, report.pass_to_pass
    if report.fix_missed:
        signals.append(
            make_signal(
                "fix_missed",
                step,
                quote,
                f"none of the {f2p.total} test(s) the fix had to make pass do ({_named(f2p.failures, f2p.failed)}); "
                f"the change entered at step {step.index}",
            )
        )
    elif report.fix_partial:
        signals.append(
            make_signal(
                "fix_partial",
                step,
                quote,
                f"{f2p.passed} of {f2p.total} test(s) the fix had to make pass do; still failing: "
                f"{_named(f2p.failures, f2p.failed)}",
            )
        )
    if report.broke_passing_tests:
        strength = 0.9 if f2p.failed == 0 else None
        signals.append(
            make_signal(
                "tests_regressed",
                step,
                quote,
                f"{p2p.failed} of {p2p.total} previously passing test(s) fail with the patch "
                f"({_named(p2p.failures, p2p.failed)})",
                strength=strength,
            )
        )
    return signals
