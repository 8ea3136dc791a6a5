"""Trajectory text made safe to show: escaped for Markdown, evidence marked, long text paged.

Trajectory content comes from models, tools and web pages: it may hold HTML, Markdown links and
images (which a browser would fetch), or Streamlit's ``:color[...]`` directives. Everything is shown
as text: in ``st.code``/``st.text``, or as Markdown in which every ASCII punctuation character is
backslash-escaped (CommonMark makes an escaped character literal), so no tag, link, image, LaTeX or
directive in the content takes effect. Highlighting escapes first and only then adds the mark.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

_PUNCTUATION = frozenset(string.punctuation)
MARK_COLOR = "orange"
"""Background colour of a highlighted evidence quote."""


def escape_markdown(text: str) -> str:
    """``text`` as Markdown that renders literally, line breaks and indentation kept.

    Every ASCII punctuation character gets a backslash; leading spaces become no-break spaces (four
    spaces would otherwise open a code block); each line ends in a hard break.
    """
    lines = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        escaped = "".join("\\" + ch if ch in _PUNCTUATION else ch for ch in line)
        stripped = escaped.lstrip(" \t")
        indent = len(escaped) - len(stripped)
        lines.append("\u00a0" * indent + stripped)
    return "  \n".join(lines)


def _quote_pattern(quote: str) -> re.Pattern[str] | None:
    words = quote.split()
    if not words:
        return None
    # Evidence quotes match with whitespace runs compared as one (``Step.contains``): do the same.
    return re.compile(r"\s+".join(re.escape(w) for w in words))


def find_quote(text: str, quote: str) -> tuple[int, int] | None:
    """The span of ``quote`` in ``text`` (whitespace runs compared as one), or ``None``."""
    pattern = _quote_pattern(quote)
    if pattern is None:
        return None
    match = pattern.search(text)
    return (match.start(), match.end()) if match else None


def highlight_markdown(text: str, quote: str) -> tuple[str, bool]:
    """``text`` as escaped Markdown with the first occurrence of ``quote`` marked.

    Returns the Markdown and whether the quote was found. Each line of the match is marked on its
    own (a mark cannot span lines); the marked text is escaped like the rest.
    """
    span = find_quote(text, quote)
    if span is None:
        return escape_markdown(text), False
    start, end = span
    before, match, after = text[:start], text[start:end], text[end:]
    marked_lines = []
    for line in match.split("\n"):
        body = escape_markdown(line) if line.strip() else ""
        marked_lines.append(f":{MARK_COLOR}-background[**{body}**]" if body else body)
    head = escape_markdown(before)
    tail = escape_markdown(after)
    marked = "  \n".join(marked_lines)
    # The mark sits inside the lines of its neighbours: join without adding breaks.
    return f"{head}{marked}{tail}", True


@dataclass(frozen=True)
class TextPage:
    """One page of a long text.

    Attributes:
        text: The page's text.
        number: 1-based page number.
        pages: Number of pages.
        start: Offset of the page in the whole text.
    """

    text: str
    number: int
    pages: int
    start: int


def page_text(text: str, page: int, size: int = 4000) -> TextPage:
    """Page ``page`` (1-based, clamped) of ``text`` cut into pieces of about ``size`` characters,
    cut at a line break when one is near the end of the piece."""
    if len(text) <= size:
        return TextPage(text, 1, 1, 0)
    starts = [0]
    while starts[-1] + size < len(text):
        begin = starts[-1]
        cut = text.rfind("\n", begin + size // 2, begin + size)
        starts.append(cut + 1 if cut != -1 else begin + size)
    page = min(max(page, 1), len(starts))
    start = starts[page - 1]
    end = starts[page] if page < len(starts) else len(text)
    return TextPage(text[start:end], page, len(starts), start)


def shorten(text: str | None, limit: int = 120) -> str:
    """One line of at most ``limit`` characters (an ellipsis marks a cut)."""
    if not text:
        return ""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def plot_text(text: object) -> str:
    """``text`` for a plotly label, legend, tick or hover: ``&``, ``<`` and ``>`` as entities.

    Plotly draws a subset of HTML in every text it shows (``<b>``, ``<br>``, ``<a href>``); with the
    three characters escaped, markup in the data is drawn as the characters it is made of.
    """
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
