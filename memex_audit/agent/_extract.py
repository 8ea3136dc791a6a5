"""Finding the code to run in a model's reply: the first Python block, and nothing after it.

A turn runs one block. A model that writes a block, then an observation it made up
(``Output: 3,501``), then a second block that builds on it, must not have the second block run:
only the first block runs, the reply is cut after that block's closing fence, and what followed
is reported back as ignored. Models are taught to end each reply with ``END_MARKER`` right after
the block; the marker is also a stop sequence, so a model that obeys never writes past it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

END_MARKER = "<end_code>"
"""Written by the model after its block's closing fence; a stop sequence of every request."""

STOP_SEQUENCES: tuple[str, ...] = (END_MARKER,)
"""Stop sequences of every code-loop request (Anthropic ``stop_sequences``, OpenAI ``stop``)."""

# An opening fence with an optional language tag, its body, and a closing fence (or the end of a
# reply cut off by max_tokens or a stop sequence).
_FENCE = re.compile(
    r"^[ \t]*```[ \t]*([\w+.-]*)[^\n]*\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)", re.DOTALL | re.MULTILINE
)
_PYTHON_TAGS = {"python", "py", "python3", "ipython", "pycon"}


@dataclass(frozen=True)
class ParsedReply:
    """A reply split at its first Python block.

    Attributes:
        reasoning: The prose before the block (other-language blocks included), stripped.
        code: The block's code; ``None`` when the reply has no Python block.
        kept: The reply cut right after the block's closing fence: what goes back into the
            conversation as the assistant's message (the whole reply when there is no block).
        ignored: What followed the block (stripped, end marker removed); empty when nothing did.
        ignored_blocks: How many further code blocks were in ``ignored``.
        closed: Whether the block has its closing fence (``False``: the reply ended inside it,
            as one cut off at ``max_tokens`` does).
    """

    reasoning: str
    code: str | None
    kept: str
    ignored: str = ""
    ignored_blocks: int = 0
    closed: bool = True


def _first_block(text: str) -> re.Match[str] | None:
    """The block that runs: the first one tagged Python, or, when none is, the first untagged one."""
    tagged = untagged = None
    for match in _FENCE.finditer(text):
        tag, body = match.group(1).lower(), match.group(2)
        if not body.strip():
            continue
        if tag in _PYTHON_TAGS:
            tagged = match
            break
        if not tag and untagged is None:
            untagged = match
    return tagged or untagged


def parse_reply(text: str) -> ParsedReply:
    """Split ``text`` at its first Python block (see ``ParsedReply``).

    Blocks tagged ``python`` (or ``py``...) are taken; when there are none, untagged blocks are;
    blocks in other languages (``json``, ``text``...) never are. A block cut off by the reply's
    end (``max_tokens``) still counts.
    """
    match = _first_block(text)
    if match is None:
        prose = text.replace(END_MARKER, "").strip()
        return ParsedReply(reasoning=prose, code=None, kept=prose)
    code = match.group(2).rstrip()
    reasoning = re.sub(r"\n{3,}", "\n\n", text[: match.start()]).replace(END_MARKER, "").strip()
    fence = match.group(0).rstrip()
    closed = bool(re.search(r"^[ \t]*```[ \t]*$", fence.rsplit("\n", 1)[-1]))
    if not closed:
        fence += "\n```"  # cut off before its closing fence: close it in the conversation
    kept = f"{text[: match.start()].rstrip()}\n{fence}".strip()
    rest = text[match.end() :].replace(END_MARKER, "").strip()
    blocks = sum(1 for m in _FENCE.finditer(rest) if m.group(2).strip())
    return ParsedReply(
        reasoning=reasoning, code=code, kept=kept, ignored=rest, ignored_blocks=blocks, closed=closed
    )


def split_reply(text: str) -> tuple[str, str | None]:
    """A reply as its reasoning (the prose before the block) and its code (see ``parse_reply``)."""
    parsed = parse_reply(text)
    return parsed.reasoning, parsed.code


def extract_code(text: str) -> str | None:
    """The Python code of a reply: its first ```python block (see ``parse_reply``).

    Returns:
        The code, or ``None`` when the reply has no code block.
    """
    return parse_reply(text).code
