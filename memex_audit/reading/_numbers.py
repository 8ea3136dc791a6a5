"""Numbers as they appear in text: where, how written, and what value they stand for.

The offline signals compare numbers across steps (a value read in one tool output and retyped into
the next call) and against the ground truth (rounding, units, format), so they need each mention's
exact text (for evidence quotes), its value and its precision.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

from memex_audit.reading._memo import TextCache

# Thousands separators must come in groups of three, so "1944-04" gives 1944 and 04, not one number.
# A number is ``(?<![\w.])\$?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(\s?%)?(?!\w)``. It is written
# here to open with its first character, a ``$`` or a digit, so that the regex engine skips ahead to
# the next ``$`` or digit instead of trying a match at every position of a long tool output; the
# look-behind after that character is the original one before it. After a ``$`` comes the whole
# number (``num``); after a digit, the rest of it (``rest``), with one digit fewer in each choice.
# ``\s`` is written ``[\s\x1c-\x1f]``: the same characters, in the ASCII form below as well.
_NUMBER_PATTERN = (
    r"[$\d](?<![\w.][$\d])"
    r"(?:(?<=\$)(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"|(?<=\d)(?P<rest>\d{0,2}(?:,\d{3})+(?:\.\d+)?|\d*(?:\.\d+)?))"
    r"(?P<pct>[\s\x1c-\x1f]?%)?(?!\w)"
)
_NUMBER = re.compile(_NUMBER_PATTERN)
# For ASCII texts (most tool outputs): on ASCII characters ``\d``, ``\w`` and ``[\s\x1c-\x1f]``
# match the same in both forms, and the ASCII form tests a character faster.
_ASCII_NUMBER = re.compile(_NUMBER_PATTERN, re.ASCII)


@dataclass(frozen=True)
class NumberMention:
    """One number written in a text.

    Attributes:
        text: The number exactly as written (``3,501.2``, ``12.5%``, ``$40``).
        value: Its value (a percent keeps its written value: ``12.5%`` is 12.5).
        decimals: Digits after the decimal point.
        percent: Whether a ``%`` follows it.
        start: Offset in the text.
    """

    text: str
    value: float
    decimals: int
    percent: bool
    start: int

    @functools.cached_property
    def digits(self) -> str:
        """The digits alone, without separators or a decimal point (``3,501.2`` → ``35012``)."""
        return re.sub(r"\D", "", self.text.removeprefix("$").removesuffix("%"))


def find_numbers(text: str) -> tuple[NumberMention, ...]:
    """Every number mention in ``text``, in order.

    The same texts are read by many signals and, through siblings, for many audits of one task: the
    mentions of recent texts are kept (they are immutable), up to 16M characters of text.
    """
    return _NUMBERS(text)


def _find_numbers(text: str) -> tuple[NumberMention, ...]:
    mentions = []
    parsed = _PARSED
    for match in (_ASCII_NUMBER if text.isascii() else _NUMBER).finditer(text):
        written = match.group()
        fields = parsed.get(written)
        if fields is None:
            fields = _parse(written, match.group("num"), match.group("rest"), match.group("pct"))
        # Built without ``__init__`` (a frozen dataclass sets each field through
        # ``object.__setattr__``): the same fields, with ``digits`` filled in as ``cached_property``
        # would store it.
        mention = _new(NumberMention)
        state = mention.__dict__
        state["text"], state["value"], state["decimals"], state["percent"], digits = fields
        state["start"] = match.start()
        state["digits"] = digits
        mentions.append(mention)
    return tuple(mentions)


_new = object.__new__

_Fields = tuple[str, float, int, bool, str]
"""A mention's text, value, decimals, percent and digits: all but its offset."""

_PARSED: dict[str, _Fields] = {}
"""The fields of recently written numbers, by the text matched (the same numbers recur: line
numbers, ids, amounts): those of at most ``_MAX_KEPT_DIGITS`` characters, emptied when it reaches
``_MAX_PARSED`` entries."""

_MAX_PARSED = 1 << 15
_MAX_KEPT_DIGITS = 40


def _parse(written: str, num: str | None, rest: str | None, pct: str | None) -> _Fields:
    raw = num if rest is None else written[0] + rest
    assert raw is not None
    plain = raw.replace(",", "")
    point = plain.find(".")
    fields = (
        written.strip(),
        float(plain),
        len(plain) - point - 1 if point >= 0 else 0,
        pct is not None,
        # the written number less its separators
        plain.replace(".", ""),
    )
    if len(written) <= _MAX_KEPT_DIGITS:
        if len(_PARSED) >= _MAX_PARSED:
            _PARSED.clear()
        _PARSED[written] = fields
    return fields


