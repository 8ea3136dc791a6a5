"""Offline token estimates: no tokenizer download, good to within tens of percent.

Used for fake models' usage, for budgets before a call is made, and for context-status lines.
BPE tokenizers give a common English word one token and split long words, numbers and
punctuation further; the heuristic counts those pieces the same way.
"""

from __future__ import annotations

import re

from memex_audit.llm._types import LLMRequest

# A run of letters, a run of digits, or one other visible character.
_PIECE = re.compile(r"[^\W\d_]+|\d+|[^\w\s]|_")


def estimate_tokens(text: str) -> int:
    """Roughly how many tokens ``text`` takes for a modern BPE tokenizer.

    ASCII letter runs count one token per started 6 characters, other letter runs one per 3
    (one per character for CJK), digit runs one per 3 digits, each punctuation mark one, and
    each line break one (code and tables are line-heavy).

    Args:
        text: Any text.

    Returns:
        A non-negative estimate; 0 only for empty or whitespace-only text.
    """
    if not text:
        return 0
    count = 0
    for match in _PIECE.finditer(text):
        piece = match.group()
        if piece[0].isdigit():
            count += -(-len(piece) // 3)
        elif piece.isascii():
            count += -(-len(piece) // 6)
        else:
            # Ideographic scripts take about a token per character; other non-ASCII words
            # (accents, Cyrillic) split into short pieces.
            wide = sum(1 for ch in piece if ord(ch) >= 0x2E80)
            count += wide + -(-(len(piece) - wide) // 3)
    count += text.count("\n")
    return count


def estimate_request_tokens(request: LLMRequest) -> int:
    """Estimated input tokens of a whole request: system prompt, messages and tool specs."""
    import orjson

    total = estimate_tokens(request.system)
    for message in request.messages:
        if isinstance(message.content, str):
            total += estimate_tokens(message.content)
        else:
            total += estimate_tokens(orjson.dumps(message.content).decode())
        total += 4  # role markers and message framing
    for tool in request.tools:
        total += estimate_tokens(tool.name + " " + tool.description)
        total += estimate_tokens(orjson.dumps(tool.input_schema).decode())
    return total
