"""τ-bench historical trajectories: a JSON list of ``{task_id, trial, reward, info, traj}``.

``traj`` is an OpenAI chat-message list (system policy, user simulator turns, assistant turns
with ``tool_calls`` whose ``arguments`` are JSON text, ``tool`` results). The gold actions
(``info.task.actions``, ``{"name", "kwargs"}``) become the ground truth as
``{"name", "arguments"}``; the model is named by the file (``gpt-4o-airline.json``), as τ-bench
writes no model into the records. Task ids are namespaced (``tau_bench/airline/3``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from memex_audit.errors import TrajectoryFormatError
from memex_audit.loaders._formats._chat_messages import chat_steps, last_assistant_text
from memex_audit.loaders._formats._record_errors import convert_array_records, unique_ids
from memex_audit.loaders._formats._record_fields import (
    as_float,
    id_text,
    json_value,
    optional_dict,
    require_dict,
    require_list,
    unmapped,
)
from memex_audit.loaders._jsonio import first_json_char, read_json_document
from memex_audit.loaders._registry import LoadItem, LoadProblem, register_format
from memex_audit.trajectory import Outcome, Source, Trajectory

FORMAT = "tau_bench"
_FILE_NAME = re.compile(r"^(?P<model>.+?)[-_](?P<domain>airline|retail)(?=$|[-_.])")


class TauBenchFormat:
    """τ-bench historical trajectories ([{task_id, trial, reward, info, traj}], gold actions kept)."""

    name: str = FORMAT
    extensions: tuple[str, ...] = (".json",)

    def sniff(self, path: Path, head: bytes) -> float:
        if not path.name.endswith(".json") or first_json_char(head) != b"[":
            return 0.0
        if b'"traj"' in head and b'"task_id"' in head and b'"reward"' in head:
            return 0.9
        return 0.0

    def load(self, path: Path) -> Iterator[LoadItem]:
        doc = read_json_document(path, FORMAT)
        if isinstance(doc, LoadProblem):
            yield doc
            return
        if not isinstance(doc, list):
            yield LoadProblem(
                file=str(path), format=FORMAT, reason="expected a JSON list of trajectory records"
            )
            return
        match = _FILE_NAME.match(path.stem)
        model = match.group("model") if match else None
        file_domain = match.group("domain") if match else None

        yield from unique_ids(
            convert_array_records(
                doc,
                path,
                FORMAT,
                lambda record, position: _trajectory(record, position, path, model, file_domain),
            )
        )


def _trajectory(
    record: Any, position: int, path: Path, model: str | None, file_domain: str | None
) -> Trajectory:
    record = require_dict(record, "")
    task_id = id_text(record.get("task_id"))
    if task_id is None:
        raise TrajectoryFormatError("required field is missing", field="task_id")
    info = optional_dict(record.get("info"), "info")
    task = optional_dict(info.get("task"), "info.task")
    steps = chat_steps(require_list(record.get("traj") or [], "traj"), field="traj", parsed_json=True)
    reward = as_float(record.get("reward"))
    trial = record.get("trial", 0)
    domain = file_domain or "unknown"
    gold: list[JsonValue] = []
    for i, action in enumerate(require_list(task.get("actions") or [], "info.task.actions")):
        action = require_dict(action, f"info.task.actions.{i}")
        gold.append({"name": action.get("name"), "arguments": json_value(action.get("kwargs") or {})})
    metadata: dict[str, JsonValue] = {
        "agent_id": path.stem,
        "source_task_id": task_id,
        "trial": json_value(trial),
        "domain": domain,
    }
    metadata.update(unmapped(record, ("task_id", "trial", "reward", "info", "traj")))
    metadata["info"] = unmapped(info, ("task", "reward_info"))
    metadata["task"] = unmapped(task, ("instruction", "actions"))
    reward_info = optional_dict(info.get("reward_info"), "info.reward_info")
    return Trajectory(
        id=f"{path.stem}/{task_id}/{trial}",
        task_id=f"tau_bench/{domain}/{task_id}",
        question=task.get("instruction") if isinstance(task.get("instruction"), str) else None,
        ground_truth=gold,
        final_answer=last_assistant_text(steps),
        outcome=Outcome(
            reward=reward,
            correct=None if reward is None else reward >= 1.0 - 1e-9,
            details=unmapped(reward_info, ("reward",)),
        ),
        harness=FORMAT,
        model=model,
        steps=steps,
        metadata=metadata,
        source=Source(file=str(path), format=FORMAT, position=position),
    )


register_format(TauBenchFormat())
