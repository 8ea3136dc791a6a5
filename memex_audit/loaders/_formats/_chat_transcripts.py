"""Chat transcript files: a message list, or ``{"messages": [...], ...}`` records, in JSON or JSONL.

The OpenAI and Anthropic adapters read the same envelope and differ only in how a message list
becomes steps. Accepted shapes:

* ``.json``: a bare list of messages; one record object; or a list of record objects.
* ``.jsonl``: one record object (or bare message list) per line.

A record may carry ``id``, ``task_id``, ``question``, ``ground_truth``, ``final_answer``,
``correct``, ``reward``, ``score``, ``model``, ``harness`` (or ``metadata.harness``), ``system``
(Anthropic's system prompt), ``labels`` and ``metadata``; every other field goes to the
trajectory's ``metadata``. Without a harness, the format's name stands in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from memex_audit.errors import TrajectoryFormatError
from memex_audit.loaders._formats._chat_messages import first_user_text, last_assistant_text
from memex_audit.loaders._formats._record_errors import (
    convert_array_records,
    convert_jsonl_records,
    convert_record,
    unique_ids,
)
from memex_audit.loaders._formats._record_fields import (
    as_float,
    id_text,
    json_value,
    optional_dict,
    require_list,
    summed_usage,
    unmapped,
)
from memex_audit.loaders._jsonio import read_json_document
from memex_audit.loaders._registry import LoadItem, LoadProblem
from memex_audit.trajectory import HumanLabel, Outcome, Source, Step, Trajectory, Usage

StepsReader = Callable[[list[Any], str | None], list[Step]]
"""Turns a message list (and an optional system prompt) into steps."""

_ENVELOPE = (
    "messages",
    "id",
    "task_id",
    "question",
    "ground_truth",
    "final_answer",
    "correct",
    "reward",
    "score",
    "model",
    "harness",
    "system",
    "labels",
    "metadata",
    "usage",
)


def load_chat_file(path: Path, fmt: str, read_steps: StepsReader) -> Iterator[LoadItem]:
    """Yield a trajectory per record of a chat transcript file (see the module docstring)."""
    yield from unique_ids(_load(path, fmt, read_steps))


def _load(path: Path, fmt: str, read_steps: StepsReader) -> Iterator[LoadItem]:
    if path.name.endswith(".jsonl"):
        yield from convert_jsonl_records(
            path,
            fmt,
            lambda record, line: _trajectory(record, path, fmt, read_steps, line=line, position=None),
        )
        return
    doc = read_json_document(path, fmt)
    if isinstance(doc, LoadProblem):
        yield doc
        return
    if isinstance(doc, list) and doc and all(isinstance(r, dict) and "messages" in r for r in doc):
        yield from convert_array_records(
            doc,
            path,
            fmt,
            lambda record, position: _trajectory(record, path, fmt, read_steps, line=None, position=position),
        )
        return
    yield convert_record(
        partial(_trajectory, doc, path, fmt, read_steps, line=None, position=None), path=path, fmt=fmt
    )


def _trajectory(
    record: Any,
    path: Path,
    fmt: str,
    read_steps: StepsReader,
    *,
    line: int | None,
    position: int | None,
) -> Trajectory:
    if isinstance(record, list):
        record = {"messages": record}
    if not isinstance(record, dict):
        raise TrajectoryFormatError(
            f"expected a message list or an object with messages, got {type(record).__name__}"
        )
    if "messages" not in record:
        raise TrajectoryFormatError("required field is missing", field="messages")
    messages = require_list(record["messages"], "messages")
    system = record.get("system")
    if system is not None and not isinstance(system, str):
        system = _system_text(system)
    steps = read_steps(messages, system)
    where = line if line is not None else (position + 1 if position is not None else None)
    # Without an id, the folder and file name the record (two runs' chat.json must not collide).
    stem = f"{path.parent.name}/{path.stem}" if path.parent.name else path.stem
    stem = stem if where is None else f"{stem}/{where}"
    rid = id_text(record.get("id"))
    task_id = id_text(record.get("task_id")) or rid or stem
    metadata: dict[str, JsonValue] = dict(optional_dict(record.get("metadata"), "metadata"))
    metadata.update(unmapped(record, _ENVELOPE))
    if isinstance(record.get("system"), list):
        metadata["system"] = json_value(record["system"])
    reward = as_float(record.get("reward"))
    score = as_float(record.get("score"))
    correct = record.get("correct")
    if correct is not None and not isinstance(correct, bool):
        raise TrajectoryFormatError(f"expected true or false, got {correct!r}", field="correct")
    labels = [
        HumanLabel.model_validate(label) for label in require_list(record.get("labels") or [], "labels")
    ]
    final_answer = record.get("final_answer")
    usage = summed_usage(steps)
    if isinstance(record.get("usage"), dict):
        usage = Usage.model_validate(record["usage"])
    question = record.get("question")
    return Trajectory(
        id=rid or stem,
        task_id=task_id,
        question=question if isinstance(question, str) else first_user_text(steps),
        ground_truth=json_value(record.get("ground_truth")),
        final_answer=str(final_answer) if final_answer is not None else last_assistant_text(steps),
        outcome=Outcome(correct=correct, reward=reward, score=score),
        harness=_first_str(record.get("harness"), metadata.get("harness")) or fmt,
        model=record.get("model") if isinstance(record.get("model"), str) else _model_of(steps),
        steps=steps,
        usage=usage,
        labels=labels,
        metadata=metadata,
        source=Source(file=str(path), format=fmt, line=line, position=position),
    )


def _first_str(*values: Any) -> str | None:
    return next((v for v in values if isinstance(v, str) and v), None)


def _system_text(system: Any) -> str | None:
    blocks = system if isinstance(system, list) else [system]
    texts = [b.get("text") for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str)]
    return "\n".join(t for t in texts if t) or None


def _model_of(steps: list[Step]) -> str | None:
    for step in steps:
        model = step.metadata.get("model")
        if step.role == "assistant" and isinstance(model, str):
            return model
    return None
