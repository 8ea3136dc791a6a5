"""Claude Code session files: ``~/.claude/projects/<project>/<sessionId>.jsonl``, a trajectory each.

Each line is one record: ``user`` / ``assistant`` / ``system`` lines carry ``uuid``,
``parentUuid``, ``timestamp``, ``sessionId``, ``version``, ``cwd``, ``gitBranch`` and, for
messages, the Anthropic API ``message``; ``summary`` lines title a conversation by its leaf
(``leafUuid``); ``file-history-snapshot`` lines record file backups. Reading:

* **The message tree.** Lines link to their parent by ``parentUuid`` (``logicalParentUuid``
  across a compaction). The conversation is the chain from the last message back to its root;
  lines on other branches (an edited or rewound prompt) are not steps, and their uuids are listed
  in ``metadata["off_branch_uuids"]``.
* **Messages.** Claude Code writes one line per content block of a response, all with the same
  ``message.id``: they are merged into one assistant step (usage counted once). Text, thinking and
  ``tool_use`` blocks become text, reasoning and tool calls; each ``tool_result`` a tool step
  (``is_error`` sets its error), with the line's ``toolUseResult`` (the tool's structured result:
  stdout/stderr, the edit's patch…) in the step's ``metadata["tool_use_result"]``, minus copies of
  whole files (named in ``omitted``). ``isMeta`` user lines (command caveats) stay user steps
  marked ``metadata["meta"]``; ``system`` lines (hooks, notices) are system steps.
* **Sub-agents.** A ``Task`` tool call runs a sub-agent whose lines have ``isSidechain: true``:
  in the same file (older versions) or in ``agent-<agentId>.jsonl`` beside it (2.0 and later).
  Its steps follow the ``Task`` call, named after the sub-agent type (``agent="Explore"``); the
  main thread is ``agent="main"``. An ``agent-*.jsonl`` file next to its session file is read
  with the session (listed as skipped), and as a trajectory of its own otherwise.

Sessions are not graded: the outcome is empty; the task is the first prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import JsonValue

from memex_audit.errors import TrajectoryFormatError
from memex_audit.loaders._compression import read_bytes, sibling
from memex_audit.loaders._formats._anthropic import anthropic_steps
from memex_audit.loaders._formats._chat_messages import first_user_text, last_assistant_text
from memex_audit.loaders._formats._record_errors import convert_record
from memex_audit.loaders._formats._record_fields import json_value, parse_time, summed_usage, usage_from
from memex_audit.loaders._jsonio import first_json_char, iter_jsonl_objects
from memex_audit.loaders._registry import LoadItem, LoadProblem, register_format
from memex_audit.trajectory import Source, Step, Trajectory

FORMAT = "claude_code"
MAIN_AGENT = "main"
_MESSAGE_TYPES = frozenset({"user", "assistant", "system"})
_LINE_FIELDS = (
    "parentUuid",
    "logicalParentUuid",
    "isSidechain",
    "userType",
    "cwd",
    "sessionId",
    "version",
    "gitBranch",
    "type",
    "message",
    "uuid",
    "timestamp",
    "toolUseResult",
    "requestId",
    "agentId",
    "isMeta",
    "content",
)
_BULKY_RESULT_FIELDS = ("originalFile",)  # whole files the tool read or edited: not copied


@dataclass
class _Line:
    number: int
    record: dict[str, Any]

    @property
    def uuid(self) -> str | None:
        value = self.record.get("uuid")
        return value if isinstance(value, str) else None

    @property
    def parent(self) -> str | None:
        value = self.record.get("parentUuid") or self.record.get("logicalParentUuid")
        return value if isinstance(value, str) else None

    @property
    def kind(self) -> str:
        return str(self.record.get("type"))

    @property
    def message(self) -> dict[str, Any]:
        message = self.record.get("message")
        return message if isinstance(message, dict) else {}


@dataclass
class _Message:
    """One API message (several lines when a response was streamed block by block)."""

    lines: list[_Line]
    agent: str
    content: list[Any] = field(default_factory=list)


class ClaudeCodeFormat:
    """Claude Code session files (~/.claude/projects/*/<session>.jsonl), sub-agents included."""

    name: str = FORMAT
    extensions: tuple[str, ...] = (".jsonl",)
    empty_reason: str = "the session file holds only summaries or snapshots, no messages"

    def sniff(self, path: Path, head: bytes) -> float:
        if not path.name.endswith(".jsonl") or first_json_char(head) != b"{":
            return 0.0
        if b'"parentUuid"' in head and b'"sessionId"' in head:
            return 0.95
        if b'"leafUuid"' in head and b'"type":"summary"' in head.replace(b" ", b""):
            return 0.9
        return 0.0

    def is_companion(self, path: Path, head: bytes) -> bool:
        # A sub-agent's file is read with its session when the session file is beside it.
        if not path.name.startswith("agent-") or b'"isSidechain":true' not in head.replace(b" ", b""):
            return False
        session = _session_id(head)
        return session is not None and sibling(path, f"{session}.jsonl") is not None

    def load(self, path: Path) -> Iterator[LoadItem]:
        lines: list[_Line] = []
        for item in iter_jsonl_objects(path, FORMAT):
            if isinstance(item, LoadProblem):
                yield item
            else:
                lines.append(_Line(*item))
        if not lines:
            return
        yield convert_record(lambda: session_trajectory(lines, path), path=path, fmt=FORMAT)


def session_trajectory(lines: list[_Line], path: Path) -> Trajectory:
    """One session file's lines (and its sub-agents' files) as a trajectory."""
    messages = [line for line in lines if line.kind in _MESSAGE_TYPES and line.uuid]
    main = [line for line in messages if not line.record.get("isSidechain")]
    sidechains = [line for line in messages if line.record.get("isSidechain")]
    standalone = not main and bool(sidechains)  # an agent-*.jsonl file read on its own
    thread = _chain(main or sidechains)
    on_thread = {line.uuid for line in thread}
    off_branch = [line.uuid for line in (main or sidechains) if line.uuid not in on_thread]
    if standalone:
        agent_id = thread[0].record.get("agentId") if thread else None
        ordered = _messages(thread, f"agent-{agent_id}" if agent_id else "sidechain")
    else:
        ordered = _with_sub_agents(_messages(thread, MAIN_AGENT), sidechains, path)
    steps = _steps(ordered)
    first = next((line.record for line in messages), {})
    session = first.get("sessionId") if isinstance(first.get("sessionId"), str) else path.stem
    summaries = [
        {
            "summary": json_value(line.record.get("summary")),
            "leafUuid": json_value(line.record.get("leafUuid")),
        }
        for line in lines
        if line.kind == "summary"
    ]
    metadata: dict[str, JsonValue] = {
        key: json_value(first[key]) for key in ("cwd", "gitBranch", "version") if first.get(key) is not None
    }
    metadata["session_id"] = str(session)
    title = next(
        (s["summary"] for s in summaries if s["leafUuid"] in on_thread and isinstance(s["summary"], str)),
        None,
    )
    if title is not None:
        metadata["title"] = title
    if summaries:
        metadata["summaries"] = list(summaries)
    if off_branch:
        metadata["off_branch_uuids"] = list(off_branch)
    others = sorted({line.kind for line in lines if line.kind not in _MESSAGE_TYPES | {"summary"}})
    if others:
        metadata["other_line_types"] = list(others)
    model = next(
        (
            m
            for m in (line.message.get("model") for line in thread if line.kind == "assistant")
            if isinstance(m, str) and not m.startswith("<")
        ),
        None,
    )
    user_steps = (s for s in steps if not s.metadata.get("meta") and (standalone or s.agent == MAIN_AGENT))
    main_steps = [s for s in steps if s.agent == MAIN_AGENT] or steps
    return Trajectory(
        id=path.stem if standalone else str(session),
        task_id=path.stem if standalone else str(session),
        question=first_user_text(user_steps),
        final_answer=last_assistant_text(main_steps),
        harness="claude-code",
        model=model,
        steps=steps,
        usage=summed_usage(steps),
        metadata=metadata,
        source=Source(file=str(path), format=FORMAT),
    )


def _chain(lines: list[_Line]) -> list[_Line]:
    """The lines from the root to the last line, following parent links, in file order."""
    if not lines:
        return []
    by_uuid = {line.uuid: line for line in lines}
    chain: list[_Line] = []
    seen: set[str] = set()
    current: _Line | None = lines[-1]
    while current is not None and current.uuid not in seen:
        seen.add(current.uuid or "")
        chain.append(current)
        current = by_uuid.get(current.parent) if current.parent else None
    chain.sort(key=lambda line: line.number)
    return chain


def _messages(lines: list[_Line], agent: str) -> list[_Message]:
    """Lines grouped into messages: consecutive assistant lines of one ``message.id`` are one."""
    messages: list[_Message] = []
    for line in lines:
        message_id = line.message.get("id")
        last = messages[-1] if messages else None
        if (
            line.kind == "assistant"
            and last is not None
            and last.lines[-1].kind == "assistant"
            and message_id is not None
            and last.lines[-1].message.get("id") == message_id
        ):
            last.lines.append(line)
            last.content.extend(_content(line))
            continue
        messages.append(_Message(lines=[line], agent=agent, content=_content(line)))
    return messages


def _content(line: _Line) -> list[Any]:
    if line.kind == "system":
        content = line.record.get("content")
        return [{"type": "text", "text": content}] if isinstance(content, str) else []
    content = line.message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return list(content)
    if content is None:
        return []
    raise TrajectoryFormatError(
        "expected a string or a list of blocks", field=f"line {line.number}.message.content"
    )


@dataclass
class _Run:
    """One sub-agent run: the sidechain lines under one root."""

    lines: list[_Line]
    claimed: bool = False

    @property
    def agent_id(self) -> str | None:
        value = self.lines[0].record.get("agentId")
        return value if isinstance(value, str) else None

    @property
    def prompt(self) -> str | None:
        content = _content(self.lines[0])
        if content and isinstance(content[0], dict) and isinstance(content[0].get("text"), str):
            return str(content[0]["text"])
        return None


def _with_sub_agents(main: list[_Message], sidechains: list[_Line], path: Path) -> list[_Message]:
    """The main thread with each sub-agent's messages placed right after the Task call that ran it."""
    runs = _sidechain_runs(sidechains)
    results = {
        block.get("tool_use_id"): line.record.get("toolUseResult")
        for message in main
        for line in message.lines
        for block in _content(line)
        if isinstance(block, dict) and block.get("type") == "tool_result"
    }
    ordered: list[_Message] = []
    for message in main:
        ordered.append(message)
        for block in message.content:
            if not (
                isinstance(block, dict) and block.get("type") == "tool_use" and block.get("name") == "Task"
            ):
                continue
            call_input = block["input"] if isinstance(block.get("input"), dict) else {}
            result = results.get(block.get("id"))
            agent_id = result.get("agentId") if isinstance(result, dict) else None
            lines = _claim(runs, agent_id, call_input.get("prompt"))
            if lines is None and isinstance(agent_id, str):
                lines = _agent_file(path, agent_id)
            if lines is not None:
                ordered.extend(_messages(lines, str(call_input.get("subagent_type") or "sub-agent")))
    for run in runs:  # sub-agents no Task call claims: kept, at the end
        if not run.claimed:
            ordered.extend(_messages(run.lines, "sub-agent"))
    return ordered


def _claim(runs: list[_Run], agent_id: Any, prompt: Any) -> list[_Line] | None:
    """The lines of the unclaimed run with this agent id (or, failing that, this prompt)."""
    matchers: tuple[Callable[[_Run], bool], ...] = (
        lambda run: isinstance(agent_id, str) and run.agent_id == agent_id,
        lambda run: isinstance(prompt, str) and run.prompt == prompt,
    )
    for match in matchers:
        for run in runs:
            if not run.claimed and match(run):
                run.claimed = True
                return run.lines
    return None


def _sidechain_runs(lines: list[_Line]) -> list[_Run]:
    """Sidechain lines split into runs, one per root."""
    by_uuid = {line.uuid: line for line in lines}
    roots: dict[str, list[_Line]] = {}
    for line in lines:
        root, hops = line, 0
        while root.parent in by_uuid and hops < len(lines):
            root, hops = by_uuid[root.parent], hops + 1
        roots.setdefault(root.uuid or "", []).append(line)
    return [_Run(run) for run in roots.values()]


def _agent_file(path: Path, agent_id: str) -> list[_Line] | None:
    """The lines of ``agent-<agent_id>.jsonl`` (or its .gz / .zst) beside the session file."""
    candidate = sibling(path, f"agent-{agent_id}.jsonl")
    if candidate is None:
        return None
    lines: list[_Line] = []
    for number, raw in enumerate(read_bytes(candidate).splitlines(), start=1):
        try:
            record = orjson.loads(raw) if raw.strip() else None
        except orjson.JSONDecodeError:
            continue  # the sub-agent's file is read for its messages; a torn line is skipped
        if isinstance(record, dict) and record.get("type") in _MESSAGE_TYPES and record.get("uuid"):
            lines.append(_Line(number, record))
    return _chain(lines) or None


def _steps(messages: list[_Message]) -> list[Step]:
    """Steps of the ordered messages, with agent, time, line uuids and tool results attached."""
    api_messages: list[dict[str, Any]] = []
    for message in messages:
        first = message.lines[0]
        role = "system" if first.kind == "system" else first.message.get("role", first.kind)
        api_messages.append({"role": role, "content": message.content})
    steps = anthropic_steps(api_messages, None)
    results: dict[str, Any] = {}
    for message in messages:
        for line in message.lines:
            for block in _content(line):
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    results.setdefault(str(block.get("tool_use_id")), line.record.get("toolUseResult"))
    for step in steps:
        index = step.metadata.pop("message_index", None)
        if not isinstance(index, int):
            continue
        message = messages[index]
        first = message.lines[0]
        step.agent = step.agent or message.agent
        step.started_at = parse_time(first.record.get("timestamp"))
        step.metadata["uuid"] = [line.uuid for line in message.lines if line.uuid]
        if first.record.get("isMeta"):
            step.metadata["meta"] = True
        extra = {k: json_value(v) for k, v in first.record.items() if k not in _LINE_FIELDS and v is not None}
        if first.kind == "system":
            extra["type"] = "system"
        step.metadata.update(extra)
        if step.role == "assistant":
            usage = message.lines[-1].message.get("usage")
            step.usage = usage_from(usage) if usage is not None else step.usage
            request = first.record.get("requestId")
            if request is not None:
                step.metadata["request_id"] = json_value(request)
            message_id = first.message.get("id")
            if message_id is not None:
                step.metadata["message_id"] = json_value(message_id)
        if step.role == "tool" and step.tool_call_id in results and results[step.tool_call_id] is not None:
            step.metadata["tool_use_result"] = _tool_use_result(results[step.tool_call_id])
    return steps


def _tool_use_result(result: Any) -> JsonValue:
    if not isinstance(result, dict):
        return json_value(result)
    kept = {k: json_value(v) for k, v in result.items() if k not in _BULKY_RESULT_FIELDS}
    omitted = [k for k in _BULKY_RESULT_FIELDS if k in result]
    file = result.get("file")
    if isinstance(file, dict) and "content" in file:  # Read: the content is the tool_result's text
        kept["file"] = {k: json_value(v) for k, v in file.items() if k != "content"}
        omitted.append("file.content")
    if omitted:
        kept["omitted"] = list(omitted)
    return kept


def _session_id(head: bytes) -> str | None:
    first = head.split(b"\n", 1)[0]
    try:
        record = orjson.loads(first)
    except orjson.JSONDecodeError:
        return None
    value = record.get("sessionId") if isinstance(record, dict) else None
    return value if isinstance(value, str) else None


register_format(ClaudeCodeFormat())
