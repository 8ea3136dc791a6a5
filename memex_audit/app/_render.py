"""Streamlit rendering of trajectories: a paged step timeline, text shown as text, evidence marked.

Content goes through ``st.code`` (shown verbatim) or through ``escape_markdown`` /
``highlight_markdown``; nothing here passes trajectory content to HTML.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import polars as pl
import streamlit as st

from memex_audit.app._text import escape_markdown, find_quote, highlight_markdown, page_text, shorten
from memex_audit.auditor import AuditReport, Evidence
from memex_audit.trajectory import Step, Trajectory

LONG_TEXT = 1500
"""Text longer than this (characters) is collapsed in an expander."""
PAGE_CHARS = 4000
"""Characters per page of a long text."""
STEPS_PER_PAGE = 20
"""Steps per page of a timeline."""
_EXCERPT = 700

_ROLE_ICONS = {
    "system": ":material/settings:",
    "user": ":material/person:",
    "assistant": ":material/smart_toy:",
    "tool": ":material/build:",
}


def show_text(text: str, *, key: str, label: str, language: str = "text") -> None:
    """Show ``text`` verbatim; past ``LONG_TEXT`` characters, in a collapsed expander, paged."""
    if len(text) <= LONG_TEXT:
        st.caption(escape_markdown(label))
        st.code(text, language=language, wrap_lines=True)
        return
    with st.expander(f"{escape_markdown(label)} ({len(text):,} characters)", expanded=False):
        paged_code(text, key=key, language=language)


def paged_code(text: str, *, key: str, language: str = "text") -> None:
    """``text`` verbatim, one page of ``PAGE_CHARS`` at a time with a page picker when it is longer."""
    pages = page_text(text, 1, PAGE_CHARS).pages
    page = 1
    if pages > 1:
        page = int(
            st.number_input(
                f"page (of {pages})", min_value=1, max_value=pages, value=1, step=1, key=f"{key}:page"
            )
        )
    st.code(page_text(text, page, PAGE_CHARS).text, language=language, wrap_lines=True)


def _fields(step: Step) -> list[tuple[str, str, str]]:
    """``(label, text, language)`` for each piece of the step, in reading order."""
    parts = []
    if step.reasoning:
        parts.append(("reasoning", step.reasoning, "text"))
    if step.text:
        parts.append(("text", step.text, "text"))
    if step.code:
        parts.append(("code", step.code, "python"))
    for call in step.tool_calls:
        args = call.arguments_raw or orjson.dumps(call.arguments, option=orjson.OPT_INDENT_2).decode()
        parts.append((f"tool call {call.name}" + (f" ({call.id})" if call.id else ""), args, "json"))
    if step.output is not None:
        name = step.tool_name or ("python" if step.code else "tool")
        parts.append((f"output of {name}", step.output, "text"))
    if step.error:
        parts.append(("error", step.error, "text"))
    return parts


def evidence_excerpt(step: Step, quote: str) -> tuple[str, bool]:
    """Escaped Markdown of the part of ``step`` holding ``quote``, the quote marked, and whether found.

    Only a window of the text around the quote is shown, so a quote in a 1 MB output stays readable.
    """
    # The fields as shown first; then the text ``Step.contains`` checks quotes against (it holds
    # tool names and compact JSON arguments, which the timeline shows differently).
    for text in [*(text for _, text, _ in _fields(step)), step.searchable_text()]:
        span = find_quote(text, quote)
        if span is None:
            continue
        start = max(0, span[0] - _EXCERPT)
        end = min(len(text), span[1] + _EXCERPT)
        window = ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
        return highlight_markdown(window, quote)
    return escape_markdown(quote), False


def step_header(step: Step) -> str:
    """The step's title as escaped Markdown: index, role, agent, tool."""
    bits = [f"**#{step.index}**", f"{_ROLE_ICONS.get(step.role, '')} {step.role}"]
    if step.agent:
        bits.append(f"agent *{escape_markdown(step.agent)}*")
    if step.tool_name:
        name = step.tool_name.replace("`", "'")
        bits[-1] += f" `{name}`"
    if step.error:
        bits.append(":red[error]")
    return " · ".join(bits)


