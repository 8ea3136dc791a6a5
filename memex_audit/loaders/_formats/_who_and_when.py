"""Who&When failure-attribution logs: one failed multi-agent run per file, with its blamed step.

Two variants share the top level (``question``, ``question_ID``, ``ground_truth``, ``history``,
``mistake_agent``, ``mistake_step``, ``mistake_reason``):

* Algorithm-Generated (AG2 CaptainAgent teams): history items carry ``name`` (the agent),
  ``role`` and ``content``; ``system_prompt`` maps agent names to their prompts.
* Hand-Crafted (Magentic-One): items carry ``role`` (``human``, ``Orchestrator (thought)``,
  ``WebSurfer``…) and ``content``; the role names the agent.

One history item is one step (``steps[i]`` is ``history[i]``), so ``mistake_step`` indexes the
steps directly. The blame becomes a ``HumanLabel``; the runs are failures (``correct=False``).
The task id is the benchmark question's id, so runs of the same question group together.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from memex_audit.errors import TrajectoryFormatError
from memex_audit.loaders._formats._record_errors import convert_json_document
from memex_audit.loaders._formats._record_fields import (
    id_text,
    json_value,
    require_dict,
    require_list,
    unmapped,
)
from memex_audit.loaders._jsonio import first_json_char
from memex_audit.loaders._registry import LoadItem, register_format
from memex_audit.trajectory import HumanLabel, Outcome, Role, Source, Step, Trajectory

FORMAT = "who_and_when"
_HISTORY_FIRST = re.compile(rb'\A(?:\xef\xbb\xbf)?\s*\{\s*"history"\s*:\s*\[')
_MAPPED = (
    "question",
    "question_ID",
    "ground_truth",
    "history",
    "mistake_agent",
    "mistake_step",
    "mistake_reason",
)


class WhoAndWhenFormat:
    """Who&When failure-attribution logs (AG2 teams and Magentic-One), blame kept as labels."""

    name: str = FORMAT
    extensions: tuple[str, ...] = (".json",)

    def sniff(self, path: Path, head: bytes) -> float:
        if not path.name.endswith(".json") or first_json_char(head) != b"{":
            return 0.0
        if b'"history"' in head and (b'"question_ID"' in head or b'"mistake_agent"' in head):
            return 0.9
        # Hand-Crafted logs open with a long ``history``, pushing the other keys past the head.
        if _HISTORY_FIRST.match(head) and b'"role"' in head and b'"content"' in head:
            return 0.8 if b'"Orchestrator' in head or b'"role": "human"' in head else 0.6
        return 0.0

    def load(self, path: Path) -> Iterator[LoadItem]:
        yield from convert_json_document(path, FORMAT, lambda doc: _trajectory(doc, path))


def _trajectory(doc: Any, path: Path) -> Trajectory:
    record = require_dict(doc, "")
    history = require_list(record.get("history"), "history")
    steps = [_step(item, i) for i, item in enumerate(history)]
    variant = (
        "magentic-one" if all("name" not in (h if isinstance(h, dict) else {}) for h in history) else "ag2"
    )
    raw_step = record.get("mistake_step")
    faulty_step: int | None = None
    if raw_step is not None and raw_step != "":
        try:
            faulty_step = int(str(raw_step).strip())
        except ValueError as exc:
            raise TrajectoryFormatError(
                f"expected a step number, got {raw_step!r}", field="mistake_step"
            ) from exc
        if not 0 <= faulty_step < len(steps):
            raise TrajectoryFormatError(
                f"step {faulty_step} is outside the history ({len(steps)} items)", field="mistake_step"
            )
    label_meta: dict[str, JsonValue] = {}
    for key in ("mistake_type", "labels"):
        if record.get(key) is not None:
            label_meta[key] = json_value(record[key])
    label = HumanLabel(
        faulty_agent=id_text(record.get("mistake_agent")),
        faulty_step=faulty_step,
        reason=record.get("mistake_reason") if isinstance(record.get("mistake_reason"), str) else None,
        annotator="who_and_when",
        metadata=label_meta,
    )
    question_id = id_text(record.get("question_ID"))
    subset = path.parent.name
    metadata: dict[str, JsonValue] = {"variant": variant, "subset": subset}
    metadata.update(unmapped(record, (*_MAPPED, "mistake_type", "labels")))
    ground_truth = record.get("ground_truth")
    return Trajectory(
        id=f"who_and_when/{subset}/{path.stem}",
        task_id=question_id or f"who_and_when/{subset}/{path.stem}",
        question=record.get("question") if isinstance(record.get("question"), str) else None,
        ground_truth=json_value(ground_truth),
        outcome=Outcome(correct=False),
        harness="magentic-one" if variant == "magentic-one" else "ag2",
        steps=steps,
        labels=[label],
        metadata=metadata,
        source=Source(file=str(path), format=FORMAT),
    )


def _step(item: Any, index: int) -> Step:
    data = require_dict(item, f"history.{index}")
    content = data.get("content")
    raw_role = data.get("role")
    name = data.get("name")
    role: Role
    agent: str | None
    if isinstance(name, str):  # AG2: the name is the agent, the role is the chat role
        agent = name
        role = "assistant" if raw_role == "assistant" else "user"
    else:  # Magentic-One: the role is the agent
        agent = str(raw_role) if raw_role is not None else None
        role = "user" if raw_role in ("human", "user") else "assistant"
    metadata = unmapped(data, ("content", "name"))
    if not isinstance(content, str) and content is not None:
        metadata["content"] = json_value(content)
        content = str(content)
    return Step(index=index, role=role, agent=agent, text=content, metadata=metadata)


register_format(WhoAndWhenFormat())
