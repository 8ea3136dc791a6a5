"""Domain packs: what a benchmark's tools mean, registered like formats, never hard-coded in the core.

A pack knows one family of tools (τ-bench / τ²-bench airline, for instance): which of its tools
only read and which change state, and the rules its policy sets on each state change, checked
against what the rollout itself saw in tool outputs before the change. The core reading layer
(``_actions``) and both stock agents look a pack up by the trajectory's harness and tool names
(``pack_for``); a trajectory no pack claims is read with the generic rules only.

A pack's findings are evidence, not verdicts: each cites the step of the state change, the rule it
breaks (in the policy's own words where possible) and the tool output that shows the condition.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from memex_audit.trajectory import Trajectory

FindingKind = Literal["policy_violation", "computed_mismatch"]


@dataclass(frozen=True)
class PolicyFinding:
    """A state change that a pack's policy rules forbid, or whose amounts do not add up.

    Attributes:
        step: The step that made the state-changing call.
        tool: The tool called.
        rule: A short name of the rule (``cancel_not_allowed``, ``basic_economy_modified`` ...).
        kind: ``policy_violation`` (the policy forbids the change under conditions the rollout saw)
            or ``computed_mismatch`` (an amount in the call disagrees with what the shown prices,
            allowances or balances give).
        detail: What was found, in one sentence.
        quote: Text quoted verbatim from the call's step (an argument value or the tool name).
        evidence_step: The step whose tool output shows the condition, when there is one.
        evidence_quote: A quote from that output.
    """

    step: int
    tool: str
    rule: str
    kind: FindingKind
    detail: str
    quote: str
    evidence_step: int | None = None
    evidence_quote: str | None = None


@runtime_checkable
class DomainPack(Protocol):
    """What a domain pack provides (see ``memex_audit.reading.packs`` for the shipped ones)."""

    name: str
    read_only: frozenset[str]
    """Tools of the domain that change no state."""
    state_changing: frozenset[str]
    """Tools of the domain that change state."""

    def claims(self, trajectory: Trajectory) -> float:
        """How surely the pack knows this trajectory's tools (0 = not at all, 1 = certain)."""
        ...

    def check_state_changes(self, trajectory: Trajectory) -> list[PolicyFinding]:
        """The policy findings about the trajectory's state-changing calls, in step order."""
        ...


@dataclass
class _Registry:
    packs: dict[str, DomainPack] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    builtins_loaded: bool = False


_REGISTRY = _Registry()

MIN_CLAIM = 0.5
"""A pack must claim a trajectory at least this surely to be used for it."""


def register_pack(pack: DomainPack, *, replace: bool = False) -> None:
    """Register a domain pack under ``pack.name`` (``replace`` to swap one registered before)."""
    if not isinstance(pack, DomainPack):
        raise TypeError(f"{pack!r} does not provide the DomainPack interface")
    with _REGISTRY.lock:
        if pack.name in _REGISTRY.packs and not replace and _REGISTRY.packs[pack.name] is not pack:
            raise ValueError(f"a domain pack named {pack.name!r} is already registered")
        _REGISTRY.packs[pack.name] = pack


def unregister_pack(name: str) -> None:
    """Remove a registered pack (no error when it is not registered)."""
    with _REGISTRY.lock:
        _REGISTRY.packs.pop(name, None)


def registered_packs() -> list[DomainPack]:
    """Every registered pack, shipped ones included, in registration order."""
    _load_builtins()
    with _REGISTRY.lock:
        return list(_REGISTRY.packs.values())


def get_pack(name: str) -> DomainPack:
    """The pack registered under ``name`` (``KeyError`` when there is none)."""
    _load_builtins()
    with _REGISTRY.lock:
        return _REGISTRY.packs[name]


def pack_for(trajectory: Trajectory) -> DomainPack | None:
    """The pack that claims ``trajectory`` most surely (by harness and tool names), or ``None``."""
    best: DomainPack | None = None
    best_claim = MIN_CLAIM
    for pack in registered_packs():
        claim = pack.claims(trajectory)
        if claim >= best_claim and (best is None or claim > best_claim):
            best, best_claim = pack, claim
    return best


def tool_names(trajectory: Trajectory) -> set[str]:
    """The names of the tools a trajectory called (what packs claim trajectories by)."""
    return {call.name for step in trajectory.steps for call in step.tool_calls}


def claim_by_tools(trajectory: Trajectory, known: Iterable[str], *, needed: int = 2) -> float:
    """A claim from tool names: the share of called tools the pack knows, 0 below ``needed`` known.

    A rollout that called none of its tools is not claimed: there is nothing to read it by.
    """
    called = tool_names(trajectory)
    known_set = set(known)
    hits = called & known_set
    if len(hits) < min(needed, len(called)) or not hits:
        return 0.0
    return len(hits) / len(called)


def _load_builtins() -> None:
    if _REGISTRY.builtins_loaded:
        return
    _REGISTRY.builtins_loaded = True
    import memex_audit.reading.packs  # noqa: F401  (registers the shipped packs)
