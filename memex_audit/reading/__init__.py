"""The one way to read a trajectory, shared by the auditor and the aggregator.

Call ↔ result pairs, error outputs judged by their structure, state-changing calls, the answer,
numbers and tables with where they came from, and the grading evidence a rollout carries (test
reports, the submitted patch, how the run ended). Views are memoised per trajectory object, weakly.
Nothing here holds a verdict.
"""

from memex_audit.reading._answers import (
    AnswerConfig,
    AnswerValue,
    numbers_in_text,
    parse_answer,
    values_match,
)
from memex_audit.reading._calls import (
    DEFAULT_READ_ONLY_PATTERNS,
    ToolConfig,
    answer_text,
    call_results,
    calls_with_results,
    error_line,
    failed_calls,
    is_error_output,
    is_error_text,
    is_handoff,
    is_read_only,
    is_state_changing,
    output_body,
    return_code,
)
from memex_audit.reading._edits import FileEdit, file_edits, first_edit
from memex_audit.reading._grading import (
    CodingEvidence,
    FileChange,
    PatchSummary,
    RunEnd,
    TestGroup,
    TestReport,
    coding_evidence,
    file_kind,
    parse_patch,
    read_test_report,
    run_end,
    submitted_patch,
)
from memex_audit.reading._memo import memo_by_identity, per_trajectory
from memex_audit.reading._numbers import NumberMention, find_numbers, same_value

__all__ = [
    "DEFAULT_READ_ONLY_PATTERNS",
    "AnswerConfig",
    "AnswerValue",
    "CodingEvidence",
    "FileChange",
    "FileEdit",
    "NumberMention",
    "PatchSummary",
    "RunEnd",
    "TestGroup",
    "TestReport",
    "ToolConfig",
    "answer_text",
    "call_results",
    "calls_with_results",
    "coding_evidence",
    "error_line",
    "failed_calls",
    "file_edits",
    "file_kind",
    "find_numbers",
    "first_edit",
    "is_error_output",
    "is_error_text",
    "is_handoff",
    "is_read_only",
    "is_state_changing",
    "memo_by_identity",
    "numbers_in_text",
    "output_body",
    "parse_answer",
    "parse_patch",
    "per_trajectory",
    "read_test_report",
    "return_code",
    "run_end",
    "same_value",
    "submitted_patch",
    "values_match",
]

# state changes, their grading, and domain packs (reading._actions, reading._packs)
from memex_audit.reading._actions import (
    ArgumentMismatch,
    GoldDiff,
    RewardView,
    StateChange,
    gold_action_diff,
    gold_actions,
    is_agreement,
    policy_findings,
    reward_view,
    state_changes,
    unrecovered_failures,
)
from memex_audit.reading._packs import (
    DomainPack,
    PolicyFinding,
    get_pack,
    pack_for,
    register_pack,
    registered_packs,
    unregister_pack,
)

__all__ += [
    "ArgumentMismatch",
    "DomainPack",
    "GoldDiff",
    "PolicyFinding",
    "RewardView",
    "StateChange",
    "get_pack",
    "gold_action_diff",
    "gold_actions",
    "is_agreement",
    "pack_for",
    "policy_findings",
    "register_pack",
    "registered_packs",
    "reward_view",
    "state_changes",
    "unrecovered_failures",
    "unregister_pack",
]
