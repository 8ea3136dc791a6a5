"""The fast paths of the offline signals give what their plain definitions give."""

from __future__ import annotations

import ast
import random
import re

import pytest

from memex_audit.auditor._answer_signals import (
    _FAST_LIMIT,
    _MONEY,
    _may_name_amount,
    _Operands,
    _supported,
    _supported_by_scan,
)
from memex_audit.auditor._scope import _calls_in_tree
from memex_audit.reading import NumberMention, find_numbers

# The number pattern as documented in ``reading._numbers``, in its plain form.
_PLAIN_NUMBER = re.compile(r"(?<![\w.])\$?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(\s?%)?(?!\w)")


def _plain_numbers(text: str) -> list[NumberMention]:
    found = []
    for match in _PLAIN_NUMBER.finditer(text):
        plain = match.group(1).replace(",", "")
        point = plain.find(".")
        found.append(
            NumberMention(
                match.group(0).strip(),
                float(plain),
                len(plain) - point - 1 if point >= 0 else 0,
                match.group(2) is not None,
                match.start(),
            )
        )
    return found


_PIECES = [*"0123456789", ",", ".", "$", "%", " ", "\t", "\n", "\x1c", "\x1f", "_", "a", "Z", "-"]
_BEYOND_ASCII = ["\u0663", "\uff11", "\xa0", "\x85", "\u2028", "\xe9", "\u017f"]


@pytest.mark.parametrize("pieces", [_PIECES, _PIECES + _BEYOND_ASCII], ids=["ascii", "unicode"])
def test_find_numbers_matches_the_plain_pattern(pieces: list[str]) -> None:
    rng = random.Random(7)
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 16)))
        # a long text goes through the cache: the same mentions either way
        for written in (text, text + "." * 64):
            found, expected = find_numbers(written), _plain_numbers(written)
            assert list(found) == expected, written
            assert [m.digits for m in found] == [re.sub(r"\D", "", m.text) for m in expected]


def _random_pool(rng: random.Random) -> list[float]:
    kind = rng.random()
    values = []
    for _ in range(rng.randint(0, 90)):
        if kind < 0.4:
            values.append(float(rng.randint(0, 400)))
        elif kind < 0.8:
            values.append(round(rng.uniform(0, 900), rng.choice([0, 1, 2])))
        else:
            values.append(rng.choice([1.0, 5e11, 2e12, 3.5e12, 0.25, 12.5]) * rng.randint(1, 4))
    return values


def _targets(rng: random.Random, values: list[float]) -> list[float]:
    pool = [v for v in dict.fromkeys(values) if v >= 1][:60]
    targets = [round(rng.uniform(0, 2000), 2), float(rng.randint(10, 1500)), 2.5e12, 1e12]
    if pool:
        a, b, c = (rng.choice(pool) for _ in range(3))
        targets += [a + b, abs(a - b), a * rng.randint(2, 9), a + b + c, a + b + 0.01, a + b + 1e-10]
        targets += [round(a + b, 2), a * 10, a + b + c + 1e-7, a - b - c]
    return targets


def test_supported_agrees_with_the_scan() -> None:
    rng = random.Random(11)
    checked = supported = 0
    for _ in range(400):
        values = _random_pool(rng)
        shown = _Operands()
        # shown the way a dialogue shows them: texts, then values appended one by one
        half = len(values) // 2
        shown.show(" ".join(f"{v:.2f}" if v != int(v) else str(int(v)) for v in values[:half]))
        for value in values[half:]:
            shown.append(value)
        shown.settle()
        for target in _targets(rng, shown.values):
            expected = _supported_by_scan(target, shown.values)
            assert _supported(target, shown) == expected, (target, shown.values)
            checked += 1
            supported += expected
    assert checked > 1000 and 0 < supported < checked
    assert _FAST_LIMIT == 1e12


def test_shown_texts_add_their_values_in_order() -> None:
    lazy, eager = _Operands(), _Operands()
    texts = ["fare $120.50 for 2 passengers", "no numbers", "total 241, 120.5 and 3", "$15 fee"]
    for text in texts[:3]:
        lazy.show(text)
        eager.extend_new(m.value for m in find_numbers(text))
    lazy.append(10.0)
    eager.append(10.0)
    lazy.show(texts[3])
    eager.extend_new(m.value for m in find_numbers(texts[3]))
    lazy.settle()
    assert lazy.values == eager.values == [120.5, 2.0, 241.0, 3.0, 10.0, 15.0]
    assert (lazy.pool, lazy.ordered, lazy.small_ordered) == (eager.pool, eager.ordered, eager.small_ordered)


def test_amount_prefilter_passes_every_match() -> None:
    rng = random.Random(3)
    pieces = [*"0123456789 ,.$", "dollars", "DoLLars", "usd", "USD", "us", "d", "x", "\u017f"]
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        if _MONEY.search(text):
            assert _may_name_amount(text), text


def test_calls_in_tree_follow_ast_walk() -> None:
    code = """
import os, sys as s
@dec(1)
class A(B(2)):
    def f(self, x: g() = h(2), *a, **k) -> k2():
        return [q(i) for i in r(3) if -z(4) + w(5) < v(6) and not u(7)]
with open('a') as fh, ctx(8):
    a.b(c).d(e)(f)
match x:
    case P(a=1):
        t(lambda y: y(9))
"""
    tree = ast.parse(code)
    assert _calls_in_tree(tree) == [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
