"""Finding the code to run in a model's reply."""

from __future__ import annotations

import re

# An opening fence with an optional language tag, its body, and a closing fence (or the end of a
# reply cut off by max_tokens).
_FENCE = re.compile(
    r"^[ \t]*```[ \t]*([\w+.-]*)[^\n]*\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)", re.DOTALL | re.MULTILINE
)
_PYTHON_TAGS = {"python", "py", "python3", "ipython", "pycon"}


def extract_code(text: str) -> str | None:
    """The Python code of a reply: its ```python blocks, joined in order.

    Blocks tagged ``python`` (or ``py``) are taken; when there are none, untagged blocks are;
    blocks in other languages (``json``, ``text``...) never are.

    Returns:
        The code, or ``None`` when the reply has no code block.
    """
    tagged: list[str] = []
    untagged: list[str] = []
    for match in _FENCE.finditer(text):
        tag, body = match.group(1).lower(), match.group(2)
        if not body.strip():
            continue
        if tag in _PYTHON_TAGS:
            tagged.append(body.rstrip())
        elif not tag:
            untagged.append(body.rstrip())
    blocks = tagged or untagged
    return "\n\n".join(blocks) if blocks else None
