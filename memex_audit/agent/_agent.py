"""``Agent``: a model, an output type, tools, and settings, run as the MemEx loop."""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import keyword
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar, Unpack

from pydantic import BaseModel

from memex_audit.agent._budget import Budget
from memex_audit.agent._capability import Capability
from memex_audit.agent._code_loop import run_code_loop
from memex_audit.agent._prompts import fill
from memex_audit.agent._record import RunRecorder, RunResult
from memex_audit.agent._render import referenced_models, render_function, render_model, type_hints
from memex_audit.agent._run_skills import RunSkills
from memex_audit.agent._settings import AgentOptions, AgentSettings, settings_from
from memex_audit.agent._state import RunState, Stop
from memex_audit.agent._tool_loop import run_tool_loop
from memex_audit.agent._validate import output_type_name
from memex_audit.errors import MemexAuditError, UsageError
from memex_audit.kernel import (
    RESERVED_NAMES,
    ForeignType,
    Kernel,
    KernelSetup,
    SpawnHandler,
    SubprocessKernel,
)
from memex_audit.llm import LLMClient

T = TypeVar("T")

# Three or more line breaks; spelled so that the search starts from a literal (``\n{3,}`` makes
# the regex engine try every line break of a long prompt).
_BLANK_RUNS = re.compile(r"\n\n\n+")


class SubAgentError(MemexAuditError):
    """``spawn_agent`` failed: the depth limit, or the sub-agent ended without a valid submission.

    Raised inside the parent's code block, where agent code may catch it.
    """


