"""Streamlit rendering of trajectories: the verdict first, then a paged step timeline whose cited
steps can be jumped to, text shown as text and evidence marked.

Content goes through ``st.code`` (shown verbatim), through ``escape_markdown`` (Markdown that
renders literally), or through ``excerpt_html`` (every character HTML-escaped, inside a ``<pre>``
with the quote in a ``<mark>``). Nothing here passes trajectory content to HTML unescaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson
import polars as pl
import streamlit as st

from memex_audit.app._text import escape_markdown, find_quote, page_text, shorten
from memex_audit.app._verdicts import attribution_of, label_marks
from memex_audit.auditor import AuditReport
from memex_audit.trajectory import Evidence, HumanLabel, Step, Trajectory

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
_PRE_STYLE = (
    "white-space:pre-wrap;word-break:break-word;font-family:'Source Code Pro',ui-monospace,monospace;"
    "font-size:0.82rem;line-height:1.45;background:rgba(128,128,128,0.08);padding:0.6rem 0.8rem;"
    "border-radius:0.4rem;margin:0 0 0.5rem 0;max-height:28rem;overflow:auto"
)
_MARK_STYLE = "background:#ffd28a;color:inherit;padding:0 1px;border-radius:2px"

JumpHandler = Callable[[int], None]
"""Called (as a widget callback) with the step a link asks to show."""


# -- text ------------------------------------------------------------------------------------------------


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


def excerpt_html(text: str, span: tuple[int, int] | None = None) -> str:
    """``text`` as a monospace, whitespace-preserving ``<pre>``, every character escaped, the ``span``
    (if any) in a ``<mark>``."""
    if span is None:
        body = html.escape(text)
    else:
        start, end = span
        body = (
            html.escape(text[:start])
            + f'<mark style="{_MARK_STYLE}">'
            + html.escape(text[start:end])
            + "</mark>"
            + html.escape(text[end:])
        )
    return f'<pre class="memex-excerpt" style="{_PRE_STYLE}">{body}</pre>'


# -- steps -----------------------------------------------------------------------------------------------


def _without_fence(text: str, code: str) -> str:
    """``text`` with the fenced block that holds ``code`` cut out (the code is shown on its own)."""
    pattern = re.compile(r"```[\w+-]*[ \t]*\n" + re.escape(code.strip()) + r"\s*```", re.S)
    cut = pattern.sub("", text, count=1)
    return cut.strip() if cut != text else text


def _call_is_code(arguments: dict[str, object], code: str) -> bool:
    values = [v for v in arguments.values() if isinstance(v, str)]
    return len(arguments) == 1 and len(values) == 1 and values[0].strip() == code.strip()


def step_fields(step: Step) -> list[tuple[str, str, str]]:
    """``(label, text, language)`` for each piece of the step, in reading order, each shown once:
    the code block a message carries is shown as code (not again inside the message), and a tool call
    that only runs that code is not repeated as JSON."""
    parts = []
    if step.reasoning:
        parts.append(("reasoning", step.reasoning, "text"))
    text = step.text
    if text and step.code:
        text = _without_fence(text, step.code)
    if text:
        parts.append(("thought" if step.code or step.tool_calls else "text", text, "text"))
    if step.code:
        parts.append(("code", step.code, "bash" if step.tool_name == "bash" else "python"))
    for call in step.tool_calls:
        if step.code and _call_is_code(dict(call.arguments), step.code):
            continue
        args = call.arguments_raw or orjson.dumps(call.arguments, option=orjson.OPT_INDENT_2).decode()
        parts.append((f"tool call {call.name}" + (f" ({call.id})" if call.id else ""), args, "json"))
    if step.output is not None:
        name = step.tool_name or ("python" if step.code else "tool")
        parts.append((f"output of {name}", step.output, "text"))
    if step.error:
        parts.append(("error", step.error, "text"))
    return parts


def evidence_excerpt(step: Step, quote: str) -> tuple[str, bool]:
    """HTML of the part of ``step`` holding ``quote`` (monospace, the quote marked), and whether found.

    Only a window of the text around the quote is shown, so a quote in a 1 MB output stays readable.
    """
    texts = [text for _, text, _ in step_fields(step)]
    if step.code and step.text:
        texts.append(step.text)
    for text in [*texts, step.searchable_text()]:
        span = find_quote(text, quote)
        if span is None:
            continue
        start = max(0, span[0] - _EXCERPT)
        end = min(len(text), span[1] + _EXCERPT)
        head = "…" if start else ""
        window = head + text[start:end] + ("…" if end < len(text) else "")
        offset = len(head) - start
        return excerpt_html(window, (span[0] + offset, span[1] + offset)), True
    return excerpt_html(quote), False


@dataclass
class StepMarks:
    """What the verdicts and labels say about the steps of one rollout."""

    evidence: dict[int, list[Evidence]] = field(default_factory=dict)
    faulty: set[int] = field(default_factory=set)
    guessed: set[int] = field(default_factory=set)
    labelled: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, reports: Sequence[AuditReport], labels: Sequence[HumanLabel] = ()) -> StepMarks:
        """The marks of ``reports`` and ``labels`` on one rollout."""
        marks = cls()
        for report in reports:
            for item in report.evidence:
                marks.evidence.setdefault(item.step, []).append(item)
            if report.faulty_step is not None:
                target = marks.guessed if attribution_of(report) == "guess" else marks.faulty
                target.add(report.faulty_step)
        marks.guessed -= marks.faulty
        marks.labelled = {lb.faulty_step for lb in labels if lb.faulty_step is not None}
        return marks

    def first(self) -> int | None:
        """The step to open a long rollout at: the faulty step, else the first evidence, else a
        labelled step, else a guessed one."""
        for steps in (self.faulty, set(self.evidence), self.labelled, self.guessed):
            if steps:
                return min(steps)
        return None


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


def step_anchor(key: str, index: int) -> str:
    """The container key of a step (its CSS class is ``st-key-`` + this): the target of a jump."""
    return f"{re.sub(r'[^a-zA-Z0-9-]', '-', key)}-step-{index}"


def render_step(step: Step, *, key: str, marks: StepMarks | None = None, anchor: str | None = None) -> None:
    """One step of the timeline: header with its marks, the evidence cited at it, each field once."""
    marks = marks or StepMarks()
    evidence = marks.evidence.get(step.index, [])
    with st.container(border=True, key=anchor):
        header = step_header(step)
        if step.index in marks.faulty:
            header += " · :red-background[faulty step]"
        elif step.index in marks.guessed:
            header += " · :gray-background[guessed faulty step (positional, no evidence)]"
        if step.index in marks.labelled:
            header += " · :blue-background[human label: faulty step]"
        st.markdown(header)
        for item in evidence:
            excerpt, found = evidence_excerpt(step, item.quote)
            note = f" — {escape_markdown(item.note)}" if item.note else ""
            st.markdown(f"**Evidence**{note}" + ("" if found else " (quote not found in this step)"))
            st.html(excerpt)
        fields = step_fields(step)
        if step.role == "system" and not evidence:
            # The system prompt repeats in every rollout of a harness: keep it out of the way.
            with st.expander("system prompt", expanded=False):
                for n, (_, text, language) in enumerate(fields):
                    paged_code(text, key=f"{key}:{n}", language=language)
            return
        for n, (label, text, language) in enumerate(fields):
            show_text(text, key=f"{key}:{n}", label=label, language=language)


def timeline_page(n_steps: int, step: int | None, per_page: int = STEPS_PER_PAGE) -> int:
    """The 1-based page of the timeline that shows ``step`` (page 1 without one)."""
    if step is None or n_steps <= 0:
        return 1
    return min(max(step, 0), n_steps - 1) // per_page + 1


def render_timeline(
    trajectory: Trajectory,
    *,
    key: str,
    marks: StepMarks | None = None,
    per_page: int = STEPS_PER_PAGE,
) -> None:
    """The steps of ``trajectory``, a page at a time; the page is ``st.session_state[key + ":page"]``
    (set it to show a step's page), with previous / next buttons."""
    marks = marks or StepMarks()
    steps = trajectory.steps
    pages = max(1, -(-len(steps) // per_page))
    page_key = f"{key}:page"
    page = min(max(int(st.session_state.get(page_key, 1)), 1), pages)
    if pages > 1:
        cols = st.columns([1, 1, 4], vertical_alignment="center")
        cols[0].button(
            "Previous steps",
            key=f"{key}:prev",
            disabled=page <= 1,
            on_click=_set_page,
            args=(page_key, page - 1),
            icon=":material/arrow_upward:",
        )
        cols[1].button(
            "Next steps",
            key=f"{key}:next",
            disabled=page >= pages,
            on_click=_set_page,
            args=(page_key, page + 1),
            icon=":material/arrow_downward:",
        )
        first, last = (page - 1) * per_page, min(page * per_page, len(steps)) - 1
        cols[2].caption(f"steps {first}–{last} of {len(steps)} (page {page} of {pages})")
    for step in steps[(page - 1) * per_page : page * per_page]:
        render_step(step, key=f"{key}:{step.index}", marks=marks, anchor=step_anchor(key, step.index))
    if pages > 1 and page < pages:
        st.button(
            "Next steps",
            key=f"{key}:next_bottom",
            on_click=_set_page,
            args=(page_key, page + 1),
            icon=":material/arrow_downward:",
        )


def _set_page(page_key: str, page: int) -> None:
    st.session_state[page_key] = page


def scroll_to(anchor: str, nonce: int) -> None:
    """Scroll the page to the container keyed ``anchor`` once it is drawn (a new ``nonce`` scrolls
    again). The script is built from the anchor's letters, digits and dashes only."""
    safe = re.sub(r"[^a-zA-Z0-9-]", "", anchor)
    st.html(
        f"""<script>/* {int(nonce)} */
(function () {{
  let tries = 0;
  function go() {{
    const el = document.querySelector('.st-key-{safe}');
    if (el) {{ el.style.scrollMarginTop = '4.5rem'; el.scrollIntoView({{block: 'start'}}); window.__memexScrolled = '{safe}'; return; }}
    if (tries++ < 80) setTimeout(go, 100);
  }}
  go();
}})();
</script>""",
        unsafe_allow_javascript=True,
        width=1,
    )


# -- verdicts --------------------------------------------------------------------------------------------


def _step_link(
    label: str, step: int, *, key: str, on_jump: JumpHandler | None, help: str | None = None
) -> None:
    if on_jump is None:
        st.markdown(escape_markdown(label))
        return
    st.button(
        label,
        key=key,
        type="tertiary",
        on_click=on_jump,
        args=(step,),
        icon=":material/arrow_forward:",
        help=help or f"Show step {step}",
    )


def render_report(
    report: AuditReport,
    run: str,
    *,
    key: str,
    labels: Sequence[HumanLabel] = (),
    on_jump: JumpHandler | None = None,
) -> None:
    """An audit verdict: category, attribution (a guess says so), confidence, producer, explanation,
    the evidence steps as links, and the human labels beside it with agree / disagree marks."""
    attribution = attribution_of(report)
    with st.container(border=True):
        secondary = f" (also: {escape_markdown(', '.join(report.secondary))})" if report.secondary else ""
        st.markdown(
            f"**{escape_markdown(report.primary)}**{secondary} · {escape_markdown(report.taxonomy)} · "
            f"confidence {report.confidence:.2f}"
        )
        st.caption(escape_markdown(f"run {run} · {report.producer.kind} {report.producer.name}"))
        if report.faulty_step is not None or report.faulty_agent:
            agent = f" by agent {report.faulty_agent}" if report.faulty_agent else ""
            if attribution == "guess":
                st.markdown(
                    ":gray-badge[:material/help: guess] faulty step and agent are a positional guess, "
                    "not a finding"
                )
            if report.faulty_step is not None:
                _step_link(
                    f"faulty step {report.faulty_step}{agent}"
                    + (" (guess)" if attribution == "guess" else ""),
                    report.faulty_step,
                    key=f"{key}:faulty",
                    on_jump=on_jump,
                )
            else:
                st.markdown(escape_markdown(f"faulty agent {report.faulty_agent}"))
        st.markdown(escape_markdown(report.explanation))
        for n, item in enumerate(report.evidence):
            _step_link(
                f"step {item.step}: {shorten(item.quote, 120)}",
                item.step,
                key=f"{key}:evidence:{n}",
                on_jump=on_jump,
                help=item.note,
            )
        for n, label in enumerate(labels):
            render_label_marks(report, label, key=f"{key}:label:{n}", on_jump=on_jump)


def render_label_marks(
    report: AuditReport, label: HumanLabel, *, key: str, on_jump: JumpHandler | None = None
) -> None:
    """The human label beside the verdict: each point it states, marked agree or disagree."""
    marks = label_marks(report, label)
    if not marks:
        return
    bits = []
    for mark in marks:
        sign = ":green[:material/check: agrees]" if mark.agrees else ":red[:material/close: disagrees]"
        bits.append(f"{mark.what} {escape_markdown(mark.label)} {sign}")
    who = f" ({escape_markdown(label.annotator)})" if label.annotator else ""
    st.markdown(f"**Human label**{who}: " + " · ".join(bits))
    if label.reason:
        st.caption(escape_markdown(shorten(label.reason, 400)))
    if label.faulty_step is not None and label.faulty_step != report.faulty_step:
        _step_link(
            f"labelled step {label.faulty_step}", label.faulty_step, key=f"{key}:step", on_jump=on_jump
        )


def render_labels(labels: Sequence[HumanLabel], *, key: str, on_jump: JumpHandler | None = None) -> None:
    """Human labels of a rollout no audit covers."""
    for n, label in enumerate(labels):
        with st.container(border=True):
            parts = [
                f"agent {label.faulty_agent}" if label.faulty_agent else None,
                f"step {label.faulty_step}" if label.faulty_step is not None else None,
                f"category {label.category}" if label.category else None,
            ]
            st.markdown("**Human label**: " + escape_markdown(" · ".join(p for p in parts if p)))
            if label.reason:
                st.caption(escape_markdown(shorten(label.reason, 400)))
            if label.faulty_step is not None:
                _step_link(
                    f"labelled step {label.faulty_step}", label.faulty_step, key=f"{key}:{n}", on_jump=on_jump
                )


# -- tables ----------------------------------------------------------------------------------------------


def show_paged_frame(
    frame: pl.DataFrame, *, key: str, page_size: int = 50, **dataframe_args: object
) -> pl.DataFrame:
    """Show one page of ``frame`` (never the whole of a large table) and return that page.

    Extra arguments go to ``st.dataframe`` (``on_select``, ``column_config``...); the selection, when
    asked for, is in ``st.session_state[key + ":frame"]``.
    """
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
    st.dataframe(shown, hide_index=True, key=f"{key}:frame", **dataframe_args)  # type: ignore[call-overload]
    return shown


def selected_row(key: str) -> int | None:
    """The row selected in the frame ``show_paged_frame`` drew under ``key`` (single-row mode)."""
    state = st.session_state.get(f"{key}:frame")
    try:
        rows = state["selection"]["rows"]  # type: ignore[index]
    except (KeyError, TypeError):
        return None
    return int(rows[0]) if rows else None
