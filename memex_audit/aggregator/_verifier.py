"""The offline verifier: check each rollout against its raw tool outputs, then vote by evidence.

``check_rollouts`` scores every rollout of a task without reading any outcome, label or ground
truth (callers pass a blinded group; see ``blind_group``):

=========================================  ==================================================
finding                                    effect on the rollout's weight (starts at 1)
=========================================  ==================================================
answer's value printed in a source read    +0.5 (``present``)
answer one arithmetic step from read cells +0.3 (``derived``)
answer traced to nothing the rollout read  -0.5 (``unsupported``)
state change with identifiers never seen   -0.3 each, at most -0.6
state change the domain policy forbids     -0.6 each, at most -0.9: a pack's rule broken under
(or whose amounts do not add up)           conditions the rollout's own tool outputs showed
failed state change never made good        -0.3 each, at most -0.6
state change without the user's go-ahead   -0.2 each, at most -0.4
error, traceback or failed check           -0.1 per step, at most -0.3
run stopped on a limit or an error         -0.5
answer rests on a suspect source           x (1 - severity): a reprinted table or a misprinted
                                           cell named by another source has severity 1
read a suspect source, answer elsewhere    -0.1
=========================================  ==================================================

An answer rests on a suspect source when one route to it uses a cell that other sources show to
be misprinted, or when every route to it runs through a suspect read (see ``_sources``). The
weights are fixed by design, not fitted to any graded data.

``evidence_vote`` then sums the weights of the rollouts giving each answer (``weighted_vote``) and
cites the steps behind the choice and against the strongest rival. For environment tasks (action
keys), rollouts whose state changes overlap lend each other a share of their weight
(``OVERLAP_WEIGHT``): near-agreement is evidence too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from memex_audit.aggregator._baselines import keys_for
from memex_audit.aggregator._keys import AnswerKey, KeyConfig
from memex_audit.aggregator._models import Aggregation, EvidenceItem, RolloutCheck
from memex_audit.aggregator._sources import SourceFinding, find_suspect_sources, read_sources
from memex_audit.aggregator._support import action_support, answer_support, hit_limit, trouble_steps
from memex_audit.aggregator._vote import TieBreak, weighted_vote
from memex_audit.trajectory import TaskGroup, Trajectory

MAX_EVIDENCE = 6


def check_rollouts(group: TaskGroup, config: KeyConfig | None = None) -> list[RolloutCheck]:
    """What the verifier finds about each rollout of ``group`` (in order), with its vote weight."""
    keys = keys_for(group, config)
    reads = [r for t in group.trajectories for r in read_sources(t, config)]
    findings = find_suspect_sources(reads)
    return [_check(t, k, findings, config) for t, k in zip(group.trajectories, keys, strict=True)]


def evidence_vote(
    group: TaskGroup,
    checks: Sequence[RolloutCheck] | None = None,
    config: KeyConfig | None = None,
    *,
    tie_break: TieBreak = "first_seen",
) -> Aggregation:
    """Vote by the verifier's weights and explain the choice with cited steps."""
    checks = list(checks) if checks is not None else check_rollouts(group, config)
    keys = keys_for(group, config)
    ids = [t.id for t in group.trajectories]
    vote = weighted_vote(
        keys,
        ids,
        _with_overlap(keys, [c.score for c in checks]),
        config=config,
        tie_break=tie_break,
        task_id=group.task_id,
    )
    if not vote.winner:
        return Aggregation(
            task_id=group.task_id,
            policy="verifier",
            answer=None,
            rationale="no rollout gave an answer",
            checks=checks,
            n_rollouts=len(ids),
        )
    # Among rollouts giving the same answer, the representative is the best checked one; on a tie,
    # the one with fewer errors, then the one that told the user more (graders also check what the
    # user was told, and rollouts with the same state changes differ there).
    told = [_told_user(t) for t in group.trajectories]
    chosen = sorted(vote.winner, key=lambda i: (-checks[i].score, len(checks[i].error_steps), -told[i], i))
    by_id = {t.id: t for t in group.trajectories}
    evidence = _evidence_for(by_id, [checks[i] for i in chosen], supports=True)
    rival = next((v for v in vote.votes if v.answer != vote.label), None)
    rival_checks = [c for c in checks if rival is not None and c.rollout_id in rival.rollouts]
    evidence += _evidence_for(by_id, rival_checks, supports=False)
    best = checks[chosen[0]]
    parts = [
        f"chose the answer of {len(chosen)} of {len(ids)} rollouts at weight {vote.votes[0].weight:g}"
        f" (best {best.rollout_id}, score {best.score:g}: {_describe(best)})"
    ]
    if rival is not None:
        parts.append(
            f"rival '{_short(rival.answer)}' from {rival.count} rollouts at weight {rival.weight:g}"
            + (f": {_describe(rival_checks[0])}" if rival_checks else "")
        )
    if vote.tie_break:
        parts.append(vote.tie_break)
    return Aggregation(
        task_id=group.task_id,
        policy="verifier",
        answer=vote.label,
        chosen_rollouts=[ids[i] for i in chosen],
        rationale="; ".join(parts),
        evidence=verify_evidence(group, evidence),
        confidence=vote.confidence,
        votes=vote.votes,
        tie_break=vote.tie_break,
        checks=checks,
        n_rollouts=len(ids),
    )


