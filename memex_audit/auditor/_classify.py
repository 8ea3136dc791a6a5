"""From offline signals to a verdict under a taxonomy, and a fallback guess of who failed where.

The strongest signal that the taxonomy maps to a category becomes the primary label, with its quote as
evidence; the categories of other mapped signals become secondary labels. When no signal maps, the
label is ``unclassified`` and the explanation says what was checked: a guess is never presented as a
finding. Attribution (faulty step and agent) is always filled, since attribution data (Who&When) is
scored on it. It comes from ``_attribution.attribute``: the traced origin of the wrong answer's value,
else a signal whose kind marks where an error enters, else a positional guess, which the explanation
says it is and whose confidence stays at ``GUESS_CONFIDENCE``.
"""

from __future__ import annotations

from memex_audit.auditor._attribution import (
    Attribution,
    acting_step,
    agent_name,
    attribute,
    positional_guess,
)
from memex_audit.auditor._report import AuditVerdict
from memex_audit.auditor._signal import Signal
from memex_audit.taxonomy import UNCLASSIFIED, Taxonomy
from memex_audit.trajectory import Evidence, Trajectory

__all__ = [
    "GUESS_CONFIDENCE",
    "MIN_PRIMARY_STRENGTH",
    "acting_step",
    "agent_name",
    "fallback_verdict",
    "guess_attribution",
    "verdict_from_signals",
]

_MAX_EVIDENCE = 4
GUESS_CONFIDENCE = 0.1
"""Confidence given to a positional attribution guess that rests on no signal."""
TRACED_CONFIDENCE = 0.3
"""Confidence of an unclassified verdict whose attribution rests on a traced answer value."""
MIN_PRIMARY_STRENGTH = 0.35
"""Weaker signals (an error the run recovered from) can support a label but never be the finding."""


def guess_attribution(trajectory: Trajectory) -> tuple[int | None, str | None]:
    """Where a failure most often starts when nothing else points anywhere (see
    ``_attribution.positional_guess``): the first step of the working agent that acts on the world."""
    guess = positional_guess(trajectory)
    return guess.step, guess.agent


def _attribution_note(attribution: Attribution) -> str:
    if attribution.finding:
        return f"Faulty step {attribution.step} by {attribution.agent}: {attribution.reason}."
    return (
        f"The faulty step and agent are only a {attribution.reason} "
        "(no traced answer value or entry-point signal places them)."
    )


def verdict_from_signals(signals: list[Signal], taxonomy: Taxonomy, trajectory: Trajectory) -> AuditVerdict:
    """The verdict the offline policy submits for ``trajectory`` given the signals that fired on it."""
    mapped = [(s, taxonomy.category_for_signal(s.kind)) for s in signals]
    placed = [(s, c) for s, c in mapped if c is not None]
    fired = sorted({s.kind for s in signals})
    if placed and placed[0][0].strength < MIN_PRIMARY_STRENGTH:
        placed = []
    # Only the signals that are findings under this taxonomy may place the faulty step.
    attribution = attribute(trajectory, [s for s, _ in placed if s.strength >= MIN_PRIMARY_STRENGTH])
    if not placed:
        if signals:
            why = (
                f"signals fired ({', '.join(fired)}) but none that taxonomy {taxonomy.name!r} maps is strong "
                f"enough to be the finding (strongest: {signals[0].detail})"
            )
        else:
            why = (
                "no offline signal fired (errors in tool outputs, retyped numbers, the ground truth seen "
                "but not answered, sources of correct siblings, search count and repetition, turn limit, "
                "answer format, rounding and units, gold actions)"
            )
        evidence = [Evidence(step=s.step, quote=s.quote, note=s.detail) for s in signals[:_MAX_EVIDENCE]]
        if attribution.finding and attribution.quote and attribution.step is not None:
            evidence.insert(
                0, Evidence(step=attribution.step, quote=attribution.quote, note=attribution.reason)
            )
        return AuditVerdict(
            primary=UNCLASSIFIED,
            evidence=evidence[:_MAX_EVIDENCE],
            faulty_step=attribution.step,
            faulty_agent=attribution.agent,
            attribution="finding" if attribution.finding else "guess",
            explanation=f"Unclassified: {why}. {_attribution_note(attribution)}",
            confidence=TRACED_CONFIDENCE if attribution.finding else GUESS_CONFIDENCE,
            signals=fired,
        )
    top, category = placed[0]
    assert category is not None
    secondary: list[str] = []
    for signal, cat in placed[1:]:
        if signal.strength < MIN_PRIMARY_STRENGTH:
            continue  # too weak to be a finding of its own (an error the run recovered from)
        if cat is not None and cat.id != category.id and cat.id not in secondary:
            secondary.append(cat.id)
    evidence = [
        Evidence(step=s.step, quote=s.quote, note=f"{s.kind}: {s.detail}") for s, _ in placed[:_MAX_EVIDENCE]
    ]
    also = "; ".join(dict.fromkeys(f"{s.kind} → {c.id}" for s, c in placed[1:] if c is not None))
    explanation = f"{category.name}: {top.detail} (signal {top.kind})." + (f" Also: {also}." if also else "")
    explanation += f" {_attribution_note(attribution)}"
    if attribution.finding and attribution.quote and attribution.step is not None:
        if all(e.step != attribution.step for e in evidence) and len(evidence) < _MAX_EVIDENCE:
            evidence.append(Evidence(step=attribution.step, quote=attribution.quote, note=attribution.reason))
    return AuditVerdict(
        primary=category.id,
        secondary=secondary,
        evidence=evidence,
        faulty_step=attribution.step,
        faulty_agent=attribution.agent,
        attribution="finding" if attribution.finding else "guess",
        explanation=explanation,
        confidence=round(top.strength, 3),
        signals=fired,
    )


def fallback_verdict(trajectory: Trajectory, reason: str) -> AuditVerdict:
    """An ``unclassified`` verdict with a positional attribution guess, recording ``reason``."""
    step, agent = guess_attribution(trajectory)
    return AuditVerdict(
        primary=UNCLASSIFIED,
        faulty_step=step,
        faulty_agent=agent,
        attribution="guess",
        explanation=f"Unclassified: {reason}",
        confidence=0.0,
    )
