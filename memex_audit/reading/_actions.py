"""State changes and their grading: what a rollout wrote, whether it may have, and what the grader saw.

Blind views (an aggregator may read them):

* ``state_changes``: every state-changing call with its result, whether it failed, whether the
  user agreed in the turn before it, and the identifiers in it that no earlier tool output or
  user turn showed (invented ones).
* ``unrecovered_failures``: state changes that failed and were never made good by a later call
  of the same tool that succeeded.
* ``policy_findings``: what the domain pack (``_packs``) finds against its policy rules.

Grading views (only graders and the auditor read them; ``blind_group`` removes their inputs):

* ``gold_action_diff``: the state-changing calls made against the gold ones: missing, extra, made
  with wrong arguments. Gold read-only actions are ignored: reading is not graded by state.
* ``reward_view``: what a τ-bench / τ²-bench ``reward_info`` says: reward, database match, the
  gold writes that did not match, failed communicate checks and assertions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import JsonValue

from memex_audit.reading._calls import ToolConfig, call_results, error_line, is_state_changing
from memex_audit.reading._memo import per_trajectory
from memex_audit.reading._packs import DomainPack, PolicyFinding, pack_for
from memex_audit.trajectory import Step, Trajectory

_IDENTIFIER = re.compile(r"(?=[\w-]*[a-z])(?=[\w-]*\d)[\w-]{3,}", re.IGNORECASE)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(t[\d:.]+)?", re.IGNORECASE)
_AFFIRM_WORDS = (
    r"(yes|yeah|yep|yup|confirm(?:ed|s)?|i confirm|proceed|go ahead|do it|sounds good|"
    r"that'?s (?:right|correct|fine)|that is (?:right|correct|fine)|correct|ok(?:ay)?|sure|"
    r"absolutely|please do|let'?s do|works for me|that works|agreed?)\b"
)
_REFUSE_WORDS = r"(no|nope|don'?t|do not|not yet|wait|hold on|stop|cancel that|never ?mind)\b"
# Each pattern looks ahead for the first letters of its words: the regex engine then leaves most
# positions at once instead of trying every word there.
_AFFIRM = re.compile(r"\b(?=[acdgilopstwy])" + _AFFIRM_WORDS, re.IGNORECASE)
_REFUSE = re.compile(r"\b(?=[cdhnsw])" + _REFUSE_WORDS, re.IGNORECASE)


@dataclass(frozen=True)
class StateChange:
    """One state-changing tool call, as the rollout made it.

    Attributes:
        step: The step that made the call.
        position: Its position among that step's calls.
        name: The tool.
        arguments: The arguments, as called.
        result_step: The step holding the result (``None`` when there was none).
        failed: The result reports an error (see ``reading._calls.error_line``).
        error: The line that shows the failure.
        confirmed: The last user turn before the call agrees (``yes``, ``please proceed``...) and
            does not refuse.
        confirm_step: That user turn, when there is one.
        unseen: Identifier-like argument values (ids, codes, flight numbers) that no earlier tool
            output or user turn contains.
    """

    step: int
    position: int
    name: str
    arguments: dict[str, JsonValue]
    result_step: int | None
    failed: bool
    error: str | None = None
    confirmed: bool = False
    confirm_step: int | None = None
    unseen: tuple[str, ...] = ()


def tool_config_for(trajectory: Trajectory, pack: DomainPack | None = None) -> ToolConfig:
    """The tool configuration for a trajectory: the generic patterns, with its pack's tool lists."""
    pack = pack if pack is not None else pack_for(trajectory)
    if pack is None:
        return ToolConfig()
    return ToolConfig(read_only=pack.read_only, state_changing=pack.state_changing)


def state_changes(trajectory: Trajectory) -> list[StateChange]:
    """Every state-changing call of the trajectory, in order (see ``StateChange``)."""
    return _state_changes(trajectory)