OVERLAP_WEIGHT = 0.25
"""How much a rollout with other state changes lends an action set, per share of calls they share."""


def _with_overlap(keys: Sequence[AnswerKey], scores: Sequence[float]) -> list[float]:
    """Scores with partial agreement between action sets added (answer keys are left as they are).

    Two environment rollouts that made most of the same state changes back each other's common
    part: a rollout whose set another rollout shares all but one call of is more likely right than
    one nobody comes near. Each action set gains ``OVERLAP_WEIGHT`` x the weight of every rollout
    with another set x the share of calls the two have in common (multiset Jaccard), spread over
    the rollouts that made it; rollouts with the same set already add up in the vote.
    """
    if not all(k.kind == "actions" for k in keys) or len(keys) < 3:
        return list(scores)
    calls = [Counter(a.signature() for a in k.actions) for k in keys]
    out = []
    for i, key in enumerate(keys):
        same = sum(1 for k in keys if k.label == key.label)
        lent = 0.0
        for j, other in enumerate(keys):
            if other.label == key.label:
                continue
            union = sum((calls[i] | calls[j]).values())
            lent += max(0.0, scores[j]) * (sum((calls[i] & calls[j]).values()) / union if union else 0.0)
        out.append(scores[i] + OVERLAP_WEIGHT * lent / same if scores[i] > 0 else scores[i])
    return out


def offline_verifier(
    group: TaskGroup, config: KeyConfig | None = None, *, tie_break: TieBreak = "first_seen"
) -> Aggregation:
    """``check_rollouts`` then ``evidence_vote``: the verifier as one pure function."""
    return evidence_vote(group, check_rollouts(group, config), config, tie_break=tie_break)


def verify_evidence(group: TaskGroup, evidence: Sequence[EvidenceItem]) -> list[EvidenceItem]:
    """Each item with ``verified`` set: the rollout and step exist and the step contains the quote."""
    by_id = {t.id: t for t in group.trajectories}
    out = []
    for item in evidence:
        trajectory = by_id.get(item.rollout_id)
        ok = (
            trajectory is not None
            and 0 <= item.step < len(trajectory.steps)
            and trajectory.steps[item.step].contains(item.quote)
        )
        out.append(item.model_copy(update={"verified": ok}))
    return out


