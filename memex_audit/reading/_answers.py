"""Reading answers as comparable values: numbers with units and scale words, strings, lists.

Rollouts of one task write the same answer in many ways: ``"3,501.2"``, ``"$3.5012 thousand"``,
``"3501.2 million dollars"``. ``parse_answer`` turns an answer text into an ``AnswerValue`` and
``values_match`` compares two of them under an ``AnswerConfig`` (tolerances, whether a percentage
matches its fraction, whether list order matters).
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_SCALES: dict[str, float] = {
    "thousand": 1e3,
    "thousands": 1e3,
    "k": 1e3,
    "million": 1e6,
    "millions": 1e6,
    "mn": 1e6,
    "mm": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "billions": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "trillion": 1e12,
    "trillions": 1e12,
    "tn": 1e12,
    "t": 1e12,
}

_CURRENCY_WORDS = {"usd", "dollar", "dollars", "us$", "eur", "euro", "euros", "gbp", "pound", "pounds"}
_CURRENCY_SYMBOLS = "$€£¥"
_HEDGES = {"approximately", "about", "approx", "around", "roughly", "nearly", "~"}
_PERCENT_WORDS = {"%", "percent", "per cent", "pct", "percentage points", "pp"}

# A number as people write it: optional sign or parentheses, thousands separators, decimals, exponent.
_NUMBER = re.compile(
    r"""
    (?P<open>\()?
    (?P<sign>[-+−–])?
    \s*(?P<cur>[$€£¥])?\s*
    (?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)
    (?:[eE](?P<exp>[-+]?\d+))?
    (?P<close>\))?
    """,
    re.VERBOSE,
)
_WORD = re.compile(r"[a-z%$€£¥][a-z%.]*")


class AnswerConfig(BaseModel):
    """How answers are compared.

    Attributes:
        rel_tol: Relative tolerance for numbers (``abs(a-b) <= rel_tol * max(|a|, |b|)``).
        abs_tol: Absolute tolerance for numbers.
        percent_matches_fraction: Whether ``12.5%`` also matches ``0.125``.
        ignore_scale: Compare numbers by the mantissa as written, ignoring scale words
            (``3.5 million`` matches ``3.5``), for tasks that state the unit in the question.
        ordered_lists: Whether two list answers must list their items in the same order.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rel_tol: float = Field(default=1e-6, ge=0)
    abs_tol: float = Field(default=0.0, ge=0)
    percent_matches_fraction: bool = True
    ignore_scale: bool = False
    ordered_lists: bool = True


class AnswerValue(BaseModel):
    """An answer read as a value.

    Attributes:
        kind: ``number``, ``text``, ``list`` or ``empty``.
        text: The normalised text (case-folded, whitespace collapsed); the grouping label.
        number: The value with scale words applied (``3.5 million`` → 3500000.0).
        mantissa: The number as written, before the scale word.
        unit: ``%``, a currency code (``usd``...), another unit word, or ``None``.
        items: The items of a list answer.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["number", "text", "list", "empty"]
    text: str
    number: float | None = None
    mantissa: float | None = None
    unit: str | None = None
    items: tuple[AnswerValue, ...] = ()


def normalize_text(text: str) -> str:
    """Case-folded, NFKC-normalised text with whitespace collapsed and outer punctuation stripped."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = " ".join(folded.split())
    return folded.strip(" \t\n.;:!?\"'`*")


def parse_number(text: str) -> AnswerValue | None:
    """Read ``text`` as one number with optional currency, scale word and unit.

    Returns ``None`` when ``text`` is not a single number (extra words other than a scale, a
    currency or one trailing unit word, or two numbers).

    Examples:
        ``"3,501.2"`` → 3501.2; ``"$1.2bn"`` → 1.2e9 usd; ``"(45)"`` → -45; ``"12.5%"`` → 12.5 %.
    """
    raw = normalize_text(text)
    if not raw:
        return None
    matches = list(_NUMBER.finditer(raw))
    if len(matches) != 1:
        return None
    match = matches[0]
    mantissa = float(match.group("num").replace(",", ""))
    if match.group("exp"):
        mantissa *= 10 ** int(match.group("exp"))
    negative = match.group("sign") in ("-", "−", "–") or (
        match.group("open") is not None and match.group("close") is not None
    )
    if negative:
        mantissa = -mantissa
    unit: str | None = None
    if match.group("cur"):
        unit = _currency_code(match.group("cur"))
    before = _tokens(raw[: match.start()])
    if any(w not in _CURRENCY_WORDS and w not in _CURRENCY_SYMBOLS and w not in _HEDGES for w in before):
        return None  # "March 1985", "FY 2020": a label around a number, not a quantity
    scale = 1.0
    for word in [*before, *_tokens(raw[match.end() :])]:
        if word in _CURRENCY_SYMBOLS:
            unit = _currency_code(word)
        elif word in _SCALES and scale == 1.0:
            scale = _SCALES[word]
        elif word in _PERCENT_WORDS:
            unit = "%"
        elif word in _CURRENCY_WORDS:
            unit = _currency_code(word)
        elif word in _HEDGES:
            continue
        elif unit is None:
            unit = word
        else:
            return None
    return AnswerValue(
        kind="number",
        text=raw,
        number=mantissa * scale,
        mantissa=mantissa,
        unit=unit,
    )


