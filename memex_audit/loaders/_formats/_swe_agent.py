"""mini-swe-agent and SWE-agent trajectories, graded by the SWE-bench reports found beside them.

* mini-swe-agent (``<id>.traj.json``: ``{instance_id, info, messages, trajectory_format}``): the
  assistant writes a THOUGHT and one fenced ``bash`` block; the next user message is the
  observation (``<returncode>`` and ``<output>``). One message is one step: the assistant step
  carries the command as ``code`` and as a ``bash`` tool call, and the observation becomes the
  ``tool`` step answering it (``error`` set when the return code is not 0).
* SWE-agent (``<id>.traj``: ``{trajectory: [{thought, action, observation, ...}], info}``): each
  trajectory item becomes an assistant step and the tool step holding its observation.

The outcome comes from SWE-bench's per-instance ``report.json`` (beside the trajectory or under
``logs/<instance_id>/`` of an enclosing run folder) or a run's ``results_summary.json`` /
``results.json``; both are companion files, read here and skipped as data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from pydantic import JsonValue

from memex_audit.loaders._formats._record_errors import convert_json_document
from memex_audit.loaders._formats._record_fields import (
    id_text,
    json_value,
    optional_dict,
    require_dict,
    require_list,
    summed_usage,
    unmapped,
    usage_from,
)
from memex_audit.loaders._jsonio import first_json_char
from memex_audit.loaders._registry import LoadItem, register_format
from memex_audit.trajectory import Outcome, Source, Step, ToolCall, Trajectory

FORMAT = "swe_agent"
# mini-swe-agent runs the one ```bash block of a message; the language tag is required, or the
# closing fence of a ```python listing would open a block of its own.
_BASH_BLOCK = re.compile(r"```bash\s*\n(.*?)\n```", re.DOTALL)
_RETURNCODE = re.compile(r"<returncode>\s*(-?\d+)\s*</returncode>")
_PR_DESCRIPTION = re.compile(r"<pr_description>\s*(.*?)\s*</pr_description>", re.DOTALL)
_SUMMARY_NAMES = ("results_summary.json", "results.json")


class SweAgentFormat:
    """mini-swe-agent / SWE-agent trajectories, joined with SWE-bench reports for the outcome."""

    name: str = FORMAT
    extensions: tuple[str, ...] = (".traj.json", ".traj")

    def sniff(self, path: Path, head: bytes) -> float:
        if first_json_char(head) != b"{":
            return 0.0
        if path.name.endswith(".traj.json"):
            return 0.95 if b'"messages"' in head or b'"trajectory"' in head else 0.6
        if path.name.endswith(".traj") and b'"trajectory"' in head:
            return 0.95
        if path.name.endswith(".json") and b'"mini-swe-agent' in head and b'"instance_id"' in head:
            return 0.9
        return 0.0

    def is_companion(self, path: Path, head: bytes) -> bool:
        if path.name == "report.json":
            return b'"resolved"' in head or b'"tests_status"' in head
        if path.name in _SUMMARY_NAMES:
            return b'"resolved' in head
        if path.name == "preds.json":
            return b'"model_patch"' in head
        return False

    def load(self, path: Path) -> Iterator[LoadItem]:
        yield from convert_json_document(path, FORMAT, lambda doc: _trajectory(doc, path))


def _trajectory(doc: Any, path: Path) -> Trajectory:
    record = require_dict(doc, "")
    info = optional_dict(record.get("info"), "info")
    instance_id = id_text(record.get("instance_id")) or path.name.split(".traj")[0]
    if "messages" in record:
        steps = _mini_steps(require_list(record["messages"], "messages"))
        harness = "mini-swe-agent"
        mapped: tuple[str, ...] = ("instance_id", "info", "messages")
    else:
        steps = _swe_agent_steps(require_list(record.get("trajectory"), "trajectory"))
        harness = "swe-agent"
        mapped = ("instance_id", "info", "trajectory")
    config = optional_dict(info.get("config"), "info.config")
    model_cfg = optional_dict(config.get("model"), "info.config.model")
    model = model_cfg.get("model_name") if isinstance(model_cfg.get("model_name"), str) else None
    if model is None:
        model = _model_from_steps(steps)
    stats = optional_dict(info.get("model_stats"), "info.model_stats")
    usage = summed_usage(steps, cost=stats.get("instance_cost"))
    if not usage.total_tokens:
        usage.input_tokens = int(stats.get("tokens_sent") or 0)
        usage.output_tokens = int(stats.get("tokens_received") or 0)
    run = _run_folder(path)
    metadata: dict[str, JsonValue] = {"instance_id": instance_id, "run": run.name}
    metadata.update(unmapped(record, mapped))
    metadata["info"] = unmapped(info, ("submission",))
    submission = info.get("submission")
    question = None
    for step in steps:
        if step.role == "user" and step.text:
            match = _PR_DESCRIPTION.search(step.text)
            question = match.group(1) if match else step.text
            break
    return Trajectory(
        id=f"{run.name}/{instance_id}",
        task_id=instance_id,
        question=question,
        final_answer=submission if isinstance(submission, str) else None,
        outcome=_outcome(path, run, instance_id),
        harness=harness,
        model=model,
        steps=steps,
        usage=usage,
        metadata=metadata,
        source=Source(file=str(path), format=FORMAT),
    )


def _mini_steps(messages: list[Any]) -> list[Step]:
    steps: list[Step] = []
    pending: str | None = None  # id of the bash call awaiting its observation
    for i, raw in enumerate(messages):
        msg = require_dict(raw, f"messages.{i}")
        role = msg.get("role")
        content = msg.get("content")
        text = content if isinstance(content, str) else json_value(content)
        metadata = unmapped(msg, ("role", "content"))
        if not isinstance(text, str):
            metadata["content"] = text
            text = orjson.dumps(text).decode()
        if role == "assistant":
            extra = optional_dict(msg.get("extra"), f"messages.{i}.extra")
            response = optional_dict(extra.get("response"), f"messages.{i}.extra.response")
            blocks = _BASH_BLOCK.findall(text)
            calls = []
            code = None
            if len(blocks) == 1:
                code = blocks[0]
                pending = f"action-{i}"
                calls = [ToolCall(id=pending, name="bash", arguments={"command": code})]
            else:
                pending = None
            _append(
                steps,
                Step(
                    index=i,
                    role="assistant",
                    text=text,
                    reasoning=_reasoning(response),
                    code=code,
                    tool_calls=calls,
                    usage=usage_from(response.get("usage")),
                ),
                metadata,
            )
        elif role == "user" and pending is not None:
            match = _RETURNCODE.search(text)
            returncode = int(match.group(1)) if match else None
            if returncode is not None:
                metadata["returncode"] = returncode
            _append(
                steps,
                Step(
                    index=i,
                    role="tool",
                    tool_call_id=pending,
                    tool_name="bash",
                    output=text,
                    error=f"command exited with return code {returncode}" if returncode else None,
                ),
                metadata,
            )
            pending = None
        else:
            _append(steps, Step(index=i, role="system" if role == "system" else "user", text=text), metadata)
    return steps


def _append(steps: list[Step], step: Step, metadata: dict[str, JsonValue]) -> None:
    # The message's fields, parsed from JSON text, are JSON values already: validating them again
    # (the bulk of a run's bytes, whole API responses) would only copy them.
    step.metadata = metadata
    steps.append(step)


def _swe_agent_steps(items: list[Any]) -> list[Step]:
    steps: list[Step] = []
    for i, raw in enumerate(items):
        item = require_dict(raw, f"trajectory.{i}")
        action = item.get("action") if isinstance(item.get("action"), str) else None
        call_id = f"action-{i}"
        text = item.get("response") if isinstance(item.get("response"), str) else None
        thought = item.get("thought") if isinstance(item.get("thought"), str) else None
        steps.append(
            Step(
                index=len(steps),
                role="assistant",
                text=text or thought,
                reasoning=thought if text else None,
                code=action,
                tool_calls=[ToolCall(id=call_id, name="bash", arguments={"command": action})]
                if action
                else [],
                metadata=unmapped(item, ("action", "response", "thought", "observation")),
            )
        )
        observation = item.get("observation")
        if observation is not None:
            steps.append(
                Step(
                    index=len(steps),
                    role="tool",
                    tool_call_id=call_id if action else None,
                    tool_name="bash",
                    output=observation
                    if isinstance(observation, str)
                    else orjson.dumps(observation).decode(),
                )
            )
    return steps


def _reasoning(response: dict[str, Any]) -> str | None:
    choices = response.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if isinstance(message, dict) and isinstance(message.get("reasoning"), str):
            return message["reasoning"] or None
    return None


def _model_from_steps(steps: list[Step]) -> str | None:
    for step in steps:
        extra = step.metadata.get("extra")
        response = extra.get("response") if isinstance(extra, dict) else None
        model = response.get("model") if isinstance(response, dict) else None
        if isinstance(model, str):
            return model
    return None


def _run_folder(path: Path) -> Path:
    """The run's folder: the parent of ``trajs/`` in mini-swe-agent's layout, else the file's folder."""
    for parent in list(path.parents)[:3]:
        if parent.name == "trajs":
            return parent.parent
    if path.parent.name == path.name.split(".traj")[0]:
        return path.parent.parent
    return path.parent


