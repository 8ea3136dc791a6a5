"""OpenAI chat-completion transcripts: message lists with ``tool_calls`` and ``tool`` messages.

A file holds a bare list of messages, a record ``{"messages": [...], "task_id"?, "reward"?, ...}``,
a list of records, or (``.jsonl``) one record per line; see ``_chat_transcripts``. Each message
is one step: assistant ``tool_calls`` (arguments parsed from their JSON text) link by id to the
``tool`` steps that answer them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from memex_audit.loaders._formats._chat_messages import chat_steps
from memex_audit.loaders._formats._chat_transcripts import load_chat_file
from memex_audit.loaders._jsonio import first_json_char
from memex_audit.loaders._registry import LoadItem, register_format
from memex_audit.trajectory import Step

FORMAT = "openai_chat"
_ANTHROPIC_MARKERS = (b'"tool_use"', b'"tool_result"', b'"type": "thinking"', b'"type":"thinking"')


class OpenAIChatFormat:
    """OpenAI chat-completion message lists (with tool_calls and tool messages), JSON or JSONL."""

    name: str = FORMAT
    extensions: tuple[str, ...] = (".json", ".jsonl")

    def sniff(self, path: Path, head: bytes) -> float:
        if not path.name.endswith(self.extensions) or first_json_char(head) not in (b"[", b"{"):
            return 0.0
        if b'"role"' not in head or any(marker in head for marker in _ANTHROPIC_MARKERS):
            return 0.0
        if b'"tool_calls"' in head or b'"tool_call_id"' in head:
            return 0.5
        return 0.4

    def load(self, path: Path) -> Iterator[LoadItem]:
        yield from load_chat_file(path, FORMAT, _steps)


def _steps(messages: list[Any], system: str | None) -> list[Step]:
    if system is None:
        return chat_steps(messages)
    return [Step(index=0, role="system", text=system), *chat_steps(messages, start=1)]


register_format(OpenAIChatFormat())
