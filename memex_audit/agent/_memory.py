"""Indexed experience memory: older turns become one index line each; their content stays exact.

The context of a long run grows by a reply and an observation per turn. Once the next request
passes ``compress_at`` of the context budget, the older turns are taken out of the conversation
and replaced by an index (one line per turn, under a stable key such as ``T3``) placed after the
task. What each turn held (its reasoning, code, complete output, error) stays in the run's
``ExperienceStore``; ``recall("T3")`` in the kernel returns it exactly, as a Python object.

This is RAM plus disk: the index is the working memory, the store an archive addressed by keys,
so a compact context can still dereference an exact earlier artifact instead of a lossy summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from memex_audit.agent._prompts import fill
from memex_audit.errors import UsageError
from memex_audit.llm import ChatMessage, LLMRequest, estimate_request_tokens
from memex_audit.trajectory import Step


@dataclass(frozen=True)
class MemoryConfig:
    """When and how a run compresses its older turns.

    Args:
        context_budget: Tokens (estimated offline) a request may take: the system prompt and
            every message.
        compress_at: Share of the budget past which older turns are compressed (leave room
            for one turn's reply and observation above it).
        compress_to: Share of the budget a compression brings the request down to, oldest
            turns first (the last turn always stays verbatim). The gap between the two makes
            compressions rare: each frees room for several turns.
        line_chars: Length of one index line.
        index_share: Share of the budget the index may take; past it, the oldest lines are
            folded into one (``- T1..T80: ...``), their keys still valid for ``recall``.
    """

    context_budget: int = 8000
    compress_at: float = 0.7
    compress_to: float = 0.4
    line_chars: int = 160
    index_share: float = 0.25

    def __post_init__(self) -> None:
        if self.context_budget < 500:
            raise UsageError(f"context_budget must be at least 500 tokens, not {self.context_budget}")
        if not 0.0 < self.compress_to <= self.compress_at <= 1.0:
            raise UsageError(
                f"need 0 < compress_to <= compress_at <= 1, not {self.compress_to} and {self.compress_at}"
            )
        if self.line_chars < 40:
            raise UsageError(f"line_chars must be at least 40, not {self.line_chars}")
        if not 0.0 < self.index_share < self.compress_to + 1e-9:
            raise UsageError(f"index_share must be above 0 and at most compress_to, not {self.index_share}")

    @property
    def threshold(self) -> int:
        """Tokens past which the next request triggers a compression."""
        return int(self.context_budget * self.compress_at)

    @property
    def target(self) -> int:
        """Tokens a compression aims to bring the request down to."""
        return int(self.context_budget * self.compress_to)


@dataclass(frozen=True, repr=False)
class Experience:
    """One earlier turn, exactly as it happened (what ``recall(key)`` returns).

    Attributes:
        key: Its stable key (``T3`` is turn 3).
        turn: The turn number.
        text: The reasoning written with the code.
        code: The code block that ran (``None`` when the reply had none).
        output: Everything the block printed, complete (the observation showed a bounded part).
        error: The error it raised, if any.
    """

    key: str
    turn: int
    text: str
    code: str | None
    output: str
    error: str | None

    def __repr__(self) -> str:
        # Sizes, not contents: printing a whole experience would refill the context it left.
        code = f"{len(self.code):,} chars" if self.code is not None else "None"
        error = repr(self.error.splitlines()[-1]) if self.error else "None"
        return (
            f"Experience(key={self.key!r}, text={_first_line(self.text)[:60]!r}, code=<{code}>, "
            f"output=<{len(self.output):,} chars>, error={error})"
        )


class ExperienceStore:
    """Every turn of a run under its key; what ``recall`` reads.

    Attributes:
        recalls: The keys recalled so far, in order (recorded in the run).
    """

    def __init__(self) -> None:
        self._items: dict[str, Experience] = {}
        self.recalls: list[str] = []

    def add(self, turn: int, step: Step) -> Experience:
        """Store the turn recorded as ``step`` (an assistant step of the run)."""
        key = f"T{turn}"
        experience = Experience(
            key=key,
            turn=turn,
            text=step.text or "",
            code=step.code,
            output=step.output or "",
            error=step.error,
        )
        self._items[key] = experience
        return experience

    def keys(self) -> list[str]:
        """All keys, oldest first."""
        return list(self._items)

    def recall(self, key: str) -> Experience:
        """The experience stored under ``key`` (``"T3"``, ``"t3"`` or ``3``).

        Raises:
            KeyError: No such key; the message lists the range of keys there are.
        """
        normal = f"T{key}" if isinstance(key, int) else str(key).strip().upper()
        experience = self._items.get(normal)
        if experience is None:
            known = self.keys()
            span = (known[0] if len(known) == 1 else f"{known[0]}..{known[-1]}") if known else "none yet"
            raise KeyError(f"no experience {key!r}; the keys are {span}")
        self.recalls.append(normal)
        return experience

    def index_line(self, key: str, width: int) -> str:
        """``- T3: <what it did> -> <what it printed>``, at most ``width`` characters."""
        item = self._items[key]
        did = _first_line(item.text) or _first_code_line(item.code) or "(no code)"
        if item.error:
            got = "error: " + _first_line(item.error.splitlines()[-1])
        elif item.output:
            lines = item.output.rstrip("\n").count("\n") + 1
            size = f"{len(item.output):,} chars" + (f", {lines} lines" if lines > 1 else "")
            got = f"[{size}] {_first_line(item.output)}"
        else:
            got = "printed nothing" if item.code else "no block ran"
        line = f"- {key}: {did} -> {got}"
        return line if len(line) <= width else line[: width - 3] + "..."


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return re.sub(r"\s+", " ", line.strip())
    return ""


def _first_code_line(code: str | None) -> str:
    for line in (code or "").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return "code: " + line.strip()
    return ""


@dataclass(frozen=True)
class Compression:
    """One compression of a run's context (recorded in the step's metadata)."""

    keys: list[str]
    tokens_before: int
    tokens_after: int

    def as_record(self) -> dict[str, Any]:
        """JSON data for the record."""
        return {"keys": self.keys, "tokens_before": self.tokens_before, "tokens_after": self.tokens_after}


def _tokens(text: str) -> int:
    return estimate_request_tokens(LLMRequest(system=text, messages=[]))


class ContextCompressor:
    """Keeps a run's messages under the threshold by moving older turns into the index.

    The conversation is ``[task, (reply, observation) * n]``. A compressed one is ``[task +
    index, (reply, observation) * k]``: roles still alternate, the task text stays verbatim, and
    the index lists every turn compressed so far, so keys stay valid for the whole run.

    Args:
        config: Budget and threshold.
        store: Where the turns' content is kept.
    """

    def __init__(self, config: MemoryConfig, store: ExperienceStore) -> None:
        self.config = config
        self.store = store
        self.first: ChatMessage | None = None  # the task message as the run began
        self.turn_keys: list[str] = []  # the key of each turn still verbatim in the messages
        self.indexed: list[str] = []  # keys of the turns moved into the index
        self.events: list[Compression] = []

    def add_turn(self, key: str) -> None:
        """Note that the reply and observation just appended belong to turn ``key``."""
        self.turn_keys.append(key)

    def measure(self, system: str, messages: list[ChatMessage]) -> int:
        """Estimated tokens of a request with these messages."""
        return estimate_request_tokens(LLMRequest(system=system, messages=messages))

    def maybe_compress(
        self, system: str, messages: list[ChatMessage]
    ) -> tuple[list[ChatMessage], Compression | None]:
        """The messages, with older turns compressed when they pass the threshold.

        ``messages`` ends with the current turn's observation; the last turn is always kept.
        """
        if self.first is None:
            self.first = messages[0]
        before = self.measure(system, messages)
        turns = len(self.turn_keys)
        if before <= self.config.threshold or turns < 2:
            return messages, None
        keep = turns - 1
        while True:  # move the oldest turns out one at a time until the request fits the target
            moved = self.turn_keys[: turns - keep]
            candidate = self._rebuild(messages, moved, keep)
            after = self.measure(system, candidate)
            if after <= self.config.target or keep == 1:
                break
            keep -= 1
        self.indexed.extend(moved)
        self.turn_keys = self.turn_keys[turns - keep :]
        event = Compression(keys=moved, tokens_before=before, tokens_after=after)
        self.events.append(event)
        return candidate, event

    def _index(self, lines: list[str], keys: list[str]) -> str:
        """The index lines, the oldest folded into one when they pass ``index_share``."""
        room = int(self.config.context_budget * self.config.index_share)
        sizes = [_tokens(line) + 1 for line in lines]
        total = sum(sizes)
        if total <= room or len(lines) < 2:
            return "\n".join(lines)
        fold = _tokens(fill("memory_folded", first="T1000", last="T1000", count=1000)) + 1
        start = 0
        while start < len(lines) - 1 and total + fold > room:  # fold the oldest lines first
            total -= sizes[start]
            start += 1
        folded = fill("memory_folded", first=keys[0], last=keys[start - 1], count=start)
        return "\n".join([folded, *lines[start:]])

    def _rebuild(self, messages: list[ChatMessage], moved: list[str], keep: int) -> list[ChatMessage]:
        assert self.first is not None
        keys = [*self.indexed, *moved]
        index = self._index([self.store.index_line(key, self.config.line_chars) for key in keys], keys)
        head = fill("memory_index", task=self.first.text(), index=index, count=len(keys))
        return [ChatMessage(role="user", content=head), *messages[len(messages) - 2 * keep :]]
