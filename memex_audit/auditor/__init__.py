"""The auditor: failed trajectories into a taxonomy's categories, with evidence that is checked.

An agent (an LLM, or the offline policy of deterministic signals) runs on the MemEx loop with a
task's rollouts in scope and submits an ``AuditVerdict``; ``AuditRunner`` audits a collection into a
run folder, concurrently, resumably, within a cost budget.
"""

from memex_audit.auditor._classify import fallback_verdict, verdict_from_signals
from memex_audit.auditor._indexed import OfflineAuditWorker, plan_indexed
from memex_audit.auditor._offline import OFFLINE_POLICY_NAME, OfflineAuditPolicy
from memex_audit.auditor._report import AuditReport, AuditVerdict, Producer
from memex_audit.auditor._runner import (
    AuditEstimate,
    AuditOutcome,
    AuditProgress,
    AuditRunner,
    AuditUnit,
    estimate_audit,
    plan_audit,
)
from memex_audit.auditor._selection import AuditSelection
from memex_audit.auditor._signals import Signal, detect_signals

__all__ = [
    "OFFLINE_POLICY_NAME",
    "AuditEstimate",
    "AuditOutcome",
    "AuditProgress",
    "AuditReport",
    "AuditRunner",
    "AuditSelection",
    "AuditUnit",
    "AuditVerdict",
    "OfflineAuditPolicy",
    "OfflineAuditWorker",
    "Producer",
    "Signal",
    "detect_signals",
    "estimate_audit",
    "fallback_verdict",
    "plan_audit",
    "plan_indexed",
    "verdict_from_signals",
]
