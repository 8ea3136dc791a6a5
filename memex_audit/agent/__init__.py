"""The MemEx agent loop: a model writes Python blocks over typed objects in a persistent kernel.

::

    settings = AgentSettings(kernel="subprocess", max_turns=12)   # frozen; .replace(...) copies
    agent = Agent(model, OutputType, settings, tools=[...])        # or Agent(model, T, max_turns=12)
    result = await agent.run("the task", trajectory=traj)   # names in the kernel's scope
    result.output        # the validated submit() value
    result.trajectory    # the run, recorded as a native Trajectory

``run(..., validation_context={...})`` hands pydantic a validation context for every ``submit()``,
so one output type checks values against each run's own objects.

Inside the kernel: ``submit(value)`` ends the run once the value validates (errors come back as the
next observation); ``await spawn_agent(task, output_type=..., **objects)`` runs a sub-agent
concurrently, sharing one ``Budget``. ``action_space="tool_calling"`` offers the same tools as
JSON tool calls, the baseline MemEx is compared against.

For long runs: ``memory=MemoryConfig(context_budget=...)`` compresses older turns into an index
(``recall(key)`` returns a turn exactly), ``todos=True`` defines ``write_todos`` (a checklist in
every status), and ``skills=SkillLibrary(path)`` loads saved functions as tools and defines
``register_skill`` and ``search_skills`` (in-process kernel only).
"""

from memex_audit.agent._agent import Agent, SubAgentError
from memex_audit.agent._budget import Budget
from memex_audit.agent._code_loop import replay_key_request
from memex_audit.agent._extract import STOP_SEQUENCES, extract_code
from memex_audit.agent._memory import Experience, MemoryConfig
from memex_audit.agent._observe import truncate_middle
from memex_audit.agent._prompts import PromptTemplate, load_prompt, render_prompt
from memex_audit.agent._record import RunResult, StopReason
from memex_audit.agent._render import render_function, render_model
from memex_audit.agent._scope import scope_summary
from memex_audit.agent._settings import ActionSpace, AgentSettings, KernelKind, KernelOptions
from memex_audit.agent._skills import Skill, SkillInfo, SkillLibrary, SkillProblem
from memex_audit.agent._todos import TodoItem

__all__ = [
    "STOP_SEQUENCES",
    "ActionSpace",
    "Agent",
    "AgentSettings",
    "Budget",
    "Experience",
    "KernelKind",
    "KernelOptions",
    "MemoryConfig",
    "PromptTemplate",
    "RunResult",
    "Skill",
    "SkillInfo",
    "SkillLibrary",
    "SkillProblem",
    "StopReason",
    "SubAgentError",
    "TodoItem",
    "extract_code",
    "load_prompt",
    "render_function",
    "render_model",
    "render_prompt",
    "replay_key_request",
    "scope_summary",
    "truncate_middle",
]
