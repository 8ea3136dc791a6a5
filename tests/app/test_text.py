"""Trajectory text shown safely: Markdown escaping, evidence marking, paging."""

from __future__ import annotations

import re
import string

import pytest

from memex_audit.app import escape_markdown, find_quote, highlight_markdown, page_text, shorten

UNESCAPED = re.compile(r"(?<!\\)[<>\[\]()!:$*_`]")
"""A Markdown-significant character without a backslash before it."""


def test_every_punctuation_character_is_escaped() -> None:
    escaped = escape_markdown(string.punctuation)
    assert escaped == "".join("\\" + ch for ch in string.punctuation)


def test_markup_becomes_literal_text() -> None:
    text = "<script>alert(1)</script> [x](javascript:alert(1)) ![i](http://e/x.png) :red[x] $a$"
    escaped = escape_markdown(text)
    assert UNESCAPED.search(escaped) is None
    assert "\\<script\\>" in escaped
    assert escaped.replace("\\", "") == text  # nothing but the escapes was added


def test_line_breaks_and_indentation_are_kept() -> None:
    escaped = escape_markdown("a\n    b\r\nc")
    assert escaped == "a  \n\u00a0\u00a0\u00a0\u00a0b  \nc"


def test_quote_found_with_whitespace_runs_compared_as_one() -> None:
    text = "total   3,501\n  million"
    assert find_quote(text, "total 3,501 million") == (0, len(text))
    assert find_quote(text, "3,502") is None
    assert find_quote(text, "   ") is None


def test_highlight_escapes_before_marking() -> None:
    text = "row <b>March</b> total 3,501 [r]\nnext line"
    markdown, found = highlight_markdown(text, "<b>March</b> total")
    assert found
    assert ":orange-background[**\\<b\\>March\\<\\/b\\> total**]" in markdown
    assert "<b>" not in markdown
    assert markdown.endswith("next line")


def test_highlight_of_a_quote_over_lines_marks_each_line() -> None:
    markdown, found = highlight_markdown("a\nfirst\nsecond\nb", "first second")
    assert found
    assert ":orange-background[**first**]  \n:orange-background[**second**]" in markdown


def test_highlight_of_a_missing_quote_is_plain_escaped_text() -> None:
    assert highlight_markdown("a*b", "zzz") == ("a\\*b", False)


@pytest.mark.parametrize("size", [10, 37, 100])
def test_pages_cover_the_text_exactly(size: int) -> None:
    text = "\n".join(f"line {i} " + "x" * (i % 13) for i in range(60))
    first = page_text(text, 1, size)
    pieces = [page_text(text, n, size) for n in range(1, first.pages + 1)]
    assert "".join(p.text for p in pieces) == text
    assert all(p.text for p in pieces)
    assert [p.start for p in pieces] == sorted(p.start for p in pieces)
    assert page_text(text, 10_000, size).number == first.pages  # clamped


def test_short_text_is_one_page_and_shorten_cuts_with_an_ellipsis() -> None:
    assert page_text("abc", 5, 10).pages == 1
    assert shorten("a  b\nc", 10) == "a b c"
    assert shorten("x" * 20, 10) == "x" * 9 + "…"
    assert shorten(None) == ""


def test_evidence_excerpt_finds_quotes_wherever_the_auditor_may_cite_them() -> None:
    from memex_audit.app._render import evidence_excerpt
    from memex_audit.trajectory import Step, ToolCall

    step = Step(
        index=4,
        role="assistant",
        text="Sum the months.",
        tool_calls=[ToolCall(id="c1", name="python_exec", arguments={"code": "x = 114233"})],
        output="y" * 5000 + " total <b>335,972</b> " + "z" * 5000,
    )
    for quote in ("python_exec", '{"code":"x = 114233"}', "<b>335,972</b>", "Sum the   months."):
        excerpt, found = evidence_excerpt(step, quote)
        assert found and "<mark" in excerpt and excerpt.startswith("<pre"), quote
        body = re.sub(r"</?(pre|mark)[^>]*>", "", excerpt)
        assert "<" not in body and ">" not in body, "every character of the content is escaped"
    excerpt, _ = evidence_excerpt(step, "<b>335,972</b>")
    assert "&lt;b&gt;335,972&lt;/b&gt;</mark>" in excerpt
    assert len(excerpt) < 3000, "only a window around a quote in a long output is shown"
    excerpt, found = evidence_excerpt(step, "absent")
    assert not found and "<mark" not in excerpt and "absent" in excerpt


def test_a_step_shows_its_code_once() -> None:
    from memex_audit.app._render import step_fields
    from memex_audit.trajectory import Step, ToolCall

    step = Step(
        index=2,
        role="assistant",
        text="THOUGHT: list the files.\n\n```bash\nls -la\n```",
        code="ls -la",
        tool_calls=[ToolCall(id="a", name="bash", arguments={"command": "ls -la"})],
    )
    fields = step_fields(step)
    assert [label for label, _, _ in fields] == ["thought", "code"]
    assert fields[0][1] == "THOUGHT: list the files."
    assert sum("ls -la" in text for _, text, _ in fields) == 1