class Agent(Generic[T]):
    """A code-writing agent: each turn the model writes a Python block that runs in a kernel.

    ::

        Agent(model, Verdict, settings)                  # settings built once, shared
        Agent(model, Verdict, max_turns=8, todos=True)   # the same settings as keywords
        Agent(model, Verdict, settings, name="unit-3")   # keywords override the settings given

    Args:
        model: Any ``LLMClient`` (a real client, or an offline ``FunctionModel`` policy).
        output_type: What ``submit()`` must receive (a pydantic model, or any type pydantic
            validates).
        settings: Instructions, kernel, limits and capabilities (see ``AgentSettings``).
        tools: Plain functions (sync or async) put in scope and shown as typed stubs.
        budget: Tokens and dollars shared with every sub-agent; ``None``: uncapped.
        **options: ``AgentSettings`` fields, each overriding the one in ``settings``.

    Raises:
        UsageError: A setting is out of range or of the wrong type, settings that cannot run
            together, or a tool name that is not usable.
    """

    def __init__(
        self,
        model: LLMClient,
        output_type: type[T] | Any,
        settings: AgentSettings | None = None,
        *,
        tools: Sequence[Callable[..., Any]] = (),
        budget: Budget | None = None,
        **options: Unpack[AgentOptions],
    ) -> None:
        if settings is None:
            settings = settings_from(dict(options))
        elif options:
            settings = settings.replace(**options)
        names = [getattr(tool, "__name__", "") for tool in tools]
        for tool_name in names:
            if not tool_name.isidentifier() or keyword.iskeyword(tool_name) or tool_name in RESERVED_NAMES:
                raise UsageError(f"tool name {tool_name!r} is not usable (reserved or not an identifier)")
        if len(set(names)) != len(names):
            raise UsageError(f"two tools share a name: {names}")
        taken = sorted(set(settings.capability_names()) & set(names))
        if taken:
            raise UsageError(f"tool names {taken} are reserved by memory, todos or skills")
        self.model = model
        self.output_type = output_type
        self.settings = settings
        self.tools = list(tools)
        self.budget = budget

    @property
    def name(self) -> str:
        """The agent's name in its recorded runs."""
        return self.settings.name

    # -- running -------------------------------------------------------------------------------

    async def run(
        self, task: str, /, *, validation_context: Mapping[str, Any] | None = None, **scope_objects: Any
    ) -> RunResult[T]:
        """Run the agent on ``task``; each keyword becomes a name in its kernel's namespace.

        Args:
            task: The task statement.
            validation_context: Given to pydantic as the validation context of every
                ``submit()`` (``model_validate(value, context=...)``): what the output type's
                validators check a value against, such as the trajectory a verdict quotes. It
                is not put in the kernel's scope.
            **scope_objects: The objects of the task, by the names agent code uses.

        Returns:
            The run's result; a run that ends without a valid submission has ``output=None``,
            its ``stop_reason`` and ``error``: failures are results, not exceptions.

        Raises:
            UsageError: A scope name clashes with a tool or a reserved name.
            KernelError: The kernel could not start (say, a scope object cannot cross to a
                subprocess kernel).
        """
        return await self._run(
            task,
            scope_objects,
            depth=0,
            budget=self.budget or Budget(),
            parent=None,
            validation_context=validation_context,
        )

    def run_sync(
        self, task: str, /, *, validation_context: Mapping[str, Any] | None = None, **scope_objects: Any
    ) -> RunResult[T]:
        """``run`` for code without an event loop."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.run(task, validation_context=validation_context, **scope_objects))
        raise UsageError("run_sync() cannot be called from a running event loop; use `await agent.run(...)`")

    async def _run(
        self,
        task: str,
        scope: dict[str, Any],
        *,
        depth: int,
        budget: Budget,
        parent: str | None,
        validation_context: Mapping[str, Any] | None = None,
    ) -> RunResult[T]:
        settings = self.settings
        tool_names = [tool.__name__ for tool in self.tools]
        clashes = sorted((set(RESERVED_NAMES) | set(tool_names)) & set(scope))
        if clashes:
            raise UsageError(f"scope names clash with tools or reserved names: {clashes}")
        taken = sorted(set(settings.capability_names()) & set(scope))
        if taken:
            raise UsageError(f"scope names clash with reserved names: {taken}")
        run_id = (
            settings.run_id
            if settings.run_id is not None and depth == 0
            else f"{settings.name}-{uuid.uuid4().hex[:12]}"
        )
        harness = "memex" if settings.action_space == "code" else "tool_calling"
        recorder = RunRecorder(
            run_id=run_id, agent=settings.name, harness=harness, model=self.model.model, task=task
        )
        capabilities = settings.capabilities(run_id=run_id, taken=[*scope, *tool_names])
        state = RunState(
            settings=settings,
            model=self.model,
            output_type=self.output_type,
            task=task,
            scope=scope,
            depth=depth,
            budget=budget,
            recorder=recorder,
            tools=self.tools,
            capabilities=capabilities,
            validation_context=validation_context,
        )
        kernel: Kernel | None = None
        output: Any = None
        error: str | None = None
        try:
            if settings.action_space == "code":
                kernel = settings.make_kernel()
                if isinstance(kernel, SubprocessKernel) and any(
                    isinstance(c, RunSkills) for c in capabilities
                ):
                    raise UsageError("skills work with the in-process kernel only (see AgentSettings.skills)")
                tools, names = list(self.tools), dict(scope)
                for capability in capabilities:
                    tools += capability.tools()
                    names.update(capability.scope())
                await kernel.start(KernelSetup(scope=names, tools=tools, spawn=self._spawn_handler(state)))
                system = self.system_prompt(scope, depth=depth, capabilities=capabilities)
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
            "kernel": settings.kernel if isinstance(settings.kernel, str) else "custom",
            "action_space": settings.action_space,
            "output_type": output_type_name(self.output_type),
            "turns": state.turns,
            "submit_failures": state.submit_failures,
            "sub_runs": [run.id for run in state.sub_runs],
            "budget": budget.status(),
        }
        for capability in capabilities:
            metadata.update(capability.record())
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

    def _spawn_handler(self, state: RunState) -> SpawnHandler:
        settings = self.settings
        limit = asyncio.Semaphore(settings.max_concurrent_subagents)
        numbers = itertools.count(1)

        async def spawn(task: str, output_type: Any, objects: dict[str, Any]) -> Any:
            if state.depth >= settings.max_depth:
                raise SubAgentError(
                    f"spawn_agent: the depth limit ({settings.max_depth} levels of sub-agents) is reached"
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
                sub_agent_settings(
                    settings, name=f"{settings.name}.{next(numbers)}", instructions=instructions
                ),
                tools=self.tools,
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
        self,
        scope: Mapping[str, Any],
        *,
        depth: int = 0,
        capabilities: Sequence[Capability] | None = None,
    ) -> str:
        """The system prompt for a run over ``scope``: rules, role, tool stubs, types, output type.

        Args:
            scope: The objects the run starts with (their model types are rendered as stubs).
            depth: The run's depth; ``spawn_agent`` is described only while deeper runs are allowed.
            capabilities: The run's memory, plan and skills (default: as a run would load them now).
        """
        settings = self.settings
        if capabilities is None:
            capabilities = settings.capabilities(
                run_id="preview", taken=[*scope, *(tool.__name__ for tool in self.tools)]
            )
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
        instructions = f"\n## Your role\n\n{settings.instructions.strip()}\n" if settings.instructions else ""
        if settings.action_space == "tool_calling":
            output_models = referenced_models([self.output_type])
            return fill(
                "tool_calling_system",
                retries=settings.max_submit_retries,
                instructions=instructions,
                output_type=output_type_name(self.output_type),
                types="\n\n".join(render_model(cls) for cls in output_models)
                or output_type_name(self.output_type),
            )
        subagents = fill("subagents") + "\n" if depth < settings.max_depth else ""
        # Blank lines around the sections (the prompt collapses runs of more than one).
        sections = [text for text in (c.system_section() for c in capabilities) if text]
        return _code_system_prompt(
            subagents=subagents,
            memory="\n" + "\n\n".join(sections) + "\n" if sections else "",
            timeout=f"{settings.block_timeout_s:g}",
            retries=settings.max_submit_retries,
            instructions=instructions,
            tools="\n\n".join(render_function(tool) for tool in self.tools) or "# (no tools)",
            types=types or "# (no model types)",
            output_type=output_type_name(self.output_type),
        )


@functools.lru_cache(maxsize=32)
def _code_system_prompt(
    *,
    subagents: str,
    memory: str,
    timeout: str,
    retries: int,
    instructions: str,
    tools: str,
    types: str,
    output_type: str,
) -> str:
    """The code loop's system prompt from its parts; every run of an agent gives the same parts,
    and gets the same text back without filling and scanning some 20,000 characters again."""
    text = fill(
        "system",
        subagents=subagents,
        memory=memory,
        timeout=timeout,
        retries=retries,
        instructions=instructions,
        tools=tools,
        types=types,
        output_type=output_type,
    )
    return _BLANK_RUNS.sub("\n\n", text)


def sub_agent_settings(settings: AgentSettings, *, name: str, instructions: str | None) -> AgentSettings:
    """A sub-agent's settings: its parent's kernel and limits, its own name and role text, code
    actions, and none of the parent's memory, plan, skills or run id."""
    return settings.replace(
        name=name,
        instructions=instructions,
        action_space="code",
        memory=None,
        todos=False,
        skills=None,
        run_id=None,
    )
