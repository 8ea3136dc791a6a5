"""Grading evidence a coding rollout already carries: the test report, the submitted patch, the exit.

A SWE-bench style run is graded by running two sets of tests on the submitted patch: the tests the
fix must make pass (FAIL_TO_PASS) and the tests it must keep passing (PASS_TO_PASS). The report, the
patch (which files it changes: source, tests, configuration) and how the run ended (submitted, or
stopped at a limit) say most of what went wrong before any step is read. These views are typed so an
auditor, a model or a person reads them the same way.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from memex_audit.reading._memo import per_trajectory
from memex_audit.trajectory import Trajectory

FileKind = Literal["source", "test", "config", "docs", "other"]

_TEST_PATH = re.compile(
    r"(^|/)(tests?|testing|testcases|test_\w+)/|(^|/)test_[^/]*$|_tests?\.[a-z]+$|(^|/)conftest\.py$"
)
_CONFIG_PATH = re.compile(
    r"(^|/)(setup\.py|setup\.cfg|pyproject\.toml|tox\.ini|pytest\.ini|\.coveragerc|MANIFEST\.in|"
    r"requirements[^/]*\.txt|environment\.ya?ml|Makefile|package\.json|\.pre-commit-config\.yaml)$"
)
_DOCS_PATH = re.compile(r"(^|/)(docs?|doc_src|changelog|changes)/|\.(rst|md|txt)$", re.IGNORECASE)
_SOURCE_PATH = re.compile(r"\.(py|pyx|pxd|c|h|cc|cpp|js|ts|go|rs|java|rb|php)$")
_DIFF_HEADER = re.compile(r"^diff --git a/(\S+) b/(\S+)", re.MULTILINE)
_LIMIT_STATUS = re.compile(
    r"limit|exceeded|timeout|timed.?out|cost|max.?(steps|turns)|context", re.IGNORECASE
)


def file_kind(path: str) -> FileKind:
    """What a changed file is: a test, build or test configuration, documentation, source, or other."""
    if _TEST_PATH.search(path):
        return "test"
    if _CONFIG_PATH.search(path):
        return "config"
    if _SOURCE_PATH.search(path):
        return "source"
    if _DOCS_PATH.search(path):
        return "docs"
    return "other"


class FileChange(BaseModel):
    """One file a patch changes.

    Attributes:
        path: The file, relative to the repository root.
        kind: ``source``, ``test``, ``config``, ``docs`` or ``other`` (see ``file_kind``).
        added: Lines added.
        removed: Lines removed.
        created: The patch creates the file.
        deleted: The patch deletes the file.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    kind: FileKind
    added: int = 0
    removed: int = 0
    created: bool = False
    deleted: bool = False


class PatchSummary(BaseModel):
    """What a submitted patch changes.

    Attributes:
        files: Every file it changes, in order.
        empty: The submission changes nothing.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    files: tuple[FileChange, ...] = ()
    empty: bool = True

    def of_kind(self, kind: FileKind) -> list[FileChange]:
        """The changed files of one kind."""
        return [f for f in self.files if f.kind == kind]

    @property
    def touches_tests(self) -> bool:
        """Whether it changes or adds test files."""
        return any(f.kind == "test" for f in self.files)

    @property
    def touches_config(self) -> bool:
        """Whether it changes build or test configuration."""
        return any(f.kind == "config" for f in self.files)

    @property
    def only_tests(self) -> bool:
        """Whether test files are all it changes."""
        return bool(self.files) and all(f.kind == "test" for f in self.files)

    @property
    def touches_source(self) -> bool:
        """Whether it changes any source file."""
        return any(f.kind == "source" for f in self.files)


def parse_patch(text: str | None) -> PatchSummary:
    """The files a unified ``git diff`` changes, with lines added and removed per file."""
    if not text or not text.strip():
        return PatchSummary()
    files: list[FileChange] = []
    headers = list(_DIFF_HEADER.finditer(text))
    for i, header in enumerate(headers):
        body = text[header.end() : headers[i + 1].start() if i + 1 < len(headers) else len(text)]
        path = header.group(2)
        added = removed = 0
        for line in body.splitlines():
            if line.startswith("+") and not line.startswith("+++"):
                added += 1
            elif line.startswith("-") and not line.startswith("---"):
                removed += 1
        files.append(
            FileChange(
                path=path,
                kind=file_kind(path),
                added=added,
                removed=removed,
                created="\nnew file mode" in body[:200],
                deleted="\ndeleted file mode" in body[:200],
            )
        )
    return PatchSummary(files=tuple(files), empty=not files)


class TestGroup(BaseModel):
    """One group of graded tests (``FAIL_TO_PASS``, ``PASS_TO_PASS`` …): counts and the failures."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    __test__ = False  # not a pytest class

    passed: int = 0
    failed: int = 0
    failures: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        """Tests in the group."""
        return self.passed + self.failed


