"""``AgentSettings``: built once, checked once, copied with changes for units and sub-agents."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError, ValidationInfo, model_validator

from memex_audit.agent import Agent, AgentSettings, KernelOptions, MemoryConfig
from memex_audit.agent._settings import AgentOptions
from memex_audit.errors import UsageError
from memex_audit.kernel import InProcessKernel, SubprocessKernel
from memex_audit.llm import FunctionModel, LLMRequest, ScriptedModel


def code(body: str, thought: str = "Next step.") -> str:
    return f"{thought}\n```python\n{body}\n```"


def test_settings_are_frozen_and_replace_checks_the_copy() -> None:
    settings = AgentSettings(max_turns=5, todos=True)
    with pytest.raises(ValidationError):
        settings.max_turns = 6  # type: ignore[misc]
    copy = settings.replace(name="unit-1", run_id="r1")
    assert (copy.name, copy.run_id, copy.max_turns, copy.todos) == ("unit-1", "r1", 5, True)
    assert (settings.name, settings.run_id) == ("agent", None)  # the original is unchanged
    with pytest.raises(UsageError, match="at least 1"):
        settings.replace(max_turns=0)
    with pytest.raises(UsageError, match="no such agent settings"):
        settings.replace(max_turn=3)
    with pytest.raises(UsageError, match="action_space='code' only"):
        settings.replace(action_space="tool_calling")


def test_keywords_build_the_same_settings_and_override_given_ones() -> None:
    model = ScriptedModel([])
    assert Agent(model, str, max_turns=3, name="a").settings == AgentSettings(max_turns=3, name="a")
    base = AgentSettings(max_turns=3, instructions="Be brief.")
    agent = Agent(model, str, base, name="unit-7")
    assert (agent.settings.max_turns, agent.settings.instructions, agent.name) == (3, "Be brief.", "unit-7")
    assert Agent(model, str, base).settings is base


def test_every_setting_can_be_given_as_a_keyword() -> None:
    assert set(AgentOptions.__annotations__) == set(AgentSettings.model_fields)


def test_a_wrong_setting_is_a_usage_error() -> None:
    model = ScriptedModel([])
    with pytest.raises(UsageError, match="kernel"):
        Agent(model, str, kernel="docker")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="kernel_options.memory_limit"):
        Agent(model, str, kernel_options={"memory_limit": 512})
    with pytest.raises(UsageError, match="memory must be a MemoryConfig"):
        Agent(model, str, memory={"context_budget": 4000})  # type: ignore[typeddict-item]


def test_kernel_options_are_typed_and_reach_the_kernel() -> None:
    settings = AgentSettings(kernel="subprocess", kernel_options={"memory_limit_mb": 512, "cpu_limit_s": 30})
    assert settings.kernel_options == KernelOptions(memory_limit_mb=512, cpu_limit_s=30)
    kernel = settings.make_kernel()
    assert isinstance(kernel, SubprocessKernel)
    assert (kernel.memory_limit_mb, kernel.cpu_limit_s, kernel.timeout_s) == (512, 30, 30.0)
    inprocess = AgentSettings(kernel_options={"stop_grace_s": 0.5}, block_timeout_s=4).make_kernel()
    assert isinstance(inprocess, InProcessKernel) and (inprocess.stop_grace_s, inprocess.timeout_s) == (
        0.5,
        4,
    )


def test_kernel_option_defaults_are_the_kernels_own() -> None:
    defaults = KernelOptions()
    for kernel in (SubprocessKernel, InProcessKernel):
        for name, parameter in inspect.signature(kernel.__init__).parameters.items():
            if name in KernelOptions.model_fields:
                assert getattr(defaults, name) == parameter.default, (kernel.__name__, name)
    accepted = {
        name
        for kernel in (SubprocessKernel, InProcessKernel)
        for name in inspect.signature(kernel.__init__).parameters
    }
    assert set(KernelOptions.model_fields) <= accepted


def test_a_sub_agent_gets_its_parents_limits_and_none_of_its_capabilities() -> None:
    """The parent plans with todos and has memory; the child it spawns has neither, keeps the
    parent's limits, and is named after it."""

    def reply(request: LLMRequest) -> str:
        if "Sub-task" in request.messages[0].text():
            return code("print('looking')") if len(request.messages) == 1 else code("submit(21)")
        if len(request.messages) == 1:
            return code("n = await spawn_agent('Sub-task: give 21', output_type=int)\nprint(n)")
        return code("submit(n * 2)")

    model = FunctionModel(reply)
    parent = Agent(
        model,
        int,
        max_turns=4,
        observation_limit=900,
        todos=True,
        memory=MemoryConfig(),
        name="lead",
        run_id="fixed",
        instructions="Plan first.",
    )
    result = parent.run_sync("Double what a sub-agent finds.")
    assert result.output == 42
    (child,) = result.sub_runs
    assert child.metadata["agent"] == "lead.1" and child.id != "fixed"
    assert "todos" not in child.metadata and "memory" not in child.metadata
    assert "todos" in result.trajectory.metadata and "memory" in result.trajectory.metadata
    child_requests = [r for r in model.requests if "Sub-task" in r.messages[0].text()]
    assert "write_todos" not in child_requests[0].system and "recall(" not in child_requests[0].system
    assert "Plan first." not in child_requests[0].system  # the role text is the parent's own
    assert "turn 1 of 4" in child_requests[1].messages[-1].text()  # the parent's turn limit
    assert "[todos:" not in child_requests[1].messages[-1].text()
    parent_first = model.requests[0]
    assert "write_todos" in parent_first.system and "Plan first." in parent_first.system


def test_validation_context_reaches_submit_also_for_an_instance_built_in_the_kernel() -> None:
    class Pick(BaseModel):
        name: str

        @model_validator(mode="after")
        def _allowed(self, info: ValidationInfo) -> Pick:
            allowed: Any = (info.context or {}).get("allowed")
            if allowed is not None and self.name not in allowed:
                raise ValueError(f"{self.name!r} is not one of {sorted(allowed)}")
            return self

    model = ScriptedModel([code("submit(Pick(name='x'))"), code("submit({'name': 'y'})")])
    result = Agent(model, Pick).run_sync("Pick one.", validation_context={"allowed": {"y"}}, Pick=Pick)
    assert result.output == Pick(name="y") and result.turns == 2
    assert "'x' is not one of ['y']" in model.requests[1].messages[-1].text()
