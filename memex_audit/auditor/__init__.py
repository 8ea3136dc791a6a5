"""The auditor: failed trajectories into a taxonomy's categories, with evidence that is checked.

An agent (an LLM, or the offline policy of deterministic signals) runs on the MemEx loop with a
task's rollouts in scope and submits an ``AuditVerdict``; ``AuditRunner`` audits a collection into a
run folder, concurrently, resumably, within a cost budget.
"""

from memex_audit.auditor._classify import (
    agent_name,
    fallback_verdict,
    guess_attribution,
    verdict_from_signals,
)
from memex_audit.auditor._offline import OFFLINE_POLICY_NAME, OfflineAuditPolicy
from memex_audit.auditor._report import (
    AuditReport,
    AuditVerdict,
    Evidence,
    Producer,
    TrajectoryRef,
    evidence_problems,
    verdict_type,
)
from memex_audit.auditor._runner import (
    AUDITOR_TOOLS,
    AuditEstimate,
    AuditOutcome,
    AuditProgress,
    AuditRunner,
    AuditUnit,
    audit_task_text,
    auditor_instructions,
    estimate_audit,
    plan_audit,
)
from memex_audit.auditor._scope import (
    Call,
    SeenNumber,
    SourceComparison,
    StepHit,
    calls_made,
    compare_sources,
    numbers_in_outputs,
    search_steps,
    sources_used,
)
from memex_audit.auditor._selection import AuditSelection, outcome_of
from memex_audit.auditor._signals import Signal, answer_text, detect_signals
from memex_audit.reading._numbers import NumberMention, find_numbers

__all__ = [
    "AUDITOR_TOOLS",
    "OFFLINE_POLICY_NAME",
    "AuditEstimate",
    "AuditOutcome",
    "AuditProgress",
    "AuditReport",
    "AuditRunner",
    "AuditSelection",
    "AuditUnit",
    "AuditVerdict",
    "Call",
    "Evidence",
    "NumberMention",
    "OfflineAuditPolicy",
    "Producer",
    "SeenNumber",
    "Signal",
    "SourceComparison",
    "StepHit",
    "TrajectoryRef",
    "agent_name",
    "answer_text",
    "audit_task_text",
    "auditor_instructions",
    "calls_made",
    "compare_sources",
    "detect_signals",
    "estimate_audit",
    "evidence_problems",
    "fallback_verdict",
    "find_numbers",
    "guess_attribution",
    "numbers_in_outputs",
    "outcome_of",
    "plan_audit",
    "search_steps",
    "sources_used",
    "verdict_from_signals",
    "verdict_type",
]