class TestReport(BaseModel):
    """The grader's report on a coding rollout's patch.

    Attributes:
        resolved: Whether the grader counts the task as solved.
        patch_applied: Whether the patch applied (``None`` when the report does not say).
        fail_to_pass: The tests the fix had to make pass.
        pass_to_pass: The tests that passed before and had to keep passing.
        source: Where the report was read from.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    __test__ = False  # not a pytest class

    resolved: bool | None = None
    patch_applied: bool | None = None
    fail_to_pass: TestGroup = Field(default_factory=TestGroup)
    pass_to_pass: TestGroup = Field(default_factory=TestGroup)
    source: str | None = None

    @property
    def broke_passing_tests(self) -> bool:
        """Previously passing tests fail with the patch."""
        return self.pass_to_pass.failed > 0

    @property
    def fix_missed(self) -> bool:
        """None of the tests the fix had to make pass do."""
        return self.fail_to_pass.total > 0 and self.fail_to_pass.passed == 0

    @property
    def fix_partial(self) -> bool:
        """Some, not all, of the tests the fix had to make pass do."""
        return self.fail_to_pass.passed > 0 and self.fail_to_pass.failed > 0


class RunEnd(BaseModel):
    """How a rollout ended.

    Attributes:
        status: The harness's exit status as written (``Submitted``, ``LimitsExceeded`` …).
        hit_limit: The status names a step, cost, time or context limit.
        submitted: The run handed in a patch or an answer.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: str | None = None
    hit_limit: bool = False
    submitted: bool = False


class CodingEvidence(BaseModel):
    """Everything a coding rollout carries about its own grade."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    report: TestReport | None = None
    patch: PatchSummary = Field(default_factory=PatchSummary)
    end: RunEnd = Field(default_factory=RunEnd)


def _group(raw: object) -> TestGroup:
    if not isinstance(raw, dict):
        return TestGroup()
    failures = raw.get("failures")
    return TestGroup(
        passed=int(raw.get("passed") or 0),
        failed=int(raw.get("failed") or 0),
        failures=tuple(str(f) for f in failures) if isinstance(failures, list) else (),
    )


def read_test_report(trajectory: Trajectory) -> TestReport | None:
    """The grader's test report the rollout carries (SWE-bench ``report.json`` as the loader kept it)."""
    details = trajectory.outcome.details
    tests = details.get("tests")
    if not isinstance(tests, dict):
        return None
    applied = details.get("patch_successfully_applied")
    resolved = details.get("resolved", trajectory.outcome.correct)
    return TestReport(
        resolved=resolved if isinstance(resolved, bool) else None,
        patch_applied=applied if isinstance(applied, bool) else None,
        fail_to_pass=_group(tests.get("FAIL_TO_PASS")),
        pass_to_pass=_group(tests.get("PASS_TO_PASS")),
        source=str(details["report"]) if details.get("report") is not None else None,
    )


def submitted_patch(trajectory: Trajectory) -> str | None:
    """The patch the rollout submitted: its final answer when that is a diff (or empty)."""
    answer = trajectory.final_answer
    if answer is None:
        sub = trajectory.submitted
        answer = sub if isinstance(sub, str) else None
    if answer is None:
        return None
    return answer if (not answer.strip() or _DIFF_HEADER.search(answer)) else None


def run_end(trajectory: Trajectory) -> RunEnd:
    """How the run ended, from the exit status the harness recorded."""
    status: str | None = None
    for holder in (trajectory.metadata.get("info"), trajectory.metadata, trajectory.outcome.details):
        if isinstance(holder, dict):
            for key in ("exit_status", "termination_reason", "stop_reason", "finish_reason"):
                value = holder.get(key)
                if isinstance(value, str) and value:
                    status = value
                    break
        if status is not None:
            break
    patch = submitted_patch(trajectory)
    submitted = bool(patch and patch.strip()) or bool(
        trajectory.final_answer and trajectory.final_answer.strip()
    )
    hit_limit = bool(status and _LIMIT_STATUS.search(status)) and not re.search(
        r"submit", status or "", re.IGNORECASE
    )
    return RunEnd(status=status, hit_limit=hit_limit, submitted=submitted)


@per_trajectory
def coding_evidence(trajectory: Trajectory) -> CodingEvidence | None:
    """The grading evidence of a coding rollout, or ``None`` when it carries neither report nor patch."""
    report = read_test_report(trajectory)
    patch_text = submitted_patch(trajectory)
    if report is None and patch_text is None:
        return None
    return CodingEvidence(report=report, patch=parse_patch(patch_text), end=run_end(trajectory))
