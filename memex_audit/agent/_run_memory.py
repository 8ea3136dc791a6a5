"""The long-run features of one run: experience memory, the plan anchor and the skill library.

``RunMemory`` holds their state for a run, makes the functions the kernel gets (``recall``,
``write_todos``, ``register_skill`` and ``search_skills`` as reserved tools; the library's
skills as scope names, which agent code may redefine), writes their prompt sections and status
lines, and notes in the run's record what happened: compressions, recalls, checklist writes and
registrations in step metadata; a summary, with loaded and failed skills, in the trajectory's
metadata.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import JsonValue

from memex_audit.agent._memory import (
    Compression,
    ContextCompressor,
    Experience,
    ExperienceStore,
    MemoryConfig,
)
from memex_audit.agent._prompts import fill
from memex_audit.agent._render import render_function, render_model, render_signature
from memex_audit.agent._skill_source import self_contained_source
from memex_audit.agent._skills import LoadedSkill, SkillInfo, SkillLibrary, SkillProblem, as_info, rank
from memex_audit.agent._todos import TodoItem, TodoList
from memex_audit.kernel import RESERVED_NAMES
from memex_audit.llm import ChatMessage
from memex_audit.trajectory import Step

if TYPE_CHECKING:
    from memex_audit.agent._agent import Agent

_LISTED_SKILLS = 20  # skills shown in the prompt; a larger library is searched with search_skills


def feature_names(*, memory: bool, todos: bool, skills: bool) -> list[str]:
    """The names the enabled features define in the kernel (reserved: restored if rebound)."""
    names = ["recall"] if memory else []
    names += ["write_todos"] if todos else []
    return names + (["register_skill", "search_skills"] if skills else [])


class RunMemory:
    """Memory, plan and skills of one run (each may be off).

    Args:
        memory: When to compress older turns (``None``: never; ``recall`` is not defined).
        todos: Whether ``write_todos`` is defined and the checklist shown.
        skills: The skill library to load and register into (``None``: no skills).
        run_id: The run, recorded in skills it registers.
        taken: Names a loaded skill may not take (scope objects, tools).
    """

    def __init__(
        self,
        *,
        memory: MemoryConfig | None,
        todos: bool,
        skills: SkillLibrary | None,
        run_id: str,
        taken: Sequence[str] = (),
    ) -> None:
        self.config = memory
        self.store = ExperienceStore()
        self.compressor = ContextCompressor(memory, self.store) if memory is not None else None
        self.todos = TodoList() if todos else None
        self.library = skills
        self.run_id = run_id
        self.blocks: list[str] = []  # every block the kernel ran, in order (``<cell n>`` is blocks[n-1])
        self.registered: list[SkillInfo] = []
        self.loaded: list[LoadedSkill] = []
        self.problems: list[SkillProblem] = []
        self._compressed_now: Compression | None = None
        self.peak_tokens = 0  # the largest next-request estimate the status line showed
        self._seen_recalls = 0
        self._seen_writes = 0
        self._seen_registered = 0
        if skills is not None:
            self._load_skills(set(taken) | set(RESERVED_NAMES) | set(self.feature_names()))

    @classmethod
    def for_agent(cls, agent: Agent[Any], run_id: str, scope: Mapping[str, Any]) -> RunMemory | None:
        """The run memory of a run of ``agent`` (``None`` when none of the features is on)."""
        if agent.memory is None and not agent.todos and agent.skills is None:
            return None
        taken = [*scope, *(tool.__name__ for tool in agent.tools)]
        return cls(memory=agent.memory, todos=agent.todos, skills=agent.skills, run_id=run_id, taken=taken)

    # -- names and functions in the kernel -----------------------------------------------------

    def feature_names(self) -> list[str]:
        """The reserved names the enabled features define."""
        return feature_names(
            memory=self.config is not None, todos=self.todos is not None, skills=self.library is not None
        )

    def _load_skills(self, taken: set[str]) -> None:
        assert self.library is not None
        result = self.library.load()
        self.problems.extend(result.problems)
        for loaded in result.skills:
            name = loaded.skill.name
            if name in taken or keyword.iskeyword(name):
                self.problems.append(
                    SkillProblem(
                        name, str(self.library.path / name), f"not loaded: `{name}` is taken in this run"
                    )
                )
            else:
                self.loaded.append(loaded)

    def tools(self) -> list[Callable[..., Any]]:
        """The functions put in the kernel (reserved there: restored if agent code rebinds them)."""
        functions: dict[str, Callable[..., Any]] = {}
        if self.config is not None:
            functions["recall"] = self._recall()
        if self.todos is not None:
            functions["write_todos"] = self._write_todos()
        if self.library is not None:
            functions["register_skill"] = self._register_skill()
            functions["search_skills"] = self._search_skills()
        return list(functions.values())

    def skill_functions(self) -> dict[str, Callable[..., Any]]:
        """The library's skills, put in the kernel's scope.

        Not reserved, unlike tools: the agent may redefine a skill to improve it and register
        the new version.
        """
        return {loaded.skill.name: loaded.function for loaded in self.loaded}

    def _recall(self) -> Callable[..., Any]:
        store = self.store

        def recall(key: str) -> Experience:
            """The earlier turn ``key`` (``"T3"`` is turn 3) exactly: its text, code, complete output and error."""
            return store.recall(key)

        return recall

    def _write_todos(self) -> Callable[..., Any]:
        todos = self.todos
        assert todos is not None

        def write_todos(items: list[TodoItem | dict[str, str] | str]) -> str:
            """Replace your checklist; each item a string (pending) or ``{"content": ..., "status": ...}``.

            ``status`` is ``"pending"``, ``"in_progress"`` or ``"done"``. The checklist is shown under
            the status line every turn. Returns it as shown.
            """
            return todos.write(items)

        return write_todos

    def _register_skill(self) -> Callable[..., Any]:
        library, blocks, registered, run_id = self.library, self.blocks, self.registered, self.run_id
        assert library is not None

        def register_skill(fn: Callable[..., Any], test: str) -> SkillInfo:
            """Save ``fn`` (a def you wrote and checked) to the skill library for later runs.

            ``test`` is code calling it (``"assert fn(2) == 4"``); it must pass with the saved source
            in a fresh namespace. Modules ``fn`` uses are imported for it; other kernel variables are
            not available to it. Registering a name again saves the next version.
            """
            source = self_contained_source(fn, blocks)
            info = as_info(library.register(name=fn.__name__, source=source, test=test, run_id=run_id))
            registered.append(info)
            return info

        return register_skill

    def _search_skills(self) -> Callable[..., Any]:
        library = self.library
        assert library is not None

        def search_skills(query: str, limit: int = 5) -> list[SkillInfo]:
            """Skills of the library whose name and docstring share the most words with ``query``."""
            skills, _ = library.latest()
            return [as_info(skill) for skill in rank(skills, query, limit)]

        return search_skills

    # -- prompts -------------------------------------------------------------------------------

    def system_section(self) -> str:
        """The system prompt's text on memory, the plan and skills."""
        parts = []
        if self.config is not None:
            parts.append(
                fill(
                    "memory",
                    budget=f"{self.config.context_budget:,}",
                    threshold=f"{self.config.threshold:,}",
                    stubs=f"{render_function(self._recall())}\n\n{render_model(Experience)}",
                )
            )
        if self.todos is not None:
            parts.append(fill("todos"))
        if self.library is not None:
            parts.append(self._skills_section())
        # Blank lines around the sections (the prompt collapses runs of more than one).
        return "\n" + "\n\n".join(parts) + "\n" if parts else ""

    def _skills_section(self) -> str:
        listed = sorted(self.loaded, key=lambda s: s.skill.created_at, reverse=True)[:_LISTED_SKILLS]
        stubs = "\n\n".join(_skill_stub(s) for s in sorted(listed, key=lambda s: s.skill.name))
        more = ""
        if len(self.loaded) > len(listed):
            more = f"; the {len(listed)} newest are listed, find the others with `search_skills(query)`"
        problems = ""
        if self.problems:
            lines = "\n".join(f"- {p.name} ({p.file}): {p.error}" for p in self.problems)
            problems = fill("skill_problems", problems=lines)
        return fill(
            "skills",
            count=len(self.loaded),
            more=more,
            skills=stubs or "# (the library is empty)",
            problems=problems,
        )

    def context_text(self, tokens: int) -> str:
        """The next request's size for the status line: against the budget when there is one."""
        if self.config is None:
            return f"{tokens:,}"
        self.peak_tokens = max(self.peak_tokens, tokens)
        return f"{tokens:,} of {self.config.context_budget:,}"

    def status_lines(self) -> str:
        """Lines under the status: a compression just made, and the checklist."""
        lines = []
        if self._compressed_now is not None:
            keys = self._compressed_now.keys
            span = f"turn {keys[0]} was" if len(keys) == 1 else f"turns {keys[0]}..{keys[-1]} were"
            lines.append(fill("compressed", span=span))
        if self.todos is not None and self.todos.items:
            lines.append(self.todos.render())
        return "\n".join(lines)

    # -- the loop ------------------------------------------------------------------------------

    def end_turn(
        self, turn: int, step: Step, system: str, messages: list[ChatMessage], observation: str
    ) -> tuple[list[ChatMessage], dict[str, JsonValue]]:
        """Store the turn, note what its block did, and compress older turns when needed.

        Args:
            turn: The turn's number.
            step: Its assistant step (gets ``recalled``, ``todos`` and ``registered_skills``
                metadata when its block used them).
            system: The system prompt.
            messages: The conversation up to this turn's reply.
            observation: This turn's observation (not yet in ``messages``).

        Returns:
            The conversation to continue with, and metadata for the observation's step.
        """
        experience = self.store.add(turn, step)
        if self.store.recalls[self._seen_recalls :]:
            step.metadata["recalled"] = list(self.store.recalls[self._seen_recalls :])
            self._seen_recalls = len(self.store.recalls)
        if self.todos is not None and self.todos.writes != self._seen_writes:
            step.metadata["todos"] = self.todos.as_records()  # type: ignore[assignment]
            self._seen_writes = self.todos.writes
        if self.registered[self._seen_registered :]:
            step.metadata["registered_skills"] = [
                f"{info.name}@{info.version}" for info in self.registered[self._seen_registered :]
            ]
            self._seen_registered = len(self.registered)
        self._compressed_now = None
        if self.compressor is None:
            return messages, {}
        self.compressor.add_turn(experience.key)
        pending = [*messages, ChatMessage(role="user", content=observation)]
        compressed, event = self.compressor.maybe_compress(system, pending)
        if event is None:
            return messages, {}
        self._compressed_now = event
        return compressed[:-1], {"memory_compression": event.as_record()}  # type: ignore[dict-item]

    def record(self) -> dict[str, JsonValue]:
        """The trajectory's metadata on memory, the plan and skills."""
        record: dict[str, JsonValue] = {}
        if self.config is not None and self.compressor is not None:
            record["memory"] = {
                "context_budget": self.config.context_budget,
                "compress_at": self.config.compress_at,
                "compressions": len(self.compressor.events),
                "recalls": list(self.store.recalls),
                "peak_request_tokens": self.peak_tokens,
            }
        if self.todos is not None:
            record["todos"] = self.todos.as_records()  # type: ignore[assignment]
        if self.library is not None:
            record["skills"] = {
                "library": str(self.library.path),
                "loaded": [f"{s.skill.name}@{s.skill.version}" for s in self.loaded],
                "problems": [p.as_record() for p in self.problems],  # type: ignore[misc]
                "registered": [f"{info.name}@{info.version}" for info in self.registered],
            }
        return record


def _skill_stub(loaded: LoadedSkill) -> str:
    skill = loaded.skill
    summary = skill.summary.replace('"""', "'''")
    body = f'    """{summary + " " if summary else ""}(v{skill.version})"""'
    try:
        signature = render_signature(loaded.function)
    except (TypeError, ValueError):
        signature = skill.signature
    return f"{signature}:\n{body}"
