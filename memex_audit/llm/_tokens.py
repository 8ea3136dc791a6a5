"""Offline token estimates: no tokenizer download, good to within tens of percent.

Used for fake models' usage, for budgets before a call is made, and for context-status lines.
BPE tokenizers give a common English word one token and split long words, numbers and
punctuation further; the heuristic counts those pieces the same way.

On the sentence "The quick brown fox jumps over the lazy dog." it gives 10, as cl100k does.
"""

from __future__ import annotations

import functools
import re

from memex_audit.llm._content import ContentPartsAdapter
from memex_audit.llm._types import LLMRequest

# One match is one token: up to 6 ASCII letters, up to 3 digits, one ideograph (CJK scripts
# take about a token per character), up to 3 other non-ASCII letters, or one punctuation mark.
_TOKEN = re.compile(
    r"[A-Za-z]{1,6}|\d{1,3}|[\u2e80-\U0010ffff]|[^\W\d_A-Za-z\u2e80-\U0010ffff]{1,3}|[^\w\s]|_"
)


def estimate_tokens(text: str) -> int:
    """Roughly how many tokens ``text`` takes for a modern BPE tokenizer.

    ASCII words count one token per started 6 letters, other letters one per 3 (one per
    character for CJK), numbers one per 3 digits, each punctuation mark one, and each line
    break one (code and tables are line-heavy). About 10 MB/s on one core.

    Args:
        text: Any text.

    Returns:
        A non-negative estimate; 0 only for empty or whitespace-only text.
    """
    if not text:
        return 0
    if len(text) >= _CACHED_FROM:
        return _estimate_cached(text)
    return _estimate(text)


def _estimate(text: str) -> int:
    # subn counts the matches in C without building a list of them.
    return _TOKEN.subn("", text)[1] + text.count("\n")


_CACHED_FROM = 2048
"""Long texts (system prompts, tool outputs) are estimated again on every turn of a run: their
estimates are kept."""
_estimate_cached = functools.lru_cache(maxsize=256)(_estimate)


def estimate_request_tokens(request: LLMRequest) -> int:
    """Estimated input tokens of a whole request: system prompt, messages and tool specs."""
    import orjson

    total = estimate_tokens(request.system)
    for message in request.messages:
        if isinstance(message.content, str):
            total += estimate_tokens(message.content)
        else:
            total += estimate_tokens(ContentPartsAdapter.dump_json(message.content).decode())
        total += 4  # role markers and message framing
    for tool in request.tools:
        total += estimate_tokens(tool.name + " " + tool.description)
        total += estimate_tokens(orjson.dumps(tool.input_schema).decode())
    return total
