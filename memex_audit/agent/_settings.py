"""``AgentSettings``: everything an ``Agent`` is configured with besides its model, tools and budget.

Settings are a frozen pydantic model: built once, checked once, shared by every run of an agent,
and copied with changes (``settings.replace(name=..., run_id=...)``) for a sub-agent or for one
unit of a larger run instead of listing every argument again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from memex_audit.agent._capability import Capability, capability_names
from memex_audit.agent._memory import MemoryConfig
from memex_audit.agent._run_memory import RunMemory
from memex_audit.agent._run_skills import RunSkills
from memex_audit.agent._skills import SkillLibrary, coerce_library
from memex_audit.agent._todos import RunTodos
from memex_audit.errors import UsageError
from memex_audit.kernel import RESERVED_NAMES, InProcessKernel, Kernel, SubprocessKernel

KernelKind = Literal["inprocess", "subprocess"]
ActionSpace = Literal["code", "tool_calling"]


class KernelOptions(BaseModel):
    """Arguments for the kernel an agent starts (defaults are the kernels' own).

    Attributes:
        memory_limit_mb: Address-space cap of the kernel process (``None``: no cap). Subprocess.
        cpu_limit_s: CPU seconds the kernel process may use in all (``None``: no cap). Subprocess.
        start_timeout_s: Seconds the kernel process may take to start. Subprocess.
        python: The interpreter the kernel process runs (``None``: this one). Subprocess.
        hide_host_secrets: Leave API keys and tokens out of the kernel's environment. Subprocess.
        output_limit: Characters of a block's output kept (head and tail). Both kernels.
        stop_grace_s: Seconds a timed-out block gets to stop before its worker is abandoned.
            In-process.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    memory_limit_mb: int | None = 4096
    cpu_limit_s: int | None = None
    start_timeout_s: float = 120.0
    python: str | None = None
    hide_host_secrets: bool = True
    output_limit: int = 200_000
    stop_grace_s: float = 2.0

    def make(self, kind: KernelKind, *, timeout_s: float, name: str) -> Kernel:
        """A kernel of ``kind`` with these options and a per-block timeout of ``timeout_s``."""
        if kind == "subprocess":
            return SubprocessKernel(
                timeout_s=timeout_s,
                memory_limit_mb=self.memory_limit_mb,
                cpu_limit_s=self.cpu_limit_s,
                start_timeout_s=self.start_timeout_s,
                python=self.python,
                output_limit=self.output_limit,
                hide_host_secrets=self.hide_host_secrets,
            )
        return InProcessKernel(
            timeout_s=timeout_s, stop_grace_s=self.stop_grace_s, name=name, output_limit=self.output_limit
        )


class AgentSettings(BaseModel):
    """How an agent runs: its role text, kernel, limits, and long-run capabilities.

    Attributes:
        instructions: Role-specific text added to the system prompt.
        kernel: ``"inprocess"`` (fast, objects shared by reference), ``"subprocess"`` (killable,
            resource-limited, objects copied over a JSON channel), or a function returning a
            ``Kernel``.
        kernel_options: Arguments for the kernel (``KernelOptions``, or a dict of its fields).
        max_turns: Model calls before the run stops with ``"max_turns"``.
        max_submit_retries: Rejected submissions allowed after the first before the run stops.
        observation_limit: Characters of a block's output the model sees (head and tail kept).
        block_timeout_s: Per-block timeout (time waiting for sub-agents excluded).
        name: Names the agent in its recorded run.
        action_space: ``"code"`` (MemEx) or ``"tool_calling"`` (the same tools as JSON tool
            calls, for comparisons on the same task and model).
        max_depth: Levels of sub-agents below this agent.
        max_concurrent_subagents: Sub-agents of one run that run at the same time.
        max_tokens: Upper bound on each reply.
        temperature: Sampling temperature (``None``: the provider's default).
        memory: Indexed experience memory: past ``compress_at`` of ``context_budget`` tokens,
            older turns are compressed into an index and ``recall(key)`` returns them exactly
            (``None``: the context is never compressed). Both kernels.
        todos: Define ``write_todos(items)``, a checklist shown in the status every turn.
            Both kernels.
        skills: A skill library (or its folder): its skills are loaded as typed tools, and
            ``register_skill`` / ``search_skills`` are defined. In-process kernel only: skills
            run agent-written code in this process.
        run_id: The id of the recorded run (default: ``name`` and a random suffix); give a stable
            one to make a replayed run's record identical to the original.

    Memory, todos and skills work with ``action_space="code"`` only; sub-agents run without them.

    Raises:
        UsageError: A value out of range or a combination that cannot run (raised as is, not
            wrapped in a ``ValidationError``).
        pydantic.ValidationError: A value of the wrong type.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    instructions: str | None = None
    kernel: KernelKind | Callable[[], Kernel] = "inprocess"
    kernel_options: KernelOptions = KernelOptions()
    max_turns: int = 20
    max_submit_retries: int = 3
    observation_limit: int = 4000
    block_timeout_s: float = 30.0
    name: str = "agent"
    action_space: ActionSpace = "code"
    max_depth: int = 2
    max_concurrent_subagents: int = 8
    max_tokens: int = 4096
    temperature: float | None = None
    memory: MemoryConfig | None = None
    todos: bool = False
    skills: SkillLibrary | None = None
    run_id: str | None = None

    @field_validator("skills", mode="before")
    @classmethod
    def _library(cls, value: Any) -> Any:
        return coerce_library(value) if value is not None else None

    @field_validator("memory", mode="before")
    @classmethod
    def _memory_config(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, MemoryConfig):
            raise UsageError(f"memory must be a MemoryConfig, not {type(value).__name__}")
        return value

    @model_validator(mode="after")
    def _check(self) -> AgentSettings:
        if self.max_turns < 1 or self.observation_limit < 200:
            raise UsageError("max_turns must be at least 1 and observation_limit at least 200")
        if self.max_submit_retries < 0 or self.max_depth < 0 or self.max_concurrent_subagents < 1:
            raise UsageError(
                "max_submit_retries and max_depth must be at least 0, max_concurrent_subagents at least 1"
            )
        if self.block_timeout_s <= 0 or self.max_tokens < 1:
            raise UsageError("block_timeout_s must be above 0 and max_tokens at least 1")
        long_run = self.memory is not None or self.todos or self.skills is not None
        if long_run and self.action_space != "code":
            raise UsageError("memory, todos and skills work with action_space='code' only")
        if self.skills is not None and self.kernel == "subprocess":
            raise UsageError(
                "skills work with the in-process kernel only: a skill runs agent-written code in the "
                "host process, which the subprocess kernel exists to keep out; use kernel='inprocess'"
            )
        return self

    def replace(self, **changes: Any) -> AgentSettings:
        """A copy with ``changes`` applied and checked like new settings.

        Raises:
            UsageError: A change names no setting, or the result does not check.
        """
        unknown = sorted(set(changes) - set(type(self).model_fields))
        if unknown:
            raise UsageError(f"no such agent settings: {unknown}")
        return settings_from({**{name: getattr(self, name) for name in type(self).model_fields}, **changes})

    def capability_names(self) -> list[str]:
        """The reserved names the capabilities these settings turn on define in the kernel."""
        return capability_names(
            memory=self.memory is not None, todos=self.todos, skills=self.skills is not None
        )

    def capabilities(self, *, run_id: str, taken: Iterable[str] = ()) -> list[Capability]:
        """The capabilities of one run, in the order the loop calls them: memory, todos, skills.

        This is where the skill library is read and its skills' tests run.

        Args:
            run_id: The run (recorded in the skills it registers).
            taken: Names a loaded skill may not take (scope objects, tools).
        """
        capabilities: list[Capability] = []
        if self.memory is not None:
            capabilities.append(RunMemory(self.memory))
        if self.todos:
            capabilities.append(RunTodos())
        if self.skills is not None:
            reserved = {*taken, *RESERVED_NAMES, *self.capability_names()}
            capabilities.append(RunSkills.load(self.skills, run_id=run_id, taken=reserved))
        return capabilities

    def make_kernel(self) -> Kernel:
        """A new kernel for one run (not started)."""
        if callable(self.kernel):
            return self.kernel()
        return self.kernel_options.make(self.kernel, timeout_s=self.block_timeout_s, name=self.name)


class AgentOptions(TypedDict, total=False):
    """``AgentSettings`` fields given to ``Agent`` as keywords (each one overrides its setting)."""

    instructions: str | None
    kernel: KernelKind | Callable[[], Kernel]
    kernel_options: KernelOptions | dict[str, Any]
    max_turns: int
    max_submit_retries: int
    observation_limit: int
    block_timeout_s: float
    name: str
    action_space: ActionSpace
    max_depth: int
    max_concurrent_subagents: int
    max_tokens: int
    temperature: float | None
    memory: MemoryConfig | None
    todos: bool
    skills: SkillLibrary | str | Path | None
    run_id: str | None


def settings_from(values: dict[str, Any]) -> AgentSettings:
    """``AgentSettings`` from field values, a wrong type reported as a ``UsageError``."""
    try:
        return AgentSettings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'settings'}: {error['msg']}"
            for error in exc.errors()
        )
        raise UsageError(f"invalid agent settings: {problems}") from None
