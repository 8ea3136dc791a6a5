"""Checks of your own: typed Python functions run over every trajectory, offline.

A check takes a ``Trajectory`` (and optionally its ``TaskGroup``) and returns ``Finding``s
(label, step, quote, note), usually built on ``memex_audit.reading``'s views. The runner verifies
each quote against its step as the auditor verifies evidence, and writes one ``CheckReport`` per
trajectory into a resumable run folder that ``memex-audit show`` reads. Example checks ship in the
repository's ``checks/`` folder.
"""

from memex_audit.checks._define import Check, CheckResult, check, check_files, checks_digest, load_checks
from memex_audit.checks._models import (
    CheckedTrajectory,
    CheckFailure,
    CheckReport,
    CheckSummary,
    Finding,
    LabelCount,
)
from memex_audit.checks._run import (
    CheckOutcome,
    CheckProgress,
    check_trajectory,
    findings_frame,
    plan_checks,
    read_check_reports,
    run_checks,
    summarize_checks,
)

__all__ = [
    "Check",
    "CheckFailure",
    "CheckOutcome",
    "CheckProgress",
    "CheckReport",
    "CheckResult",
    "CheckSummary",
    "CheckedTrajectory",
    "Finding",
    "LabelCount",
    "check",
    "check_files",
    "check_trajectory",
    "checks_digest",
    "findings_frame",
    "load_checks",
    "plan_checks",
    "read_check_reports",
    "run_checks",
    "summarize_checks",
]