@per_trajectory
def _state_changes(trajectory: Trajectory) -> list[StateChange]:
    config = tool_config_for(trajectory)
    results = call_results(trajectory)
    out: list[StateChange] = []
    seen_steps: list[Step] = []
    last_user: Step | None = None
    # The earlier text and the go-ahead change only between calls: each is worked out when it does,
    # and the earlier text only for a call with identifiers (a shell command has none), adding the
    # steps seen since it was last worked out.
    seen, seen_parts_joined = "", 0
    confirmed, confirmed_by = False, None
    for step in trajectory.steps:
        for pos, call in enumerate(step.tool_calls):
            if not is_state_changing(call.name, config):
                continue
            result = results.get((step.index, pos))
            error = error_line(result) if result is not None else None
            values = identifiers(call.arguments)
            if values and seen_parts_joined < len(seen_steps):
                parts = [_seen_text(s) for s in seen_steps[seen_parts_joined:]]
                seen = " ".join([seen, *parts] if seen_parts_joined else parts)
                seen_parts_joined = len(seen_steps)
            if confirmed_by is not last_user:
                confirmed = last_user is not None and is_agreement(last_user.text or "")
                confirmed_by = last_user
            out.append(
                StateChange(
                    step=step.index,
                    position=pos,
                    name=call.name,
                    arguments=dict(call.arguments),
                    result_step=result.index if result is not None else None,
                    failed=error is not None,
                    error=error,
                    confirmed=confirmed,
                    confirm_step=last_user.index if last_user is not None else None,
                    unseen=tuple(v for v in values if v.casefold() not in seen),
                )
            )
        if step.role == "user" and (step.text or "").strip():
            last_user = step
        if step.role in ("tool", "user", "system") or step.output:
            seen_steps.append(step)
    return out


def _seen_text(step: Step) -> str:
    """What a step showed, as identifiers are looked up in it: whitespace runs as one space, casefolded."""
    return " ".join((step.output or step.text or "").split()).casefold()


_AFFIRM_LOWERED = re.compile(_AFFIRM_WORDS)
_REFUSE_LOWERED = re.compile(_REFUSE_WORDS)
"""The words alone, for lowered text: a case-sensitive pattern that opens with its words' first
letters lets the regex engine skip ahead to them (see ``_word_starts``)."""
_FOLDS_TO_ASCII = "\u0130\u0131\u017f\u212a"
"""The characters besides ASCII ones that a case-insensitive pattern matches to an ASCII letter
(dotted and dotless i, long s, Kelvin sign). Lowering any other character keeps its length and
whether it is a word character, so in a text without them the lowercase words find in the lowered
text the matches the case-insensitive patterns find in the text, at the same offsets."""
_WORD_CHAR = re.compile(r"\w")


def is_agreement(text: str) -> bool:
    """Whether a user turn agrees to go ahead: an affirmative, and no refusal after the last one."""
    if text.isascii() or not any(c in text for c in _FOLDS_TO_ASCII):
        lowered = text.lower()
        agrees = _word_starts(_AFFIRM_LOWERED, lowered)
        if not agrees:
            return False
        refusals = _word_starts(_REFUSE_LOWERED, lowered)
    else:
        agrees = [m.start() for m in _AFFIRM.finditer(text)]
        if not agrees:
            return False
        refusals = [m.start() for m in _REFUSE.finditer(text)]
    # "No, that's fine ... please go ahead": the last word on it counts
    return not refusals or refusals[-1] < agrees[-1]


def _word_starts(words: re.Pattern[str], text: str) -> list[int]:
    """Where the matches of ``\\b`` and then ``words`` start, as ``finditer`` finds them: a match of
    ``words`` inside a word (no ``\\b`` before it) is passed over and the search goes on one
    character later, where the pattern with ``\\b`` would have gone on."""
    starts = []
    search, word_char = words.search, _WORD_CHAR.match
    at = 0
    while (match := search(text, at)) is not None:
        start = match.start()
        if start and word_char(text, start - 1):
            at = start + 1
        else:
            starts.append(start)
            at = match.end()
    return starts


def identifiers(arguments: dict[str, JsonValue]) -> list[str]:
    """Identifier-like argument values (letters and digits: ids, codes, flight numbers).

    Enumerations (``round_trip``), dates and amounts are left out: users say them in their own
    words ("May 20") and agents compute amounts, so their absence from earlier text proves nothing.
    """
    out: list[str] = []
    if not isinstance(arguments, dict):
        _collect_identifiers(arguments, out)
        return out
    for value in arguments.values():
        if isinstance(value, str):  # most arguments: read here, without a call
            if _IDENTIFIER.fullmatch(value) and not _DATE.fullmatch(value):
                out.append(value)
        elif isinstance(value, dict | list):
            _collect_identifiers(value, out)
    return out


def _collect_identifiers(value: JsonValue, out: list[str]) -> None:
    if isinstance(value, dict):
        for v in value.values():
            _collect_identifiers(v, out)
    elif isinstance(value, list):
        for v in value:
            _collect_identifiers(v, out)
    elif isinstance(value, str) and _IDENTIFIER.fullmatch(value) and not _DATE.fullmatch(value):
        out.append(value)


