"""``RunSkills``: the skill-library capability of one run.

The library's skills go in the kernel's scope as functions (agent code may redefine one to
improve it); ``register_skill`` and ``search_skills`` are reserved tools. The prompt lists the
newest skills as stubs and the ones that failed to load; the record notes registrations in step
metadata, and what was loaded, failed and registered in the trajectory's metadata.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import JsonValue

from memex_audit.agent._capability import Capability, TurnEnd
from memex_audit.agent._prompts import fill
from memex_audit.agent._render import render_signature
from memex_audit.agent._skill_source import self_contained_source
from memex_audit.agent._skills import LoadedSkill, SkillInfo, SkillLibrary, SkillProblem, as_info, rank

_LISTED_SKILLS = 20  # skills shown in the prompt; a larger library is searched with search_skills


class RunSkills(Capability):
    """A skill library as one run uses it.

    Args:
        library: The library to register into and search.
        run_id: The run, recorded in the skills it registers.
        loaded: The library's skills ready to call (see ``load``).
        problems: Skill versions that could not be loaded, and why.
    """

    def __init__(
        self,
        library: SkillLibrary,
        *,
        run_id: str,
        loaded: Sequence[LoadedSkill] = (),
        problems: Sequence[SkillProblem] = (),
    ) -> None:
        self.library = library
        self.run_id = run_id
        self.loaded = list(loaded)
        self.problems = list(problems)
        self.blocks: list[str] = []  # every block the kernel ran, in order (``<cell n>`` is blocks[n-1])
        self.registered: list[SkillInfo] = []
        self._seen_registered = 0

    @classmethod
    def load(cls, library: SkillLibrary, *, run_id: str, taken: Iterable[str] = ()) -> RunSkills:
        """Read and check the library's skills (runs their tests) for a run.

        Args:
            library: The library.
            run_id: The run.
            taken: Names a skill may not take (scope objects, tools, reserved names).
        """
        result = library.load()
        taken = set(taken)
        loaded: list[LoadedSkill] = []
        problems = list(result.problems)
        for skill in result.skills:
            name = skill.skill.name
            if name in taken or keyword.iskeyword(name):
                problems.append(
                    SkillProblem(name, str(library.path / name), f"not loaded: `{name}` is taken in this run")
                )
            else:
                loaded.append(skill)
        return cls(library, run_id=run_id, loaded=loaded, problems=problems)

    def tools(self) -> list[Callable[..., Any]]:
        """``register_skill`` and ``search_skills``."""
        library, blocks, registered, run_id = self.library, self.blocks, self.registered, self.run_id

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

        def search_skills(query: str, limit: int = 5) -> list[SkillInfo]:
            """Skills of the library whose name and docstring share the most words with ``query``."""
            skills, _ = library.latest()
            return [as_info(skill) for skill in rank(skills, query, limit)]

        return [register_skill, search_skills]

    def scope(self) -> dict[str, Any]:
        """The library's skills by name (not reserved: agent code may redefine and re-register one)."""
        return {loaded.skill.name: loaded.function for loaded in self.loaded}

    def system_section(self) -> str:
        """The prompt's skills section: the newest skills as stubs, and those that failed to load."""
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

    def before_block(self, code: str) -> None:
        """Keep the block: ``register_skill`` cuts a function's source from the block that defined it."""
        self.blocks.append(code)

    def end_turn(self, turn: TurnEnd) -> None:
        """Note the skills the turn's block registered in its step."""
        if self.registered[self._seen_registered :]:
            turn.step.metadata["registered_skills"] = [
                f"{info.name}@{info.version}" for info in self.registered[self._seen_registered :]
            ]
            self._seen_registered = len(self.registered)

    def record(self) -> dict[str, JsonValue]:
        """The library, and the skills loaded, failed and registered."""
        return {
            "skills": {
                "library": str(self.library.path),
                "loaded": [f"{s.skill.name}@{s.skill.version}" for s in self.loaded],
                "problems": [p.as_record() for p in self.problems],  # type: ignore[misc]
                "registered": [f"{info.name}@{info.version}" for info in self.registered],
            }
        }


def _skill_stub(loaded: LoadedSkill) -> str:
    skill = loaded.skill
    summary = skill.summary.replace('"""', "'''")
    body = f'    """{summary + " " if summary else ""}(v{skill.version})"""'
    try:
        signature = render_signature(loaded.function)
    except (TypeError, ValueError):
        signature = skill.signature
    return f"{signature}:\n{body}"
