"""``Agent``: a model, an output type, tools, and a kernel, run as the MemEx loop."""

from __future__ import annotations

import asyncio
import itertools
import json
import keyword
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from memex_audit.agent._budget import Budget
from memex_audit.agent._code_loop import run_code_loop
from memex_audit.agent._memory import MemoryConfig
from memex_audit.agent._prompts import fill
from memex_audit.agent._record import RunRecorder, RunResult
from memex_audit.agent._render import referenced_models, render_function, render_model, type_hints
from memex_audit.agent._run_memory import RunMemory, feature_names
from memex_audit.agent._skills import SkillLibrary, coerce_library
from memex_audit.agent._state import RunState, Stop
from memex_audit.agent._tool_loop import run_tool_loop
from memex_audit.agent._validate import output_type_name
from memex_audit.errors import MemexAuditError, UsageError
from memex_audit.kernel import (
    RESERVED_NAMES,
    ForeignType,
    InProcessKernel,
    Kernel,
    KernelSetup,
    SpawnHandler,
    SubprocessKernel,
)
from memex_audit.llm import LLMClient

T = TypeVar("T")

KernelKind = Literal["inprocess", "subprocess"]
ActionSpace = Literal["code", "tool_calling"]


class SubAgentError(MemexAuditError):
    """``spawn_agent`` failed: the depth limit, or the sub-agent ended without a valid submission.

    Raised inside the parent's code block, where agent code may catch it.
    """