def _outcome(path: Path, run: Path, instance_id: str) -> Outcome:
    for report_path in (path.parent / "report.json", run / "logs" / instance_id / "report.json"):
        report = _read_json(report_path)
        if isinstance(report, dict):
            entry = report.get(instance_id, report)
            if isinstance(entry, dict) and isinstance(entry.get("resolved"), bool):
                return Outcome(correct=entry["resolved"], details=_report_details(entry, report_path))
    for folder in (run, *list(run.parents)[:2]):
        for name in _SUMMARY_NAMES:
            resolved = _resolved_ids(folder / name)
            if resolved is not None and instance_id in resolved[1]:
                return Outcome(
                    correct=resolved[0].get(instance_id, False),
                    details={"resolved": resolved[0].get(instance_id, False), "report": str(folder / name)},
                )
    return Outcome()


def _report_details(entry: dict[str, Any], report_path: Path) -> dict[str, JsonValue]:
    details: dict[str, JsonValue] = {"report": str(report_path)}
    details.update(unmapped(entry, ("tests_status",)))
    status = entry.get("tests_status")
    if isinstance(status, dict):
        summary: dict[str, JsonValue] = {}
        for group, result in status.items():
            if isinstance(result, dict):
                failed = result.get("failure") or []
                summary[group] = {
                    "passed": len(result.get("success") or []),
                    "failed": len(failed),
                    "failures": json_value(failed),
                }
        details["tests"] = summary
    return details