def unrecovered_failures(trajectory: Trajectory) -> list[StateChange]:
    """Failed state changes that no later successful call of the same tool made good."""
    changes = state_changes(trajectory)
    out = []
    for i, change in enumerate(changes):
        if change.failed and not any(c.name == change.name and not c.failed for c in changes[i + 1 :]):
            out.append(change)
    return out


def policy_findings(trajectory: Trajectory) -> list[PolicyFinding]:
    """What the trajectory's domain pack finds against its policy (empty when no pack claims it)."""
    return _policy_findings(trajectory)


@per_trajectory
def _policy_findings(trajectory: Trajectory) -> list[PolicyFinding]:
    pack = pack_for(trajectory)
    return pack.check_state_changes(trajectory) if pack is not None else []


# -- grading views ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArgumentMismatch:
    """A state-changing call that matches a gold action's tool but not all of its arguments.

    Attributes:
        step: The step of the call.
        name: The tool.
        keys: The gold argument keys whose values differ (dotted for nested ones).
        made: The call's value of each differing key.
        expected: The gold value of each differing key.
    """

    step: int
    name: str
    keys: tuple[str, ...]
    made: dict[str, JsonValue]
    expected: dict[str, JsonValue]


@dataclass(frozen=True)
class GoldDiff:
    """The state-changing calls made against the gold actions.

    Attributes:
        matched: Gold writes made as given, as (gold index, step of the call).
        missing: Gold writes (index into the gold list) with no call of the same tool left.
        wrong_arguments: Gold writes made with other arguments.
        extra: Successful state changes that match no gold write.
        failed: State changes whose result was an error (they changed nothing).
    """

    matched: list[tuple[int, int]] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    wrong_arguments: list[ArgumentMismatch] = field(default_factory=list)
    extra: list[StateChange] = field(default_factory=list)
    failed: list[StateChange] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Every gold write was made as given and nothing else changed state."""
        return not (self.missing or self.wrong_arguments or self.extra)


def gold_actions(trajectory: Trajectory, gold: JsonValue = None) -> list[dict[str, Any]] | None:
    """The gold actions (``{"name", "arguments"}`` each) of a trajectory, or ``None`` without them."""
    value = trajectory.ground_truth if gold is None else gold
    if not isinstance(value, list) or not value:
        return None
    actions = [a for a in value if isinstance(a, dict) and isinstance(a.get("name"), str)]
    return actions if len(actions) == len(value) else None


def gold_action_diff(trajectory: Trajectory, gold: JsonValue = None) -> GoldDiff | None:
    """Compare the trajectory's successful state changes with its gold writes (``None`` without gold).

    A call matches a gold action when the tool is the same and every gold argument has the same
    value (strings compared case- and space-insensitively, lists item by item, objects on the gold
    keys only, so a call that also passes a flight's price still matches). Gold read-only actions
    are ignored.
    """
    actions = gold_actions(trajectory, gold)
    if actions is None:
        return None
    config = tool_config_for(trajectory)
    writes = [(i, a) for i, a in enumerate(actions) if is_state_changing(a["name"], config)]
    changes = state_changes(trajectory)
    made = [c for c in changes if not c.failed]
    diff = GoldDiff(failed=[c for c in changes if c.failed])
    used: set[int] = set()
    unmatched: list[tuple[int, dict[str, Any]]] = []
    for index, action in writes:
        wanted = action.get("arguments") or {}
        hit = next(
            (
                j
                for j, c in enumerate(made)
                if j not in used and c.name == action["name"] and not _differing(wanted, c.arguments)
            ),
            None,
        )
        if hit is None:
            unmatched.append((index, action))
        else:
            used.add(hit)
            diff.matched.append((index, made[hit].step))
    for index, action in unmatched:
        wanted = action.get("arguments") or {}
        candidates = [j for j, c in enumerate(made) if j not in used and c.name == action["name"]]
        if not candidates:
            diff.missing.append(index)
            continue
        best = min(candidates, key=lambda j: len(_differing(wanted, made[j].arguments)))
        used.add(best)
        keys = _differing(wanted, made[best].arguments)
        diff.wrong_arguments.append(
            ArgumentMismatch(
                step=made[best].step,
                name=action["name"],
                keys=tuple(keys),
                made={k: _at(made[best].arguments, k) for k in keys},
                expected={k: _at(wanted, k) for k in keys},
            )
        )
    diff.extra.extend(c for j, c in enumerate(made) if j not in used)
    return diff


def _norm(value: JsonValue) -> JsonValue:
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _same(wanted: JsonValue, made: JsonValue) -> bool:
    if isinstance(wanted, dict):
        return isinstance(made, dict) and all(_same(v, made.get(k)) for k, v in wanted.items())
    if isinstance(wanted, list):
        return (
            isinstance(made, list)
            and len(made) == len(wanted)
            and all(_same(w, m) for w, m in zip(wanted, made, strict=True))
        )
    return _norm(wanted) == _norm(made)


def _differing(wanted: dict[str, JsonValue], made: dict[str, JsonValue]) -> list[str]:
    return [k for k, v in wanted.items() if not _same(v, made.get(k))]


def _at(arguments: dict[str, JsonValue], key: str) -> JsonValue:
    return arguments.get(key)


@dataclass(frozen=True)
class RewardView:
    """What a τ-bench / τ²-bench ``reward_info`` records about one rollout.

    Attributes:
        reward: The reward (``None`` when not recorded).
        db_match: Whether the final database matched the gold one (``None`` when not checked).
        failed_writes: Names of gold state-changing actions the checks found unmatched.
        failed_reads: Names of gold read-only actions the checks found unmatched (not graded by state).
        communicate_failed: Information the agent had to tell the user and did not.
        assertions_failed: Natural-language assertions judged unmet.
        basis: What the reward was computed from (``DB``, ``COMMUNICATE``, ``ACTION``, ``NL_ASSERTION``).
        breakdown: Reward of each basis.
    """

    reward: float | None = None
    db_match: bool | None = None
    failed_writes: list[str] = field(default_factory=list)
    failed_reads: list[str] = field(default_factory=list)
    communicate_failed: list[str] = field(default_factory=list)
    assertions_failed: list[str] = field(default_factory=list)
    basis: list[str] = field(default_factory=list)
    breakdown: dict[str, float] = field(default_factory=dict)

    @property
    def state_failed(self) -> bool:
        """The state the rollout left was graded wrong (database mismatch or an unmatched gold write)."""
        return self.db_match is False or bool(self.failed_writes)


def reward_view(trajectory: Trajectory) -> RewardView | None:
    """The grading record of a τ-bench / τ²-bench rollout (``None`` when it has none)."""
    details: dict[str, Any] = dict(trajectory.outcome.details or {})
    info = details
    if "reward_info" in details and isinstance(details["reward_info"], dict):
        info = details["reward_info"]
    nested = info.get("info") if isinstance(info.get("info"), dict) else None
    if not any(
        k in info
        for k in ("db_check", "action_checks", "reward_breakdown", "communicate_checks", "r_actions")
    ) and not (nested and "r_actions" in nested):
        return None
    config = tool_config_for(trajectory)
    db = info.get("db_check")
    db_match: bool | None = None
    if isinstance(db, dict) and isinstance(db.get("db_match"), bool):
        db_match = db["db_match"]
    elif isinstance(info.get("r_actions"), int | float):
        db_match = info["r_actions"] >= 1
    elif nested is not None and isinstance(nested.get("r_actions"), int | float):
        db_match = nested["r_actions"] >= 1
    failed_writes: list[str] = []
    failed_reads: list[str] = []
    for check in _list(info.get("action_checks")):
        action = check.get("action") if isinstance(check, dict) else None
        if not isinstance(action, dict) or check.get("action_match") is not False:
            continue
        name = str(action.get("name"))
        (failed_writes if is_state_changing(name, config) else failed_reads).append(name)
    communicate = [
        str(c.get("info"))
        for c in _list(info.get("communicate_checks"))
        if isinstance(c, dict) and c.get("met") is False
    ]
    assertions = [
        str(c.get("nl_assertion"))
        for c in _list(info.get("nl_assertions"))
        if isinstance(c, dict) and c.get("met") is False
    ]
    breakdown_raw = info.get("reward_breakdown")
    breakdown = (
        {k: float(v) for k, v in breakdown_raw.items() if isinstance(v, int | float)}
        if isinstance(breakdown_raw, dict)
        else {}
    )
    basis = [str(b) for b in _list(info.get("reward_basis"))]
    return RewardView(
        reward=trajectory.outcome.reward,
        db_match=db_match,
        failed_writes=failed_writes,
        failed_reads=failed_reads,
        communicate_failed=communicate,
        assertions_failed=assertions,
        basis=basis,
        breakdown=breakdown,
    )


def _list(value: object) -> Sequence[Any]:
    return value if isinstance(value, list) else []


__all__ = [
    "ArgumentMismatch",
    "GoldDiff",
    "RewardView",
    "StateChange",
    "gold_action_diff",
    "gold_actions",
    "identifiers",
    "is_agreement",
    "policy_findings",
    "reward_view",
    "state_changes",
    "tool_config_for",
    "unrecovered_failures",
]
