"""Capabilities: the loop drives memory, todos and skills through the same hooks, and building them
touches no disk until a run asks for them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import JsonValue

from memex_audit.agent import Agent, AgentSettings, MemoryConfig, SkillLibrary
from memex_audit.agent._capability import Capability, TurnEnd
from memex_audit.agent._run_memory import RunMemory
from memex_audit.agent._run_skills import RunSkills
from memex_audit.agent._todos import RunTodos
from memex_audit.llm import ScriptedModel


def code(body: str, thought: str = "Next step.") -> str:
    return f"{thought}\n```python\n{body}\n```"


class Tally(Capability):
    """Counts what the loop hands it, and defines ``bump()`` in the kernel."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.turns: list[tuple[int, str | None, str]] = []
        self.bumps = 0

    def tools(self) -> list[Callable[..., Any]]:
        def bump() -> int:
            """Count one."""
            self.bumps += 1
            return self.bumps

        return [bump]

    def scope(self) -> dict[str, Any]:
        return {"start": 40}

    def system_section(self) -> str:
        return "## Tally\n\nCall bump() to count."

    def status_lines(self, context_tokens: int) -> list[str]:
        return [f"[tally: {self.bumps} · {context_tokens > 0}]"]

    def before_block(self, code: str) -> None:
        self.blocks.append(code)

    def end_turn(self, turn: TurnEnd) -> None:
        self.turns.append((turn.turn, turn.step.code, turn.observation))
        turn.step.metadata["tally"] = self.bumps
        turn.notes["tally_seen"] = len(self.turns)

    def record(self) -> dict[str, JsonValue]:
        return {"tally": {"bumps": self.bumps}}


def test_the_loop_calls_each_hook_of_a_capability(monkeypatch: pytest.MonkeyPatch) -> None:
    tally = Tally()
    monkeypatch.setattr(AgentSettings, "capabilities", lambda self, **_: [tally])
    model = ScriptedModel([code("print(bump() + start)"), code("submit(bump())")])
    result = Agent(model, int).run_sync("Count twice.")

    assert result.output == 2
    assert "## Tally" in model.requests[0].system  # its prompt section
    assert "[tally: 1 · True]" in model.requests[1].messages[-1].text()  # its status line
    assert tally.blocks == ["print(bump() + start)", "submit(bump())"]  # before each block ran
    assert tally.turns == [(1, "print(bump() + start)", "41")]  # the submitting turn ends the run
    first, observation = result.trajectory.steps[2], result.trajectory.steps[3]
    assert first.metadata["tally"] == 1 and observation.metadata["tally_seen"] == 1
    assert result.trajectory.metadata["tally"] == {"bumps": 2}


def test_settings_turn_on_the_three_capabilities_in_order(tmp_path: Path) -> None:
    settings = AgentSettings(memory=MemoryConfig(), todos=True, skills=tmp_path / "skills")
    capabilities = settings.capabilities(run_id="r")
    assert [type(c) for c in capabilities] == [RunMemory, RunTodos, RunSkills]
    assert [t.__name__ for c in capabilities for t in c.tools()] == settings.capability_names()
    assert AgentSettings().capabilities(run_id="r") == []


def test_building_capabilities_touches_no_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[Path] = []
    real_load = SkillLibrary.load

    def load(self: SkillLibrary) -> Any:
        reads.append(self.path)
        return real_load(self)

    monkeypatch.setattr(SkillLibrary, "load", load)
    folder = tmp_path / "missing" / "skills"
    library = SkillLibrary(folder)
    skills = RunSkills(library, run_id="r")
    RunMemory(MemoryConfig())
    RunTodos()
    agent = Agent(ScriptedModel([code("submit(1)")]), int, skills=folder)
    assert reads == [] and not folder.exists() and skills.scope() == {} and skills.problems == []

    agent.run_sync("One.")  # a run reads the library, once
    assert reads == [folder]
    assert not folder.exists()  # reading never creates it