def _resolved_ids(path: Path) -> tuple[dict[str, bool], set[str]] | None:
    """Resolved flags by instance from a run summary, and the instances it covers."""
    data = _read_json(path)
    if not isinstance(data, dict):
        return None
    flags: dict[str, bool] = {}
    instances = data.get("instances")
    if isinstance(instances, list):  # results_summary.json
        for entry in instances:
            if isinstance(entry, dict) and isinstance(entry.get("instance_id"), str):
                flags[entry["instance_id"]] = bool(entry.get("resolved"))
        return flags, set(flags)
    resolved = data.get("resolved_ids", data.get("resolved"))
    if isinstance(resolved, list):  # SWE-bench's results.json / run report
        covered: set[str] = set()
        for key in (
            "completed_ids",
            "submitted_ids",
            "unresolved_ids",
            "error_ids",
            "resolved_ids",
            "resolved",
        ):
            if isinstance(data.get(key), list):
                covered.update(str(x) for x in data[key])
        for instance in covered:
            flags[instance] = instance in {str(x) for x in resolved}
        return flags, covered
    return None


def _read_json(path: Path) -> Any:
    try:
        stat = path.stat()
    except OSError:
        return None
    return _read_json_cached(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _read_json_cached(path: str, _mtime: int, _size: int) -> Any:
    try:
        return orjson.loads(Path(path).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


register_format(SweAgentFormat())