def render_step(step: Step, *, key: str, evidence: Sequence[Evidence] = (), faulty: bool = False) -> None:
    """One step of the timeline: header, each field as text, and the evidence cited at this step."""
    with st.container(border=True):
        header = step_header(step)
        if faulty:
            header += " · :red-background[faulty step]"
        st.markdown(header)
        for item in evidence:
            markdown, found = evidence_excerpt(step, item.quote)
            note = f" — {escape_markdown(item.note)}" if item.note else ""
            st.markdown(f"**Evidence**{note}" + ("" if found else " (quote not found in this step)"))
            st.markdown(markdown)
        fields = _fields(step)
        if step.role == "system" and not evidence:
            # The system prompt repeats in every rollout of a harness: keep it out of the way.
            with st.expander("system prompt", expanded=False):
                for n, (_, text, language) in enumerate(fields):
                    paged_code(text, key=f"{key}:{n}", language=language)
            return
        for n, (label, text, language) in enumerate(fields):
            show_text(text, key=f"{key}:{n}", label=label, language=language)


def render_timeline(
    trajectory: Trajectory, *, key: str, reports: Sequence[AuditReport] = (), per_page: int = STEPS_PER_PAGE
) -> None:
    """The steps of ``trajectory``, a page at a time, with the audits' evidence at the cited steps."""
    evidence: dict[int, list[Evidence]] = {}
    faulty = {r.faulty_step for r in reports if r.faulty_step is not None}
    for report in reports:
        for item in report.evidence:
            evidence.setdefault(item.step, []).append(item)
    steps = trajectory.steps
    pages = max(1, -(-len(steps) // per_page))
    page = 1
    if pages > 1:
        cited = sorted(evidence) or sorted(faulty)
        first_cited = cited[0] // per_page + 1 if cited else 1
        page = int(
            st.number_input(
                f"steps page (of {pages}, {per_page} steps each)",
                min_value=1,
                max_value=pages,
                value=first_cited,
                step=1,
                key=f"{key}:steps_page",
            )
        )
    for step in steps[(page - 1) * per_page : page * per_page]:
        render_step(
            step,
            key=f"{key}:{step.index}",
            evidence=evidence.get(step.index, ()),
            faulty=step.index in faulty,
        )


def render_report(report: AuditReport, run: str) -> None:
    """An audit verdict: category, attribution, confidence, producer, explanation and evidence list."""
    with st.container(border=True):
        secondary = ", ".join(report.secondary) if report.secondary else "none"
        st.markdown(
            f"**{escape_markdown(report.primary)}** ({escape_markdown(report.taxonomy)}; also: "
            f"{escape_markdown(secondary)}) · confidence {report.confidence:.2f} · "
            f"faulty step {report.faulty_step if report.faulty_step is not None else '–'}"
            + (f" · agent *{escape_markdown(report.faulty_agent)}*" if report.faulty_agent else "")
        )
        st.caption(escape_markdown(f"run {run} · {report.producer.kind} {report.producer.name}"))
        st.markdown(escape_markdown(report.explanation))
        for item in report.evidence:
            st.markdown(f"step **{item.step}**: {escape_markdown(shorten(item.quote, 200))}")


def show_paged_frame(frame: pl.DataFrame, *, key: str, page_size: int = 50) -> pl.DataFrame:
    """Show one page of ``frame`` (never the whole of a large table) and return that page."""
    pages = max(1, -(-frame.height // page_size))
    page = 1
    if pages > 1:
        page = int(
            st.number_input(
                f"page (of {pages:,}, {page_size} rows each)",
                min_value=1,
                max_value=pages,
                value=1,
                step=1,
                key=f"{key}:page",
            )
        )
    shown = frame.slice((page - 1) * page_size, page_size)
    st.dataframe(shown, hide_index=True, key=f"{key}:frame")
    return shown
