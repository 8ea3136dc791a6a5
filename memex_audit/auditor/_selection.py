"""Which rollouts an audit takes: by default the failed ones (see ``memex_audit.runs.Selection``).

A rollout without a grade can be audited too: it is checked for the taxonomy's failure modes
without a reference, and its report says so.
"""

from __future__ import annotations

from memex_audit.runs import Selection
from memex_audit.trajectory import OutcomeName


class AuditSelection(Selection):
    """A ``Selection`` whose outcomes default to the failed rollouts."""

    outcomes: frozenset[OutcomeName] = frozenset({"failed"})


__all__ = ["AuditSelection"]