def _check(
    trajectory: Trajectory,
    key: AnswerKey,
    findings: dict[tuple[str, int], list[SourceFinding]],
    config: KeyConfig | None = None,
) -> RolloutCheck:
    if key.is_none:
        return RolloutCheck(rollout_id=trajectory.id, answer=key.label, score=0.0, support="none")
    notes: list[str] = []
    score = 1.0
    support = (
        action_support(trajectory, key) if key.kind == "actions" else answer_support(trajectory, key, config)
    )
    if support.kind == "present":
        score += 0.5
        notes.append(f"value occurs in the output of step {', '.join(map(str, support.steps[:3]))}")
    elif support.kind == "derived":
        score += 0.3
        notes.append(f"value follows from steps {support.steps} as {support.note}")
    elif support.kind == "unsupported" and key.kind == "answer":
        score -= 0.5
        notes.append("value occurs in no tool output and follows from no two values the rollout saw")
    if support.missing:
        score -= min(0.6, 0.3 * len(support.missing))
        notes.append("arguments never seen before the call: " + "; ".join(support.missing[:3]))
    if support.violations:
        score -= min(0.9, 0.6 * len(support.violations))
        notes.append("against the domain policy: " + "; ".join(support.violations[:2]))
    if support.unrecovered_steps:
        score -= min(0.6, 0.3 * len(support.unrecovered_steps))
        notes.append(
            f"state changes failed and were never made good at steps {sorted(set(support.unrecovered_steps))}"
        )
    if support.unconfirmed_steps:
        score -= min(0.4, 0.2 * len(support.unconfirmed_steps))
        notes.append(
            f"state changes without the user's confirmation at steps {sorted(set(support.unconfirmed_steps))}"
        )
    errors = trouble_steps(trajectory)
    if errors:
        score -= min(0.3, 0.1 * len(errors))
        notes.append(f"errors or failed checks at steps {errors[:5]}")
    limit = hit_limit(trajectory)
    if limit:
        score -= 0.5
        notes.append(f"run stopped on '{limit}'")
    own = {step: fs for (rid, step), fs in findings.items() if rid == trajectory.id}
    suspect_steps = sorted(own)
    if own:
        resting = _resting_on_suspects(support.routes, own) if key.kind == "answer" else []
        if resting:
            worst = max(resting, key=lambda f: f.severity)
            # an answer read off a copied or misprinted table is worth what that table is worth
            score *= 1.0 - worst.severity
            notes.append(f"every route to the answer runs through step {worst.step}: {worst.note}")
        else:
            score -= 0.1
            first = own[suspect_steps[0]][0]
            notes.append(
                f"read a suspect source at step {first.step} but the answer does not rest on it: {first.note}"
            )
    return RolloutCheck(
        rollout_id=trajectory.id,
        answer=key.label,
        score=round(max(0.0, score), 6),
        support=support.kind,
        support_steps=support.steps,
        support_quotes=support.quotes,
        error_steps=errors,
        limit_hit=limit is not None,
        suspect_source_steps=suspect_steps,
        unconfirmed_steps=support.unconfirmed_steps,
        policy_steps=support.violation_steps,
        unrecovered_steps=support.unrecovered_steps,
        notes=notes,
    )


def _resting_on_suspects(
    routes: Sequence[tuple[int, frozenset[float], bool]], own: dict[int, list[SourceFinding]]
) -> list[SourceFinding]:
    """The suspect findings the answer rests on (empty when it does not).

    A route through a cell identified as misprinted is enough: passing through one specific bad
    cell by coincidence is unlikely. Otherwise every route must run through a suspect read. A
    value printed as such in a clean read clears the answer.
    """
    if not routes:
        return []
    tainted: list[list[SourceFinding]] = []
    for step, used, printed in routes:
        hits = [f for f in own.get(step, []) if f.values is None or used & f.values]
        if printed and not hits:
            return []
        tainted.append(hits)
    specific = [
        f
        for hits in tainted
        for f in hits
        if f.values is not None and (f.severity >= 1.0 or f.kind == "superseded")
    ]
    if specific:
        return specific
    if all(tainted):
        return [f for hits in tainted for f in hits]
    return []


def _evidence_for(
    by_id: dict[str, Trajectory], checks: Sequence[RolloutCheck], *, supports: bool
) -> list[EvidenceItem]:
    items: list[EvidenceItem] = []
    for check in checks:
        trajectory = by_id[check.rollout_id]
        steps = check.support_steps if supports else (check.suspect_source_steps or check.error_steps)
        quotes = check.support_quotes if supports else []
        for n, step in enumerate(steps[:2]):
            quote = quotes[n] if n < len(quotes) and quotes[n] else _quote(trajectory, step)
            if quote:
                items.append(
                    EvidenceItem(
                        rollout_id=check.rollout_id,
                        step=step,
                        quote=quote,
                        supports=supports,
                        note=check.notes[0] if check.notes else None,
                    )
                )
        if len(items) >= MAX_EVIDENCE // 2:
            break
    return items


def _told_user(trajectory: Trajectory) -> int:
    """How much the rollout said to the user: characters of assistant messages that call no tool."""
    return sum(len(s.text or "") for s in trajectory.steps if s.role == "assistant" and not s.tool_calls)


def _quote(trajectory: Trajectory, step: int) -> str:
    if not 0 <= step < len(trajectory.steps):
        return ""
    s = trajectory.steps[step]
    if s.tool_calls:
        return s.tool_calls[0].name
    text = s.output or s.text or s.error or ""
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:160]
    return ""


def _describe(check: RolloutCheck) -> str:
    return "; ".join(check.notes[:2]) or f"support {check.support}"


def _short(label: str, limit: int = 80) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
