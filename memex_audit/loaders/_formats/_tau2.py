"""τ²-bench results files: ``{timestamp, info, tasks, simulations}``, one trajectory per simulation.

Each simulation's ``messages`` (assistant / user / tool, with ``tool_calls``) become the steps;
``reward_info.reward`` is the outcome (``correct = reward >= 1``); the task's gold actions
(``evaluation_criteria.actions``, from the ``tasks`` embedded in the file) are the ground truth.
Leaderboard submissions sometimes store a bare list of simulations, or leave out ``task_id``: the
task is then derived from the ids of the checked gold actions (``"27_0"`` is task 27), or from the
natural-language assertions the simulation was graded on, which name exactly one task.

Task ids are namespaced by benchmark and domain (``tau2/airline/27``) so that τ-bench's task 27 or
another dataset's task 27 never lands in the same task group.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from memex_audit.errors import TrajectoryFormatError
from memex_audit.loaders._formats._chat_messages import chat_steps, first_user_text, last_assistant_text
from memex_audit.loaders._formats._record_errors import convert_array_records, format_problem, unique_ids
from memex_audit.loaders._formats._record_fields import (
    as_float,
    id_text,
    optional_dict,
    require_dict,
    require_list,
    summed_usage,
    unmapped,
)
from memex_audit.loaders._jsonio import first_json_char, read_json_document
from memex_audit.loaders._registry import LoadItem, LoadProblem, register_format
from memex_audit.trajectory import Outcome, Source, Step, Trajectory, Usage

FORMAT = "tau2"
_DOMAINS = ("airline", "retail", "telecom", "mock")


class Tau2Format:
    """τ²-bench results files (one trajectory per simulation, reward and gold actions kept)."""

    name: str = FORMAT
    extensions: tuple[str, ...] = (".json",)

    def sniff(self, path: Path, head: bytes) -> float:
        if not path.name.endswith(".json"):
            return 0.0
        first = first_json_char(head)
        if first == b"{" and (
            b'"simulations"' in head
            or (b'"agent_info"' in head and b'"user_info"' in head and b'"environment_info"' in head)
        ):
            return 0.95
        if first == b"[" and b'"termination_reason"' in head and b'"reward_info"' in head:
            return 0.9
        return 0.0

    def load(self, path: Path) -> Iterator[LoadItem]:
        yield from unique_ids(self._load(path))

    def _load(self, path: Path) -> Iterator[LoadItem]:
        doc = read_json_document(path, FORMAT)
        if isinstance(doc, LoadProblem):
            yield doc
            return
        if isinstance(doc, list):
            run: dict[str, Any] = {}
            simulations: Any = doc
            sims_field = None
        elif isinstance(doc, dict):
            run = doc
            simulations = doc.get("simulations")
            sims_field = "simulations"
        else:
            yield LoadProblem(file=str(path), format=FORMAT, reason="expected a results object or a list")
            return
        if not isinstance(simulations, list):
            yield LoadProblem(
                file=str(path), field="simulations", format=FORMAT, reason="no list of simulations"
            )
            return
        context = _RunContext.build(path, run)
        if isinstance(context, LoadProblem):
            yield context
            return
        yield from convert_array_records(simulations, path, FORMAT, context.trajectory, field=sims_field)


class _RunContext:
    """What the file says about every simulation in it: run info, tasks, domain, agent model."""

    def __init__(
        self, path: Path, info: dict[str, Any], tasks: dict[str, dict[str, Any]], extra: dict[str, JsonValue]
    ) -> None:
        self.path = path
        self.info = info
        self.tasks = tasks
        self.extra = extra
        env = optional_dict(info.get("environment_info"), "info.environment_info")
        self.domain: str | None = env.get("domain_name") if isinstance(env.get("domain_name"), str) else None
        self.policy = env.get("policy") if isinstance(env.get("policy"), str) else None
        agent = optional_dict(info.get("agent_info"), "info.agent_info")
        self.model: str | None = agent.get("llm") if isinstance(agent.get("llm"), str) else None
        # The run's settings, shared by every simulation; the policy is kept on its own.
        self.run_info: dict[str, JsonValue] = (
            {**info, "environment_info": {k: v for k, v in env.items() if k != "policy"}} if info else {}
        )
        self.counters: dict[str, int] = {}

    @classmethod
    def build(cls, path: Path, run: dict[str, Any]) -> _RunContext | LoadProblem:
        try:
            info = optional_dict(run.get("info"), "info")
            tasks: dict[str, dict[str, Any]] = {}
            for i, task in enumerate(require_list(run.get("tasks") or [], "tasks")):
                task = require_dict(task, f"tasks.{i}")
                task_id = id_text(task.get("id"))
                if task_id is not None:
                    tasks[task_id] = task
            extra = unmapped(run, ("info", "tasks", "simulations"))
            return cls(path, info, tasks, extra)
        except TrajectoryFormatError as exc:
            return format_problem(exc, path=path, fmt=FORMAT)

    def trajectory(self, sim: Any, position: int) -> Trajectory:
        sim = require_dict(sim, "")
        reward_info = optional_dict(sim.get("reward_info"), "reward_info")
        raw_task, derived_from = self._task_id(sim, reward_info)
        task = self.tasks.get(raw_task)
        messages = require_list(sim.get("messages") or [], "messages")
        steps = chat_steps(messages, parsed_json=True)
        domain = self.domain or _domain_from(self.path, sim)
        trial = sim.get("trial")
        if not isinstance(trial, int):
            trial = self.counters.get(raw_task, 0)
        self.counters[raw_task] = max(self.counters.get(raw_task, 0), trial + 1)

        reward = as_float(reward_info.get("reward"))
        details = unmapped(reward_info, ("reward",))
        metadata: dict[str, JsonValue] = {
            "agent_id": self.path.stem,
            "source_task_id": raw_task,
            "trial": trial,
        }
        if domain:
            metadata["domain"] = domain
        if derived_from:
            metadata["task_id_derived_from"] = derived_from
        metadata.update(unmapped(sim, ("task_id", "trial", "messages", "reward_info", "policy")))
        policy = sim.get("policy") if isinstance(sim.get("policy"), str) else self.policy
        if policy:
            metadata["policy"] = policy
        if self.run_info:
            metadata["run_info"] = self.run_info
        if self.extra:
            metadata["run"] = dict(self.extra)
        if task is not None:
            metadata["task"] = {k: v for k, v in task.items() if k != "evaluation_criteria"}
            metadata["evaluation_criteria"] = optional_dict(
                task.get("evaluation_criteria"), "evaluation_criteria"
            )

        return Trajectory(
            id=f"{self.path.stem}/{raw_task}/{trial}",
            task_id=f"tau2/{domain or 'unknown'}/{raw_task}",
            question=_question(task) or first_user_text(steps),
            ground_truth=_gold_actions(task, reward_info),
            final_answer=last_assistant_text(steps),
            outcome=Outcome(
                reward=reward,
                correct=None if reward is None else reward >= 1.0 - 1e-9,
                details=details,
            ),
            harness=FORMAT,
            model=self.model or _model_from(steps),
            steps=steps,
            usage=_agent_usage(steps, sim.get("agent_cost")),
            metadata=metadata,
            source=Source(file=str(self.path), format=FORMAT, position=position),
        )

    def _task_id(self, sim: dict[str, Any], reward_info: dict[str, Any]) -> tuple[str, str | None]:
        direct = id_text(sim.get("task_id"))
        if direct is not None:
            return direct, None
        checks = reward_info.get("action_checks") or []
        prefixes = set()
        for check in checks if isinstance(checks, list) else []:
            action = check.get("action") if isinstance(check, dict) else None
            action_id = action.get("action_id") if isinstance(action, dict) else None
            if isinstance(action_id, str) and "_" in action_id:
                prefixes.add(action_id.rsplit("_", 1)[0])
        if len(prefixes) == 1:
            return prefixes.pop(), "action_checks"
        assertions = reward_info.get("nl_assertions") or []
        texts = sorted(
            str(a["nl_assertion"])
            for a in assertions
            if isinstance(a, dict) and isinstance(a.get("nl_assertion"), str)
        )
        if texts:
            matches = [
                task_id
                for task_id, task in self.tasks.items()
                if sorted((task.get("evaluation_criteria") or {}).get("nl_assertions") or []) == texts
            ]
            if len(matches) == 1:
                return matches[0], "nl_assertions"
        raise TrajectoryFormatError(
            "simulation has no task_id, and neither its action checks nor its assertions name one task",
            field="task_id",
        )


def _question(task: dict[str, Any] | None) -> str | None:
    if task is None:
        return None
    scenario = task.get("user_scenario")
    instructions = scenario.get("instructions") if isinstance(scenario, dict) else None
    if isinstance(instructions, str):
        return instructions
    if not isinstance(instructions, dict):
        return None
    parts = []
    for key in ("reason_for_call", "known_info", "unknown_info", "task_instructions"):
        value = instructions.get(key)
        if isinstance(value, str) and value.strip():
            parts.append(f"{key.replace('_', ' ')}: {value.strip()}")
    return "\n\n".join(parts) or None


def _gold_actions(task: dict[str, Any] | None, reward_info: dict[str, Any]) -> JsonValue:
    actions: Any = None
    if task is not None:
        criteria = task.get("evaluation_criteria")
        if isinstance(criteria, dict):
            actions = criteria.get("actions")
    if actions is None:  # no embedded task: the checked actions are the gold ones
        checks = reward_info.get("action_checks")
        if isinstance(checks, list):
            actions = [c.get("action") for c in checks if isinstance(c, dict)]
    if not isinstance(actions, list):
        return None
    gold: list[JsonValue] = []
    for action in actions:
        if isinstance(action, dict):
            gold.append(
                {
                    "name": action.get("name"),
                    "arguments": action.get("arguments") or {},
                    **({"action_id": action["action_id"]} if "action_id" in action else {}),
                    **({"requestor": action["requestor"]} if action.get("requestor") else {}),
                }
            )
    return gold


def _agent_usage(steps: list[Step], agent_cost: Any) -> Usage:
    return summed_usage((step for step in steps if step.role == "assistant"), cost=agent_cost)


def _model_from(steps: list[Step]) -> str | None:
    for step in steps:
        raw = step.metadata.get("raw_data")
        model = raw.get("model") if isinstance(raw, dict) else None
        if step.role == "assistant" and isinstance(model, str):
            return model
    return None


def _domain_from(path: Path, sim: dict[str, Any]) -> str | None:
    for domain in _DOMAINS:
        if re.search(rf"(^|[^a-z]){domain}([^a-z]|$)", path.name.lower()):
            return domain
    policy = sim.get("policy")
    if isinstance(policy, str):
        match = re.match(r"\s*#\s*(\w+)", policy)
        if match and match.group(1).lower() in _DOMAINS:
            return match.group(1).lower()
    return None


register_format(Tau2Format())
