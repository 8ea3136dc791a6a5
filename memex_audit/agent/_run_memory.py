"""``RunMemory``: the experience-memory capability of one run (``recall`` and context compression).

Each turn is stored under its key; once the next request passes the threshold, older turns leave
the conversation for an index after the task (see ``_memory``). The recalls and compressions are
noted in the run's record: recalled keys and compressions in step metadata, a summary in the
trajectory's metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import JsonValue

from memex_audit.agent._capability import Capability, TurnEnd
from memex_audit.agent._memory import (
    Compression,
    ContextCompressor,
    Experience,
    ExperienceStore,
    MemoryConfig,
)
from memex_audit.agent._prompts import fill
from memex_audit.agent._render import render_function, render_model
from memex_audit.llm import ChatMessage


class RunMemory(Capability):
    """Indexed experience memory of one run; defines ``recall(key)``.

    Args:
        config: When to compress older turns.
    """

    def __init__(self, config: MemoryConfig) -> None:
        self.config = config
        self.store = ExperienceStore()
        self.compressor = ContextCompressor(config, self.store)
        self.peak_tokens = 0  # the largest next-request estimate the status line showed
        self._compressed_now: Compression | None = None
        self._seen_recalls = 0

    def tools(self) -> list[Callable[..., Any]]:
        """``recall``."""
        return [self._recall()]

    def _recall(self) -> Callable[..., Any]:
        store = self.store

        def recall(key: str) -> Experience:
            """The earlier turn ``key`` (``"T3"`` is turn 3) exactly: its text, code, complete output and error."""
            return store.recall(key)

        return recall

    def system_section(self) -> str:
        """The prompt's memory section: the budget, the threshold and ``recall``."""
        return fill(
            "memory",
            budget=f"{self.config.context_budget:,}",
            threshold=f"{self.config.threshold:,}",
            stubs=f"{render_function(self._recall())}\n\n{render_model(Experience)}",
        )

    def status_lines(self, context_tokens: int) -> list[str]:
        """A line when this turn compressed older ones (the size is noted for the record)."""
        self.peak_tokens = max(self.peak_tokens, context_tokens)
        if self._compressed_now is None:
            return []
        keys = self._compressed_now.keys
        span = f"turn {keys[0]} was" if len(keys) == 1 else f"turns {keys[0]}..{keys[-1]} were"
        return [fill("compressed", span=span)]

    def end_turn(self, turn: TurnEnd) -> None:
        """Store the turn, note its recalls, and compress older turns past the threshold."""
        experience = self.store.add(turn.turn, turn.step)
        if self.store.recalls[self._seen_recalls :]:
            turn.step.metadata["recalled"] = list(self.store.recalls[self._seen_recalls :])
            self._seen_recalls = len(self.store.recalls)
        self._compressed_now = None
        self.compressor.add_turn(experience.key)
        pending = [*turn.messages, ChatMessage(role="user", content=turn.observation)]
        compressed, event = self.compressor.maybe_compress(turn.system, pending)
        if event is None:
            return
        self._compressed_now = event
        turn.messages = compressed[:-1]
        turn.notes["memory_compression"] = event.as_record()

    def record(self) -> dict[str, JsonValue]:
        """The budget, the compressions and recalls, and the largest request of the run."""
        return {
            "memory": {
                "context_budget": self.config.context_budget,
                "compress_at": self.config.compress_at,
                "compressions": len(self.compressor.events),
                "recalls": list(self.store.recalls),
                "peak_request_tokens": self.peak_tokens,
            }
        }
