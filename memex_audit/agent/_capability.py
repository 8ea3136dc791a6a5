"""Capabilities: what a run adds to the MemEx loop beyond tools (memory, the plan, skills).

A capability puts functions in the kernel, writes a section of the system prompt, adds lines
under each turn's status, and sees every turn as it ends; the loop calls the same hooks on each
capability of the run, in order, and knows none of them by name::

    Capability
    ├── RunMemory    recall(key); older turns compressed into an index    (settings.memory)
    ├── RunTodos     write_todos(items); the checklist under each status  (settings.todos)
    └── RunSkills    a skill library's skills, register_skill, search_skills (settings.skills)

``AgentSettings.capabilities`` builds those a run's settings turn on; it is where the skill
library is read (constructors never touch the disk).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import JsonValue

from memex_audit.llm import ChatMessage
from memex_audit.trajectory import Step


@dataclass
class TurnEnd:
    """A turn as it ends, handed to each capability in turn.

    Attributes:
        turn: The turn's number.
        step: Its assistant step (a capability may add metadata to it).
        system: The system prompt.
        messages: The conversation up to the turn's reply; a capability may replace it (a
            compression), and the next capability sees the replacement.
        observation: The turn's observation (not yet in ``messages``).
        notes: Metadata for the observation's step.
    """

    turn: int
    step: Step
    system: str
    messages: list[ChatMessage]
    observation: str
    notes: dict[str, JsonValue] = field(default_factory=dict)


class Capability(Protocol):
    """A feature of a run that the loop drives through these hooks (each defaults to nothing)."""

    def tools(self) -> list[Callable[..., Any]]:
        """Functions put in the kernel as reserved names (restored if agent code rebinds them)."""
        return []

    def scope(self) -> dict[str, Any]:
        """Names put in the kernel's scope that agent code may redefine."""
        return {}

    def system_section(self) -> str:
        """The capability's section of the system prompt (empty: none)."""
        return ""

    def status_lines(self, context_tokens: int) -> list[str]:
        """Lines under the status after an observation.

        Args:
            context_tokens: The estimated size of the next request.
        """
        return []

    def before_block(self, code: str) -> None:
        """Called with each code block before the kernel runs it."""
        return None

    def end_turn(self, turn: TurnEnd) -> None:
        """Called once per turn of the code loop, after the block ran and before the observation is sent."""
        return None

    def record(self) -> dict[str, JsonValue]:
        """What the run's trajectory metadata says about the capability."""
        return {}


def capability_names(*, memory: bool, todos: bool, skills: bool) -> list[str]:
    """The reserved names the capabilities a run turns on define in its kernel."""
    names = ["recall"] if memory else []
    names += ["write_todos"] if todos else []
    return names + (["register_skill", "search_skills"] if skills else [])
