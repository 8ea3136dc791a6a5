"""The ``Signal`` model: one piece of deterministic evidence, with the step and quote it rests on.

Shared by every signal detector: the strengths that rank signal kinds, and small helpers for finding
a quotable step (the agent responsible for an output, the step that carries the answer).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from memex_audit.auditor._scope import is_action
from memex_audit.taxonomy import SignalKind
from memex_audit.trajectory import Step, Trajectory


class Signal(BaseModel):
    """One piece of deterministic evidence.

    Attributes:
        kind: What the signal is (see ``memex_audit.taxonomy.SIGNAL_KINDS``).
        step: The step it points to; also the guess for the faulty step.
        quote: Text taken verbatim from that step.
        agent: The agent held responsible (for an executor's output, the agent whose call produced it).
        detail: What was found, in one sentence.
        strength: How strongly it indicates the failure (0..1); the strongest mapped signal wins.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SignalKind
    step: int
    quote: str
    agent: str | None = None
    detail: str
    strength: float = Field(ge=0.0, le=1.0)


STRENGTH: dict[str, float] = {
    "no_patch": 0.95,
    "tests_modified": 0.92,
    "config_modified": 0.9,
    "fix_partial": 0.89,
    "fix_missed": 0.88,
    "tests_regressed": 0.87,
    "format_mismatch": 0.9,
    "rounding_mismatch": 0.85,
    "intermediate_rounding": 0.6,
    "unit_mismatch": 0.85,
    "retyped_number": 0.85,
    "wrong_entity": 0.8,
    "wrong_arguments": 0.75,
    "missing_action": 0.7,
    "premature_transfer": 0.7,
    "policy_violation": 0.82,
    "computed_mismatch": 0.78,
    "unconfirmed_write": 0.45,
    "unsupported_amount": 0.6,
    "unexpected_action": 0.65,
    "preliminary_value": 0.75,
    "duplicated_source": 0.75,
    "corrupted_source": 0.75,
    "wrong_field": 0.7,
    "ground_truth_seen": 0.7,
    "wandered_past_answer": 0.8,
    "missing_sibling_source": 0.65,
    "turn_limit": 0.6,
    "tool_error": 0.55,
    "api_error": 0.55,
    "timeout": 0.55,
    "environment_error": 0.55,
    "no_answer": 0.5,
    "few_searches": 0.5,
    "repeated_searches": 0.45,
    "repeated_steps": 0.4,
}
"""Base strength of each signal kind: specific, hard-to-fake findings above circumstantial ones."""


def make_signal(
    kind: SignalKind,
    step: Step,
    quote: str,
    detail: str,
    *,
    agent: str | None = None,
    strength: float | None = None,
) -> Signal:
    return Signal(
        kind=kind,
        step=step.index,
        quote=quote.strip(),
        agent=agent if agent is not None else step.agent,
        detail=detail,
        strength=STRENGTH[kind] if strength is None else strength,
    )


def responsible_agent(trajectory: Trajectory, step_index: int) -> str | None:
    """The agent behind a step: for an observation, the agent of the nearest earlier step that acted."""
    for step in reversed(trajectory.steps[: step_index + 1]):
        if is_action(step):
            return step.agent
    return trajectory.steps[step_index].agent if trajectory.steps else None


def last_step_with(trajectory: Trajectory, quote: str) -> Step | None:
    """The last step where the trajectory acted and that contains ``quote``."""
    for step in reversed(trajectory.steps):
        if is_action(step) and step.contains(quote):
            return step
    return None


def first_line_with(text: str, match: re.Match[str]) -> str:
    """The whole line around a match, stripped and cut to 200 characters (a quotable error line)."""
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    line = text[start : end if end >= 0 else len(text)].strip()
    return line[:200] if len(line) > 200 else line


def tail_quote(step: Step) -> str:
    """The last non-empty line of a step (at most 120 characters): a quote for "it ended here"."""
    lines = [line.strip() for line in step.searchable_text().splitlines() if line.strip()]
    return lines[-1][:120] if lines else ""
