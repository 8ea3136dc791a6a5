"""Inspect Scout transcript databases: Parquet files with one transcript per row.

Scout's schema: ``transcript_id`` (required), ``source_type``, ``source_id``, ``source_uri``,
``date``, ``task_set``, ``task_id``, ``task_repeat``, ``agent``, ``agent_args`` (JSON), ``model``,
``model_options`` (JSON), ``score`` (JSON), ``score_explanation``, ``success``,
``message_count``, ``total_time``, ``total_tokens``, ``error``, ``limit``, ``messages`` (JSON list
of Inspect chat messages) and ``events`` (JSON); any other column is the transcript's metadata.
A database is a folder of such files; each file is read on its own, in row batches so a large
database is never held whole. ``events``, ``timelines`` and ``events_data`` duplicate the
messages and are not copied (``metadata["omitted_fields"]`` says so).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from pydantic import JsonValue

from memex_audit.errors import TrajectoryFormatError
from memex_audit.loaders._formats._chat_messages import chat_steps, first_user_text, last_assistant_text
from memex_audit.loaders._formats._inspect import score_value
from memex_audit.loaders._formats._record_errors import convert_record, file_error, unique_ids
from memex_audit.loaders._formats._record_fields import id_text, json_value
from memex_audit.loaders._registry import LoadItem, register_format
from memex_audit.trajectory import Outcome, Source, Trajectory

FORMAT = "scout"
_PARQUET_MAGIC = b"PAR1"
_JSON_COLUMNS = frozenset({"agent_args", "model_options", "score", "metadata"})
_OMITTED = ("events", "timelines", "events_data")
_MAPPED = frozenset(
    {"transcript_id", "task_set", "task_id", "task_repeat", "agent", "model", "score", "success", "messages"}
)
_BATCH_ROWS = 256


class ScoutFormat:
    """Inspect Scout transcript databases (Parquet), one trajectory per transcript row."""

    name: str = FORMAT
    extensions: tuple[str, ...] = (".parquet",)

    def sniff(self, path: Path, head: bytes) -> float:
        if not path.name.endswith(".parquet") or not head.startswith(_PARQUET_MAGIC):
            return 0.0
        import pyarrow.parquet as pq

        try:
            names = set(pq.read_schema(path).names)
        except Exception:  # an unreadable footer: not ours to claim
            return 0.0
        if "transcript_id" in names and "messages" in names:
            return 0.95
        # Other Parquet: claimed weakly, so that loading it says which columns are missing
        # rather than calling a binary file bad text.
        return 0.05

    def load(self, path: Path) -> Iterator[LoadItem]:
        yield from unique_ids(self._load(path))

    def _load(self, path: Path) -> Iterator[LoadItem]:
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(path)
        except Exception as exc:
            yield file_error(path, FORMAT, f"not a readable Parquet file: {exc}")
            return
        missing = [c for c in ("transcript_id", "messages") if c not in parquet.schema_arrow.names]
        if missing:
            yield file_error(
                path,
                FORMAT,
                f"a Parquet file but not an Inspect Scout transcript database: no {' or '.join(missing)} column",
                field=missing[0],
            )
            return
        row = 0
        for batch in parquet.iter_batches(batch_size=_BATCH_ROWS):
            for record in batch.to_pylist():
                yield convert_record(
                    partial(transcript_trajectory, record, path, row),
                    path=path,
                    fmt=FORMAT,
                    line=row + 1,
                    field_prefix=f"row {row}",
                )
                row += 1


def transcript_trajectory(row: dict[str, Any], path: Path, position: int) -> Trajectory:
    """One Scout transcript row as a trajectory."""
    transcript_id = id_text(row.get("transcript_id"))
    if transcript_id is None:
        raise TrajectoryFormatError("required field is missing", field="transcript_id")
    messages = _json_column(row, "messages") or []
    if not isinstance(messages, list):
        raise TrajectoryFormatError("expected a JSON list of chat messages", field="messages")
    steps = chat_steps(messages)
    task_set = row.get("task_set") if isinstance(row.get("task_set"), str) else None
    raw_task = id_text(row.get("task_id"))
    task_id = f"{task_set}/{raw_task}" if task_set and raw_task else raw_task or transcript_id
    score = _json_column(row, "score")
    correct, value = score_value(score)
    if isinstance(row.get("success"), bool):
        correct = row["success"]
    metadata: dict[str, JsonValue] = {}
    for key, value_ in row.items():
        if key in _MAPPED or key in _OMITTED or value_ is None:
            continue
        metadata[key] = json_value(_json_column(row, key) if key in _JSON_COLUMNS else value_)
    omitted: list[JsonValue] = [name for name in _OMITTED if row.get(name)]
    if omitted:
        metadata["omitted_fields"] = omitted
    if raw_task is not None:
        metadata["source_task_id"] = raw_task
    if row.get("task_repeat") is not None:
        metadata["task_repeat"] = json_value(row["task_repeat"])
    return Trajectory(
        id=transcript_id,
        task_id=task_id,
        question=first_user_text(steps),
        final_answer=last_assistant_text(steps),
        outcome=Outcome(
            correct=correct,
            score=value,
            details={"score": json_value(score)} if score is not None else {},
        ),
        harness=row.get("agent") if isinstance(row.get("agent"), str) else FORMAT,
        model=row.get("model") if isinstance(row.get("model"), str) else None,
        steps=steps,
        metadata=metadata,
        source=Source(file=str(path), format=FORMAT, position=position),
    )


def _json_column(row: dict[str, Any], key: str) -> Any:
    value = row.get(key)
    if not isinstance(value, str | bytes):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        if key == "messages":
            raise TrajectoryFormatError(f"column does not hold valid JSON ({exc})", field=key) from exc
        return value


register_format(ScoutFormat())
