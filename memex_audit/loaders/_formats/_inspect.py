"""Inspect AI eval logs: ``.json`` logs and ``.eval`` zip archives, one trajectory per sample.

A log holds the eval's spec (``eval``: task, model, solver…), its ``plan``, ``results`` and
``stats``, and its ``samples``. In the ``.eval`` format (a zip) the header lives in
``header.json`` (or ``_journal/start.json`` while a run is in progress) and each sample in
``samples/<id>_epoch_<n>.json``; current Inspect versions compress the entries with zstd (zip
method 93), which ``_compression.read_zip_entry`` reads. Large message content may be stored once in the sample's
``attachments`` and referenced as ``attachment://<hash>``; references are resolved on read.

Each sample's ``messages`` become the steps (Inspect's chat shape, see ``_chat_messages``); its
``scores`` become the outcome (``C``/``I``/``P``/``N`` letters, booleans or numbers); ``target``
is the ground truth; ``model_usage`` the usage. A sample's ``events`` duplicate its messages and
are often large, so they are not copied: ``metadata["omitted_fields"]`` says so, and
``source`` points at the sample in the log.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from pydantic import JsonValue

from memex_audit.errors import TrajectoryFormatError
from memex_audit.loaders._compression import read_zip_entry
from memex_audit.loaders._formats._chat_messages import chat_steps, first_user_text, last_assistant_text
from memex_audit.loaders._formats._record_errors import (
    convert_array_records,
    convert_record,
    file_error,
    unique_ids,
)
from memex_audit.loaders._formats._record_fields import (
    as_float,
    id_text,
    json_value,
    optional_dict,
    require_dict,
    require_list,
    split_content,
    unmapped,
    usage_from,
)
from memex_audit.loaders._jsonio import first_json_char, read_json_document
from memex_audit.loaders._registry import LoadItem, LoadProblem, register_format
from memex_audit.trajectory import Outcome, Source, Trajectory, Usage

FORMAT = "inspect"
_ZIP_MAGIC = b"PK\x03\x04"
_LETTER_SCORES = {"C": 1.0, "I": 0.0, "P": 0.5, "N": 0.0}
_OMITTED = ("events", "attachments")
_LOG_START = re.compile(rb'\A(?:\xef\xbb\xbf)?\s*\{\s*"(?:version|status|eval)"')
_NO_SAMPLES = "the log holds no samples (was it written with --no-log-samples?)"
_WITH_ATTACHMENTS = frozenset({"input", "messages", "output", "target", "metadata", "scores", "store"})


class InspectFormat:
    """Inspect AI eval logs (.json and the .eval zip), a trajectory per sample."""

    name: str = FORMAT
    extensions: tuple[str, ...] = (".eval", ".json")

    def sniff(self, path: Path, head: bytes) -> float:
        if path.name.endswith(".eval"):
            return 0.95 if head.startswith(_ZIP_MAGIC) else 0.0
        if not path.name.endswith(".json") or first_json_char(head) != b"{":
            return 0.0
        if not _LOG_START.match(head):  # a log opens with its version/status/eval keys
            return 0.0
        if b'"eval"' in head and (b'"samples"' in head or b'"plan"' in head or b'"results"' in head):
            return 0.9
        return 0.0

    def is_companion(self, path: Path, head: bytes) -> bool:
        # ``logs.json`` indexes a log folder: each log's header by file name, no samples.
        return path.name == "logs.json" and b'"eval"' in head

    def load(self, path: Path) -> Iterator[LoadItem]:
        if path.name.endswith(".eval"):
            yield from unique_ids(self._load_zip(path))
        else:
            yield from unique_ids(self._load_json(path))

    def _load_json(self, path: Path) -> Iterator[LoadItem]:
        doc = read_json_document(path, FORMAT)
        if isinstance(doc, LoadProblem):
            yield doc
            return
        if not isinstance(doc, dict):
            yield file_error(path, FORMAT, "expected an Inspect eval log object")
            return
        samples = doc.get("samples") or []
        if not isinstance(samples, list):
            yield file_error(path, FORMAT, "expected a list of samples", field="samples")
            return
        if not samples:
            yield file_error(path, FORMAT, _NO_SAMPLES, field="samples")
        yield from convert_array_records(
            samples,
            path,
            FORMAT,
            lambda sample, position: sample_trajectory(sample, doc, path, position),
            field="samples",
        )

    def _load_zip(self, path: Path) -> Iterator[LoadItem]:
        try:
            archive = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as exc:
            yield file_error(path, FORMAT, f"not a readable .eval archive: {exc}")
            return
        with archive:
            names = archive.namelist()
            header_name = next((n for n in ("header.json", "_journal/start.json") if n in names), None)
            header: Any = {}
            if header_name is not None:
                try:
                    header = orjson.loads(read_zip_entry(archive, header_name))
                except (orjson.JSONDecodeError, zipfile.BadZipFile, OSError) as exc:
                    yield file_error(path, FORMAT, f"malformed {header_name}: {exc}", field=header_name)
                    return
            sample_names = [n for n in names if n.startswith("samples/") and n.endswith(".json")]
            if not sample_names:
                yield file_error(path, FORMAT, _NO_SAMPLES, field="samples")
            for position, name in enumerate(sample_names):
                try:
                    sample = orjson.loads(read_zip_entry(archive, name))
                except (orjson.JSONDecodeError, zipfile.BadZipFile, OSError) as exc:
                    yield LoadProblem(
                        file=str(path),
                        line=position + 1,
                        field=name,
                        format=FORMAT,
                        reason=f"malformed sample: {exc}",
                    )
                    continue
                yield convert_record(
                    partial(sample_trajectory, sample, header, path, position, entry=name),
                    path=path,
                    fmt=FORMAT,
                    line=position + 1,
                    field_prefix=name,
                )


def sample_trajectory(
    sample: Any, log: Any, path: Path, position: int, *, entry: str | None = None
) -> Trajectory:
    """One Inspect ``EvalSample`` (with its log's header) as a trajectory."""
    sample = require_dict(sample, "")
    log = require_dict(log, "log")
    spec = optional_dict(log.get("eval"), "eval")
    attachments = sample.get("attachments")
    if isinstance(attachments, dict) and attachments:
        sample = {
            k: _resolve_attachments(v, attachments) if k in _WITH_ATTACHMENTS else v
            for k, v in sample.items()
        }
    sample_id = id_text(sample.get("id"))
    if sample_id is None:
        raise TrajectoryFormatError("sample has no id", field="id")
    epoch = sample.get("epoch", 1)
    messages = require_list(sample.get("messages") or [], "messages")
    steps = chat_steps(messages)
    task = spec.get("task") if isinstance(spec.get("task"), str) else path.stem
    output = optional_dict(sample.get("output"), "output")
    question = sample.get("input")
    if not isinstance(question, str):
        question = first_user_text(steps)
    metadata: dict[str, JsonValue] = {"task": task, "sample_id": sample_id, "epoch": json_value(epoch)}
    metadata.update(
        unmapped(sample, ("id", "epoch", "messages", "target", "scores", "model_usage", *_OMITTED))
    )
    omitted: list[JsonValue] = [name for name in _OMITTED if sample.get(name)]
    if omitted:
        metadata["omitted_fields"] = omitted
    if not isinstance(sample.get("input"), str) and sample.get("input") is not None:
        metadata["input"] = json_value(sample["input"])
    metadata["eval"] = json_value({k: v for k, v in spec.items() if k != "dataset"})
    if entry is not None:
        metadata["archive_entry"] = entry
    return Trajectory(
        id=f"{path.stem}/{sample_id}/{epoch}",
        task_id=f"{task}/{sample_id}",
        question=question,
        ground_truth=json_value(sample.get("target")),
        final_answer=_final_answer(output) or last_assistant_text(steps),
        outcome=scores_outcome(sample.get("scores")),
        harness=_solver(spec, log) or FORMAT,
        model=spec.get("model") if isinstance(spec.get("model"), str) else output.get("model"),
        steps=steps,
        usage=_model_usage(sample.get("model_usage")),
        metadata=metadata,
        source=Source(file=str(path), format=FORMAT, position=position),
    )


def scores_outcome(scores: Any) -> Outcome:
    """An outcome from Inspect scores: the first scorer's value decides, all are kept in details."""
    if not isinstance(scores, dict) or not scores:
        return Outcome(score=as_float(scores)) if scores is not None else Outcome()
    details: dict[str, JsonValue] = {str(k): json_value(v) for k, v in scores.items()}
    first = next(iter(scores.values()))
    value = first.get("value") if isinstance(first, dict) and "value" in first else first
    correct, score = score_value(value)
    return Outcome(correct=correct, score=score, details=details)


def score_value(value: Any) -> tuple[bool | None, float | None]:
    """``(correct, score)`` for one Inspect score value."""
    if isinstance(value, str):
        letter = value.strip().upper()
        if letter in _LETTER_SCORES:
            return letter == "C", _LETTER_SCORES[letter]
        if letter in ("YES", "TRUE", "CORRECT"):
            return True, 1.0
        if letter in ("NO", "FALSE", "INCORRECT"):
            return False, 0.0
        return None, as_float(_number(value))
    if isinstance(value, bool):
        return value, 1.0 if value else 0.0
    number = as_float(value)
    if number is not None:
        return None, number
    return None, None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _final_answer(output: dict[str, Any]) -> str | None:
    if isinstance(output.get("completion"), str) and output["completion"].strip():
        return str(output["completion"])
    choices = output.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if isinstance(message, dict):
            text, _, _ = split_content(message.get("content"))
            return text
    return None


def _solver(spec: dict[str, Any], log: dict[str, Any]) -> str | None:
    solver = spec.get("solver")
    if isinstance(solver, str) and solver:
        return solver
    plan = log.get("plan")
    steps = plan.get("steps") if isinstance(plan, dict) else None
    if isinstance(steps, list) and steps and isinstance(steps[-1], dict):
        name = steps[-1].get("solver")
        return name if isinstance(name, str) else None
    return None


def _model_usage(data: Any) -> Usage:
    total = Usage()
    if isinstance(data, dict):
        for usage in data.values():
            converted = usage_from(usage)
            if converted is not None:
                total = total + converted
    return total


def _resolve_attachments(value: Any, attachments: dict[str, Any]) -> Any:
    if isinstance(value, str):
        if value.startswith("attachment://"):
            found = attachments.get(value[len("attachment://") :])
            return found if isinstance(found, str) else value
        return value
    if isinstance(value, dict):
        return {k: _resolve_attachments(v, attachments) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_attachments(v, attachments) for v in value]
    return value


register_format(InspectFormat())