def parse_answer(answer: object, config: AnswerConfig | None = None) -> AnswerValue:
    """Read an answer (text, number or list) as an ``AnswerValue``.

    A JSON-looking list (``[1, 2]``), items separated by ``;`` or new lines, or comma-separated
    items with a space after each comma (``"Ohio, Texas"``; ``"3,501"`` stays a number) read as a
    list; a single number as a number; anything else as normalised text.
    """
    if answer is None:
        return AnswerValue(kind="empty", text="")
    if isinstance(answer, bool):
        return AnswerValue(kind="text", text=str(answer).casefold())
    if isinstance(answer, int | float):
        value = float(answer)
        return AnswerValue(kind="number", text=_format_number(value), number=value, mantissa=value)
    if isinstance(answer, list | tuple):
        items = tuple(parse_answer(item, config) for item in answer)
        return AnswerValue(kind="list", text=" | ".join(i.text for i in items), items=items)
    text = str(answer).strip()
    if not normalize_text(text):
        return AnswerValue(kind="empty", text="")
    pieces = _split_list(text)
    if pieces is not None:
        items = tuple(parse_answer(piece, config) for piece in pieces)
        return AnswerValue(kind="list", text=" | ".join(i.text for i in items), items=items)
    number = parse_number(text)
    if number is not None:
        return number
    return AnswerValue(kind="text", text=normalize_text(text))


def numbers_match(a: AnswerValue, b: AnswerValue, config: AnswerConfig | None = None) -> bool:
    """Whether two number values are the same under the config's tolerances and unit rules."""
    cfg = config or AnswerConfig()
    if a.number is None or b.number is None:
        return False
    if a.unit is not None and b.unit is not None and a.unit != b.unit:
        return False
    candidates_a = [a.mantissa if cfg.ignore_scale else a.number]
    candidates_b = [b.mantissa if cfg.ignore_scale else b.number]
    if cfg.percent_matches_fraction:
        if a.unit == "%" and b.unit is None:
            candidates_a.append((a.number or 0.0) / 100)
        if b.unit == "%" and a.unit is None:
            candidates_b.append((b.number or 0.0) / 100)
    return any(
        x is not None and y is not None and _close(x, y, cfg) for x in candidates_a for y in candidates_b
    )


def values_match(a: AnswerValue, b: AnswerValue, config: AnswerConfig | None = None) -> bool:
    """Whether two answers are the same answer.

    Numbers compare by value (tolerances, units, percentages), texts by their normalised form,
    lists item by item (in order unless ``ordered_lists`` is off). Empty answers match nothing.
    """
    cfg = config or AnswerConfig()
    if a.kind == "empty" or b.kind == "empty":
        return False
    if a.kind == "number" and b.kind == "number":
        return numbers_match(a, b, cfg)
    if a.kind == "list" and b.kind == "list":
        if len(a.items) != len(b.items):
            return False
        if cfg.ordered_lists:
            return all(values_match(x, y, cfg) for x, y in zip(a.items, b.items, strict=True))
        remaining = list(b.items)
        for item in a.items:
            hit = next((i for i, other in enumerate(remaining) if values_match(item, other, cfg)), None)
            if hit is None:
                return False
            remaining.pop(hit)
        return True
    if a.kind == "list" and len(a.items) == 1:
        return values_match(a.items[0], b, cfg)
    if b.kind == "list" and len(b.items) == 1:
        return values_match(a, b.items[0], cfg)
    return a.text == b.text


def numbers_in_text(text: str) -> list[float]:
    """Every number written in ``text`` (thousands separators and signs read), in order.

    Used to check whether an answer's value appears in what a rollout saw. Scale words are not
    applied here: a table written "in millions" holds the mantissas.
    """
    values: list[float] = []
    for match in _NUMBER.finditer(text):
        try:
            value = float(match.group("num").replace(",", ""))
        except ValueError:
            continue
        if match.group("exp"):
            try:
                value *= 10 ** int(match.group("exp"))
            except OverflowError:
                continue
        if match.group("sign") in ("-", "−", "–") or (match.group("open") and match.group("close")):
            value = -value
        values.append(value)
    return values


def _close(x: float, y: float, cfg: AnswerConfig) -> bool:
    return math.isclose(x, y, rel_tol=max(cfg.rel_tol, 1e-12), abs_tol=cfg.abs_tol)


def _tokens(rest: str) -> list[str]:
    rest = rest.replace("per cent", "percent").replace("percentage points", "pp")
    return [w.strip(".") or w for w in _WORD.findall(rest)]


def _currency_code(token: str) -> str:
    return {
        "$": "usd",
        "us$": "usd",
        "dollar": "usd",
        "dollars": "usd",
        "usd": "usd",
        "€": "eur",
        "eur": "eur",
        "euro": "eur",
        "euros": "eur",
        "£": "gbp",
        "gbp": "gbp",
        "pound": "gbp",
        "pounds": "gbp",
        "¥": "jpy",
    }.get(token, token)


def _split_list(text: str) -> list[str] | None:
    stripped = text.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        inner = stripped[1:-1]
        parts = [p.strip().strip("\"'") for p in re.split(r",\s*", inner) if p.strip()]
        return parts if parts else None
    for separator in ("\n", ";"):
        if separator in stripped:
            parts = [p.strip() for p in stripped.split(separator) if p.strip()]
            if len(parts) > 1:
                return parts
    if ", " in stripped:
        parts = [p.strip() for p in stripped.split(", ") if p.strip()]
        if len(parts) > 1 and all(len(p.split()) <= 6 for p in parts):
            return parts
    return None


def _format_number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.12g}"