_NUMBERS = TextCache(_find_numbers, max_chars=16 << 20, min_chars=64)
"""Texts shorter than ``min_chars`` are read again (cheaper than a lookup)."""


def looks_like_year(m: NumberMention) -> bool:
    """A four-digit integer between 1800 and 2100 written without a separator: probably a year."""
    # the range first: it turns away most numbers
    return 1800 <= m.value <= 2100 and m.decimals == 0 and "," not in m.text


def same_value(a: float, b: float) -> bool:
    """Equal up to floating-point noise."""
    # equal values, the common case, answered before the keyword arguments are read
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def is_rounding_of(answer: NumberMention, truth: NumberMention) -> bool:
    """Whether the two differ only by rounding to the coarser of their two precisions."""
    if same_value(answer.value, truth.value):
        return False
    precision = min(answer.decimals, truth.decimals)
    return abs(answer.value - truth.value) <= 0.5 * 10.0**-precision + 1e-9


UNIT_FACTORS = (1e3, 1e6, 1e9, 1e-3, 1e-6, 1e-9, 100.0, 0.01)
"""Ratios between an answer and the truth that mean units were misread (thousands, millions, percent)."""


def unit_factor(answer: float, truth: float) -> float | None:
    """The unit factor ``answer / truth`` equals (within 0.5%), or ``None``."""
    if truth == 0 or answer == 0:
        return None
    ratio = answer / truth
    for factor in UNIT_FACTORS:
        if math.isclose(ratio, factor, rel_tol=5e-3):
            return factor
    return None


def is_retyping(original: NumberMention, copy: NumberMention) -> bool:
    """Whether ``copy`` looks like ``original`` retyped with a slip: one digit changed, or two swapped.

    Both must have at least three digits (short numbers differ by a digit far too often by chance).
    """
    a, b = original.digits, copy.digits
    if len(a) != len(b) or len(a) < 3 or a == b or original.decimals != copy.decimals:
        return False
    diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(diffs) == 1:
        return True
    return (
        len(diffs) == 2
        and diffs[1] == diffs[0] + 1
        and a[diffs[0]] == b[diffs[1]]
        and a[diffs[1]] == b[diffs[0]]
    )


# A listing line's number: ``  212  def foo`` / ``212\tdef`` (cat -n, nl), ``212:def`` / ``212-`` (grep -n
# and its context lines), ``path.py:212:`` (grep -n over files).
_LINE_NUMBER_PREFIX = re.compile(r"^\s*(?:[\w./-]+[:-])?(?P<n>\d+)(?:\s{1,8}|[:-])(?=\S|$)")
_LINE_NUMBER_REFERENCE = re.compile(
    r"(?:\b(?:lines?|line_?no|lineno|row)\s*[:=#]?\s*|-n\s*['\"]?|\bsed\b[^\n]*?|[\w.]+\.\w+:)$",
    re.IGNORECASE,
)


_RANGE_START = re.compile(r"(\d+)\s*[,-]\s*$")


def is_line_number(text: str, mention: NumberMention) -> bool:
    """Whether ``mention`` in ``text`` numbers a line rather than stating a value.

    True for the prefix of a numbered listing line (``  212  def foo`` from ``cat -n``, ``212:`` from
    ``grep -n``, ``src/a.py:212:``) when most lines around it are numbered the same way, and for a
    number that refers to a line (``line 212``, ``sed -n '212,230p'``, ``a.py:212``).
    """
    if mention.decimals or mention.percent or mention.text.startswith("$"):
        return False
    line_start = text.rfind("\n", 0, mention.start) + 1
    line_end = text.find("\n", mention.start)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    prefix = _LINE_NUMBER_PREFIX.match(line)
    if prefix is not None and line_start + prefix.start("n") == mention.start and _mostly_numbered(text):
        return True
    before = text[max(line_start, mention.start - 40) : mention.start]
    if _LINE_NUMBER_REFERENCE.search(before):
        return True
    # the end of a range whose start is a line reference: ``sed -n '212,230p'``, ``lines 10-20``
    range_start = _RANGE_START.search(before)
    return range_start is not None and bool(_LINE_NUMBER_REFERENCE.search(before[: range_start.start()]))


def _count_numbered(text: str) -> bool:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    numbered = sum(1 for ln in lines if _LINE_NUMBER_PREFIX.match(ln))
    return numbered >= 2 and numbered * 2 >= len(lines)


_mostly_numbered = TextCache(_count_numbered, max_chars=4 << 20)
"""Whether at least two, and at least half, of the text's non-blank lines are numbered listing
lines (asked once per number mention of a listing: kept per text)."""
