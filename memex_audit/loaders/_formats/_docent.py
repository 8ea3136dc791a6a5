"""Docent ``AgentRun`` records (JSON, a list of them, or JSONL), one trajectory per run.

An ``AgentRun`` is ``{id, name?, description?, transcripts, transcript_groups?, metadata}``;
``transcripts`` is a list (or, in older exports, a dict by name) of ``{id, name?, messages,
metadata}``. Messages use Docent's chat shape (``content`` as text or text/reasoning parts,
``tool_calls[].function`` as the tool name, tool errors as ``{"type", "message"}``), read by
``_chat_messages``. In a multi-agent run each transcript is one agent's view: its steps follow
each other in transcript order and name the transcript as their ``agent``.

Run metadata conventionally carries ``scores`` (``correct``, ``reward`` or any named score), and
may carry ``task_id``/``sample_id``, ``model``, ``agent``/``scaffold`` and ``epoch``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from memex_audit.errors import TrajectoryFormatError
from memex_audit.loaders._formats._chat_messages import chat_step, first_user_text, last_assistant_text
from memex_audit.loaders._formats._inspect import score_value
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
    require_dict,
    unmapped,
)
from memex_audit.loaders._jsonio import first_json_char, read_json_document
from memex_audit.loaders._registry import LoadItem, LoadProblem, register_format
from memex_audit.trajectory import Outcome, Source, Step, Trajectory

FORMAT = "docent"


class DocentFormat:
    """Docent AgentRun records (JSON or JSONL), one trajectory per run."""

    name: str = FORMAT
    extensions: tuple[str, ...] = (".json", ".jsonl")

    def sniff(self, path: Path, head: bytes) -> float:
        if not path.name.endswith(self.extensions) or first_json_char(head) not in (b"[", b"{"):
            return 0.0
        if b'"transcripts"' in head and b'"messages"' in head:
            return 0.8
        return 0.0

    def load(self, path: Path) -> Iterator[LoadItem]:
        yield from unique_ids(self._load(path))

    def _load(self, path: Path) -> Iterator[LoadItem]:
        if path.name.endswith(".jsonl"):
            yield from convert_jsonl_records(
                path, FORMAT, lambda record, line: agent_run_trajectory(record, path, line=line)
            )
            return
        doc = read_json_document(path, FORMAT)
        if isinstance(doc, LoadProblem):
            yield doc
            return
        if isinstance(doc, list):
            yield from convert_array_records(
                doc, path, FORMAT, lambda run, position: agent_run_trajectory(run, path, position=position)
            )
        else:
            yield convert_record(partial(agent_run_trajectory, doc, path), path=path, fmt=FORMAT)


def agent_run_trajectory(
    record: Any, path: Path, *, line: int | None = None, position: int | None = None
) -> Trajectory:
    """One Docent ``AgentRun`` as a trajectory."""
    run = require_dict(record, "")
    raw_transcripts = run.get("transcripts")
    if isinstance(raw_transcripts, dict):
        transcripts = [
            (str(key), require_dict(value, f"transcripts.{key}")) for key, value in raw_transcripts.items()
        ]
    elif isinstance(raw_transcripts, list):
        transcripts = [
            (str(i), require_dict(value, f"transcripts.{i}")) for i, value in enumerate(raw_transcripts)
        ]
    else:
        raise TrajectoryFormatError("expected a list of transcripts", field="transcripts")
    multi = len(transcripts) > 1
    steps: list[Step] = []
    transcript_info: list[JsonValue] = []
    for key, transcript in transcripts:
        name = transcript.get("name") if isinstance(transcript.get("name"), str) else None
        label = name or id_text(transcript.get("id")) or key
        messages = transcript.get("messages")
        if not isinstance(messages, list):
            raise TrajectoryFormatError("expected a list of messages", field=f"transcripts.{key}.messages")
        for i, message in enumerate(messages):
            step = chat_step(message, len(steps), f"transcripts.{key}.messages.{i}")
            if multi:
                step.metadata["transcript"] = label
                if step.agent is None and step.role == "assistant":
                    step.agent = label
            steps.append(step)
        transcript_info.append({"key": key, **unmapped(transcript, ("messages",))})

    meta = optional_dict(run.get("metadata"), "metadata")
    where = line if line is not None else (position + 1 if position is not None else None)
    run_id = id_text(run.get("id")) or (f"{path.stem}/{where}" if where is not None else path.stem)
    task_id = id_text(meta.get("task_id")) or id_text(meta.get("sample_id")) or run_id
    epoch = meta.get("epoch", meta.get("epoch_id"))
    metadata: dict[str, JsonValue] = {str(k): json_value(v) for k, v in meta.items()}
    metadata.update(unmapped(run, ("id", "transcripts", "metadata")))
    metadata["transcripts"] = transcript_info
    model = meta.get("model")
    harness = meta.get("agent", meta.get("scaffold"))
    question = meta.get("question") if isinstance(meta.get("question"), str) else first_user_text(steps)
    return Trajectory(
        id=run_id if epoch is None else f"{run_id}/{epoch}",
        task_id=task_id,
        question=question,
        ground_truth=json_value(meta.get("ground_truth", meta.get("target"))),
        final_answer=last_assistant_text(steps),
        outcome=_outcome(meta.get("scores")),
        harness=harness if isinstance(harness, str) else FORMAT,
        model=model if isinstance(model, str) else None,
        steps=steps,
        metadata=metadata,
        source=Source(file=str(path), format=FORMAT, line=line, position=position),
    )


def _outcome(scores: Any) -> Outcome:
    if not isinstance(scores, dict) or not scores:
        return Outcome()
    details = {str(k): json_value(v) for k, v in scores.items()}
    correct = scores.get("correct")
    reward = as_float(scores.get("reward"))
    score = as_float(scores.get("score"))
    if not isinstance(correct, bool):
        correct = None
        if reward is None and score is None:
            correct, score = score_value(next(iter(scores.values())))
    return Outcome(correct=correct, reward=reward, score=score, details=details)


register_format(DocentFormat())