class Agent(Generic[T]):
    """A code-writing agent: each turn the model writes a Python block that runs in a kernel.

    Args:
        model: Any ``LLMClient`` (a real client, or an offline ``FunctionModel`` policy).
        output_type: What ``submit()`` must receive (a pydantic model, or any type pydantic
            validates).
        instructions: Role-specific text added to the system prompt.
        tools: Plain functions (sync or async) put in scope and shown as typed stubs.
        kernel: ``"inprocess"`` (fast, objects shared by reference), ``"subprocess"`` (killable,
            resource-limited, objects copied over a JSON channel), or a function returning a
            ``Kernel``.
        max_turns: Model calls before the run stops with ``"max_turns"``.
        max_submit_retries: Rejected submissions allowed after the first before the run stops.
        observation_limit: Characters of a block's output the model sees (head and tail kept).
        block_timeout_s: Per-block timeout (time waiting for sub-agents excluded).
        budget: Tokens and dollars shared with every sub-agent; ``None``: uncapped.
        name: Names the agent in its recorded run.
        action_space: ``"code"`` (MemEx) or ``"tool_calling"`` (the same tools as JSON tool
            calls, for comparisons on the same task and model).
        max_depth: Levels of sub-agents below this agent.
        max_concurrent_subagents: Sub-agents of one run that run at the same time.
        max_tokens: Upper bound on each reply.
        temperature: Sampling temperature (``None``: the provider's default).
        kernel_options: Extra arguments for ``SubprocessKernel`` (``memory_limit_mb``,
            ``cpu_limit_s``...); ignored by the in-process kernel.
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

    The long-run features work with ``action_space="code"`` only; sub-agents run without them.
    """

    def __init__(
        self,
        model: LLMClient,
        output_type: type[T] | Any,
        *,
        instructions: str | None = None,
        tools: Sequence[Callable[..., Any]] = (),
        kernel: KernelKind | Callable[[], Kernel] = "inprocess",
        max_turns: int = 20,
        max_submit_retries: int = 3,
        observation_limit: int = 4000,
        block_timeout_s: float = 30.0,
        budget: Budget | None = None,
        name: str = "agent",
        action_space: ActionSpace = "code",
        max_depth: int = 2,
        max_concurrent_subagents: int = 8,
        max_tokens: int = 4096,
        temperature: float | None = None,
        kernel_options: Mapping[str, Any] | None = None,
        memory: MemoryConfig | None = None,
        todos: bool = False,
        skills: SkillLibrary | str | Path | None = None,
        run_id: str | None = None,
    ) -> None:
        if kernel not in ("inprocess", "subprocess") and not callable(kernel):
            raise UsageError(f"kernel must be 'inprocess', 'subprocess' or a Kernel factory, not {kernel!r}")
        if action_space not in ("code", "tool_calling"):
            raise UsageError(f"action_space must be 'code' or 'tool_calling', not {action_space!r}")
        if max_turns < 1 or observation_limit < 200:
            raise UsageError("max_turns must be at least 1 and observation_limit at least 200")
        names = [getattr(tool, "__name__", "") for tool in tools]
        for tool_name in names:
            if not tool_name.isidentifier() or keyword.iskeyword(tool_name) or tool_name in RESERVED_NAMES:
                raise UsageError(f"tool name {tool_name!r} is not usable (reserved or not an identifier)")
        if len(set(names)) != len(names):
            raise UsageError(f"two tools share a name: {names}")
        self.run_id = run_id
        self.model = model
        self.output_type = output_type
        self.instructions = instructions
        self.tools = list(tools)
        self.kernel = kernel
        self.max_turns = max_turns
        self.max_submit_retries = max_submit_retries
        self.observation_limit = observation_limit
        self.block_timeout_s = block_timeout_s
        self.budget = budget
        self.name = name
        self.action_space = action_space
        self.max_depth = max_depth
        self.max_concurrent_subagents = max_concurrent_subagents
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.kernel_options = dict(kernel_options or {})
        self.memory = memory
        self.todos = todos
        self.skills = coerce_library(skills) if skills is not None else None
        self._check_long_run()

    def _check_long_run(self) -> None:
        if self.memory is None and not self.todos and self.skills is None:
            return
        if self.memory is not None and not isinstance(self.memory, MemoryConfig):
            raise UsageError(f"memory must be a MemoryConfig, not {type(self.memory).__name__}")
        if self.action_space != "code":
            raise UsageError("memory, todos and skills work with action_space='code' only")
        if self.skills is not None and self.kernel == "subprocess":
            raise UsageError(
                "skills work with the in-process kernel only: a skill runs agent-written code in the "
                "host process, which the subprocess kernel exists to keep out; use kernel='inprocess'"
            )
        names = feature_names(
            memory=self.memory is not None, todos=self.todos, skills=self.skills is not None
        )
        taken = sorted(set(names) & {tool.__name__ for tool in self.tools})
        if taken:
            raise UsageError(f"tool names {taken} are reserved by memory, todos or skills")

    # -- running -------------------------------------------------------------------------------

    async def run(self, task: str, /, **scope_objects: Any) -> RunResult[T]:
        """Run the agent on ``task``; each keyword becomes a name in its kernel's namespace.

        Returns:
            The run's result; a run that ends without a valid submission has ``output=None``,
            its ``stop_reason`` and ``error``: failures are results, not exceptions.

        Raises:
            UsageError: A scope name clashes with a tool or a reserved name.
            KernelError: The kernel could not start (say, a scope object cannot cross to a
                subprocess kernel).
        """
        return await self._run(task, scope_objects, depth=0, budget=self.budget or Budget(), parent=None)

    def run_sync(self, task: str, /, **scope_objects: Any) -> RunResult[T]:
        """``run`` for code without an event loop."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.run(task, **scope_objects))
        raise UsageError("run_sync() cannot be called from a running event loop; use `await agent.run(...)`")

    async def _run(
        self, task: str, scope: dict[str, Any], *, depth: int, budget: Budget, parent: str | None
    ) -> RunResult[T]:
        reserved = set(RESERVED_NAMES) | {tool.__name__ for tool in self.tools}
        clashes = sorted(reserved & set(scope))
        if clashes:
            raise UsageError(f"scope names clash with tools or reserved names: {clashes}")
        run_id = (
            self.run_id if self.run_id is not None and depth == 0 else f"{self.name}-{uuid.uuid4().hex[:12]}"
        )
        harness = "memex" if self.action_space == "code" else "tool_calling"
        recorder = RunRecorder(
            run_id=run_id, agent=self.name, harness=harness, model=self.model.model, task=task
        )
        memory = RunMemory.for_agent(self, run_id, scope)
        taken = sorted(set(memory.feature_names() if memory is not None else ()) & set(scope))
        if taken:
            raise UsageError(f"scope names clash with reserved names: {taken}")
        state = RunState(
            agent=self, task=task, scope=scope, depth=depth, budget=budget, recorder=recorder, memory=memory
        )
        kernel: Kernel | None = None
        output: Any = None
        error: str | None = None
        try:
            if self.action_space == "code":
                kernel = self._make_kernel()
                if memory is not None and memory.library is not None and isinstance(kernel, SubprocessKernel):
                    raise UsageError(
                        "skills work with the in-process kernel only (see Agent's skills argument)"
                    )
                tools, names = list(self.tools), dict(scope)
                if memory is not None:
                    tools += memory.tools()
                    names.update(memory.skill_functions())
                await kernel.start(KernelSetup(scope=names, tools=tools, spawn=self._spawn_handler(state)))
                system = self.system_prompt(scope, depth=depth, memory=memory)
                output = await run_code_loop(state, kernel, system)
            else:
                output = await run_tool_loop(state, self.system_prompt(scope))
            reason: Any = "submitted"
        except Stop as stop:
            reason, error, output = stop.reason, stop.error, stop.output
        finally:
            if kernel is not None:
                await kernel.close()
        metadata: dict[str, Any] = {
            "depth": depth,
            "parent_run": parent,
            "kernel": self.kernel if isinstance(self.kernel, str) else "custom",
            "action_space": self.action_space,
            "output_type": output_type_name(self.output_type),
            "turns": state.turns,
            "submit_failures": state.submit_failures,
            "sub_runs": [run.id for run in state.sub_runs],
            "budget": budget.status(),
            **(memory.record() if memory is not None else {}),
        }
        trajectory = recorder.finish(
            output=output, usage=state.usage, stop_reason=reason, error=error, metadata=metadata
        )
        return RunResult(
            output=output if reason == "submitted" else None,
            trajectory=trajectory,
            usage=state.usage,
            turns=state.turns,
            stop_reason=reason,
            error=error,
            sub_runs=state.sub_runs,
            replied_at=state.replied_at,
        )

    def _make_kernel(self) -> Kernel:
        if callable(self.kernel):
            return self.kernel()
        if self.kernel == "subprocess":
            return SubprocessKernel(timeout_s=self.block_timeout_s, **self.kernel_options)
        return InProcessKernel(timeout_s=self.block_timeout_s, name=self.name)

    def _spawn_handler(self, state: RunState) -> SpawnHandler:
        limit = asyncio.Semaphore(self.max_concurrent_subagents)
        numbers = itertools.count(1)

        async def spawn(task: str, output_type: Any, objects: dict[str, Any]) -> Any:
            if state.depth >= self.max_depth:
                raise SubAgentError(
                    f"spawn_agent: the depth limit ({self.max_depth} levels of sub-agents) is reached"
                )
            if not isinstance(task, str):
                raise TypeError(f"spawn_agent: task must be a str, not {type(task).__name__}")
            instructions = None
            if isinstance(output_type, ForeignType):
                # Defined in a subprocess kernel: checked there; the sub-agent reads its schema.
                instructions = fill(
                    "foreign_output",
                    type_name=output_type.name,
                    schema=json.dumps(output_type.json_schema, indent=1) if output_type.json_schema else "{}",
                )
                output_type = Any
            child: Agent[Any] = Agent(
                self.model,
                Any if output_type is None else output_type,
                instructions=instructions,
                tools=self.tools,
                kernel=self.kernel,
                max_turns=self.max_turns,
                max_submit_retries=self.max_submit_retries,
                observation_limit=self.observation_limit,
                block_timeout_s=self.block_timeout_s,
                name=f"{self.name}.{next(numbers)}",
                max_depth=self.max_depth,
                max_concurrent_subagents=self.max_concurrent_subagents,
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                kernel_options=self.kernel_options,
            )
            async with limit:
                result = await child._run(
                    task, objects, depth=state.depth + 1, budget=state.budget, parent=state.recorder.run_id
                )
            state.sub_runs.append(result.trajectory)
            state.sub_runs.extend(result.sub_runs)
            if result.stop_reason != "submitted":
                raise SubAgentError(
                    f"sub-agent {child.name} stopped ({result.stop_reason}) without a valid submission: {result.error}"
                )
            return result.output

        return spawn

    # -- prompts -------------------------------------------------------------------------------

    def system_prompt(
        self, scope: Mapping[str, Any], *, depth: int = 0, memory: RunMemory | None = None
    ) -> str:
        """The system prompt for a run over ``scope``: rules, role, tool stubs, types, output type.

        Args:
            scope: The objects the run starts with (their model types are rendered as stubs).
            depth: The run's depth; ``spawn_agent`` is described only while deeper runs are allowed.
            memory: The run's memory, plan and skills (default: as a run would load them now).
        """
        if memory is None:
            memory = RunMemory.for_agent(self, "preview", scope)
        roots: list[Any] = [self.output_type]
        for tool in self.tools:
            roots.extend(type_hints(tool).values())
        for value in scope.values():
            if isinstance(value, type) and issubclass(value, BaseModel):
                roots.append(value)
            elif isinstance(value, list | tuple):
                roots.extend({type(item) for item in list(value)[:20]})
            elif isinstance(value, dict):
                roots.extend({type(item) for item in list(value.values())[:20]})
            else:
                roots.append(type(value))
        types = "\n\n".join(render_model(cls) for cls in referenced_models(roots))
        instructions = f"\n## Your role\n\n{self.instructions.strip()}\n" if self.instructions else ""
        if self.action_space == "tool_calling":
            output_models = referenced_models([self.output_type])
            return fill(
                "tool_calling_system",
                retries=self.max_submit_retries,
                instructions=instructions,
                output_type=output_type_name(self.output_type),
                types="\n\n".join(render_model(cls) for cls in output_models)
                or output_type_name(self.output_type),
            )
        subagents = fill("subagents") + "\n" if depth < self.max_depth else ""
        text = fill(
            "system",
            subagents=subagents,
            memory=memory.system_section() if memory is not None else "",
            timeout=f"{self.block_timeout_s:g}",
            retries=self.max_submit_retries,
            instructions=instructions,
            tools="\n\n".join(render_function(tool) for tool in self.tools) or "# (no tools)",
            types=types or "# (no model types)",
            output_type=output_type_name(self.output_type),
        )
        return re.sub(r"\n{3,}", "\n\n", text)
