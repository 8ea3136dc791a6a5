"""Finding the code to run in a model's reply."""

from __future__ import annotations

import re

# An opening fence with an optional language tag, its body, and a closing fence (or the end of a
# reply cut off by max_tokens).
_FENCE = re.compile(
    r"^[ \t]*```[ \t]*([\w+.-]*)[^\n]*\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)", re.DOTALL | re.MULTILINE
)
_PYTHON_TAGS = {"python", "py", "python3", "ipython", "pycon"}


def split_reply(text: str) -> tuple[str, str | None]:
    """A reply as its prose (the reasoning, code blocks removed) and its code (see ``extract_code``)."""
    code = extract_code(text)
    if code is None:
        return text.strip(), None
    tagged = any(m.group(1).lower() in _PYTHON_TAGS and m.group(2).strip() for m in _FENCE.finditer(text))

    def keep(match: re.Match[str]) -> str:
        tag = match.group(1).lower()
        ran = bool(match.group(2).strip()) and (tag in _PYTHON_TAGS if tagged else not tag)
        return "" if ran else match.group(0)

    prose = _FENCE.sub(keep, text)
    return re.sub(r"\n{3,}", "\n\n", prose).strip(), code


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
