"""Trajectory viewer: a rollout's verdict first (the cited and faulty steps are links), its human label
beside it, then the step timeline opened at the faulty step, beside a sibling rollout of the same
task. Task, rollout, sibling and step are in the URL."""

from __future__ import annotations

import polars as pl
import streamlit as st

from memex_audit.analysis._queries import natural_key
from memex_audit.app._charts import CHART_CONFIG, step_strip
from memex_audit.app._exports import trajectory_json, trajectory_markdown
from memex_audit.app._render import (
    STEPS_PER_PAGE,
    StepMarks,
    render_labels,
    render_report,
    render_timeline,
    scroll_to,
    show_text,
    step_anchor,
    timeline_page,
)
from memex_audit.app._search import compile_query
from memex_audit.app._state import current_workspace
from memex_audit.app._text import escape_markdown
from memex_audit.trajectory import Trajectory

STRIP_FROM = 100  # steps from which a run gets the step overview strip
MAX_TASKS = 1000  # tasks offered in the picker at once (the filters narrow the rest)
LEFT, RIGHT = "viewer-left", "viewer-right"

st.title("Trajectory viewer")
ws = current_workspace()
with st.spinner("Loading the rollouts the runs read…"):
    table = ws.table
if table.height == 0:
    st.info("No rollouts loaded: the runs' input files are not reachable from where the app was started.")
    st.stop()


def _reset_step() -> None:
    st.session_state["step"] = None
    st.session_state["_viewer_changed"] = True


def jump(panel: str, step: int, *, set_step: bool = True) -> None:
    """Show ``step`` of a panel's rollout: its timeline page, scrolled to it. As a widget callback it
    also puts the step in the URL (``set_step``)."""
    if panel == LEFT and set_step:
        st.session_state["step"] = step
    st.session_state[f"{panel}:page"] = timeline_page(10**9, step, STEPS_PER_PAGE)
    st.session_state["_viewer_scroll"] = (panel, step, st.session_state.get("_viewer_nonce", 0) + 1)
    st.session_state["_viewer_nonce"] = st.session_state["_viewer_scroll"][2]


# -- the task picker, filtered by outcome, category, model and harness ------------------------------------
failures = ws.failures
categories = failures.filter(pl.col("run").is_not_null()).group_by("task_id").agg(pl.col("primary").unique())
tasks = (
    table.group_by("task_id", maintain_order=True)
    .agg(
        pl.len().alias("n"),
        (pl.col("outcome") == "failed").sum().alias("failed"),
        pl.col("outcome").unique().alias("outcomes"),
        pl.col("model").fill_null("?").unique().alias("models"),
        pl.col("harness").fill_null("?").unique().alias("harnesses"),
    )
    .join(categories, on="task_id", how="left")
    .with_columns(pl.col("primary").fill_null([]))
)
audited = ws.audit_rows.group_by("task_id").agg(pl.col("trajectory_id").n_unique().alias("audited"))
disagreeing = failures.filter(pl.col("agreement") == "disagrees").get_column("task_id").unique().to_list()
tasks = tasks.join(audited, on="task_id", how="left").with_columns(pl.col("audited").fill_null(0))

with st.expander("Find a task", expanded=False):
    find_cols = st.columns(5)
    find = find_cols[0].text_input(
        "Task id contains", key="find", bind="query-params", placeholder="part of a task id"
    )
    picks = {}
    for col, (name, column, label) in zip(
        find_cols[1:],
        [
            ("outcome", "outcomes", "outcome"),
            ("category", "primary", "category"),
            ("model", "models", "model"),
            ("harness", "harnesses", "harness"),
        ],
        strict=True,
    ):
        values = sorted({v for vs in tasks.get_column(column).to_list() for v in vs if v is not None})
        picks[column] = col.multiselect(label, values, key=f"v_{name}", bind="query-params")
    only_disagreements = st.toggle(
        "Only tasks where a verdict disagrees with the human label", key="disagreements", bind="query-params"
    )
shown_tasks = tasks
if find:
    shown_tasks = shown_tasks.filter(pl.col("task_id").str.contains(find, literal=True))
for column, values in picks.items():
    if values:
        shown_tasks = shown_tasks.filter(pl.col(column).list.eval(pl.element().is_in(values)).list.any())
if only_disagreements:
    shown_tasks = shown_tasks.filter(pl.col("task_id").is_in(disagreeing))
ordered_tasks = sorted(
    shown_tasks.select("task_id", "audited", "failed").iter_rows(),
    key=lambda r: (-r[1], -r[2], natural_key(r[0])),
)
task_ids = [r[0] for r in ordered_tasks[:MAX_TASKS]]
if shown_tasks.height > MAX_TASKS:
    st.caption(
        f"The first {MAX_TASKS:,} of {shown_tasks.height:,} tasks (most audited first); filter to narrow."
    )

# An id in the URL that is not loaded gets a warning instead of silently showing another task.
all_tasks = set(tasks.get_column("task_id").to_list())
requested_task = st.query_params.get("task")
if requested_task and requested_task not in all_tasks:
    st.warning(f"Task {escape_markdown(requested_task)} is not in the loaded runs; showing another task.")
elif requested_task and requested_task not in task_ids:
    task_ids.insert(0, requested_task)
if not task_ids:
    st.info("No task matches these filters.")
    st.stop()
requested_rollout = st.query_params.get("rollout")

cols = st.columns([3, 3, 3, 1.3])
task_id = cols[0].selectbox("Task", task_ids, key="task", bind="query-params", on_change=_reset_step)
info = tasks.filter(pl.col("task_id") == task_id).row(0, named=True)
rollouts = ws.task(task_id)
by_id = {t.id: t for t in rollouts}
ids = [t.id for t in sorted(rollouts, key=lambda t: (t.success is not False, natural_key(t.id)))]
changed_here = st.session_state.pop("_viewer_changed", False)
if requested_rollout and requested_rollout not in by_id and not changed_here:
    st.warning(f"Rollout {escape_markdown(requested_rollout)} is not a loaded rollout of this task.")
target_id = cols[1].selectbox("Rollout", ids, key="rollout", bind="query-params", on_change=_reset_step)
siblings = [
    t.id
    for t in sorted(rollouts, key=lambda t: (t.success is not True, natural_key(t.id)))
    if t.id != target_id
]
sibling_id = cols[2].selectbox(
    "Beside it", siblings, key="sibling", bind="query-params", placeholder="no other rollout"
)
side_by_side = cols[3].toggle("Side by side", value=True, key="side")


def _describe(t: Trajectory) -> str:
    outcome = {True: "correct", False: "FAILED", None: "ungraded"}[t.success]
    audits = ws.reports_for(t.id)
    category = f" · {audits[0][1].primary}" if audits else ""
    return f"{t.id} · {outcome}{category} · {t.harness} · {t.model} · {len(t.steps)} steps"


st.caption(
    escape_markdown(
        f"task {task_id}: {info['failed']} of {info['n']} rollouts failed, {info['audited']} audited · "
        f"rollout {_describe(by_id[target_id])}"
    )
)

target = by_id[target_id]
target_reports = ws.reports_for(target.id)
target_marks = StepMarks.of([r for _, r in target_reports], target.labels)

# -- step focus: the URL's step, a cited step clicked, or the faulty step of a long run -----------------
step_cols = st.columns([1, 3])
n_steps = len(target.steps)
step_cols[0].number_input(
    "Go to step",
    min_value=0,
    max_value=max(n_steps - 1, 0),
    value=None,
    step=1,
    key="step",
    bind="query-params",
    placeholder=f"0–{max(n_steps - 1, 0)}",
    on_change=lambda: (
        jump(LEFT, int(st.session_state["step"])) if st.session_state.get("step") is not None else None
    ),
)
find_in = step_cols[1].text_input(
    "Find in this rollout",
    key="find_step",
    placeholder="text, code, tool call or output",
    bind="query-params",
)
shown_key = (task_id, target_id)
focus = st.session_state.get("step")
if st.session_state.get("_viewer_shown") != shown_key:
    st.session_state["_viewer_shown"] = shown_key
    if focus is None and n_steps > STEPS_PER_PAGE:
        focus = target_marks.first()
    if focus is not None:
        jump(LEFT, int(focus), set_step=False)
    else:
        st.session_state[f"{LEFT}:page"] = 1
    sibling = by_id.get(sibling_id) if sibling_id else None
    first_sibling = None
    if sibling is not None and len(sibling.steps) > STEPS_PER_PAGE:
        first_sibling = StepMarks.of([r for _, r in ws.reports_for(sibling.id)], sibling.labels).first()
    st.session_state[f"{RIGHT}:page"] = timeline_page(10**9, first_sibling, STEPS_PER_PAGE)

if find_in:
    pattern = compile_query(find_in)
    hits = [s.index for s in target.steps if pattern.search(s.searchable_text())]
    if hits:
        st.caption(f"{len(hits)} steps match")
        link_cols = st.columns(min(len(hits), 10))
        for n, index in enumerate(hits[:30]):
            link_cols[n % len(link_cols)].button(
                f"step {index}", key=f"find_hit:{index}", type="tertiary", on_click=jump, args=(LEFT, index)
            )
    else:
        st.caption("No step of this rollout matches.")


def _strip(t: Trajectory, marks: StepMarks, panel: str) -> None:
    if len(t.steps) < STRIP_FROM:
        return
    chart_key = f"{panel}:strip"

    def on_pick() -> None:
        points = st.session_state[chart_key].selection.points
        if points:
            jump(panel, int(points[0]["x"]))

    st.plotly_chart(
        step_strip(t, sorted(marks.evidence), sorted(marks.faulty | marks.guessed), sorted(marks.labelled)),
        key=chart_key,
        on_select=on_pick,
        selection_mode="points",
        config={**CHART_CONFIG, "displayModeBar": False},
    )


def show_rollout(t: Trajectory, panel: str, marks: StepMarks) -> None:
    usage = t.total_usage()
    outcome = {True: ":green[correct]", False: ":red[failed]", None: "ungraded"}[t.success]
    st.markdown(
        f"**{escape_markdown(t.id)}** · {outcome} · {escape_markdown(t.harness or '?')} · "
        f"{escape_markdown(t.model or '?')} · {len(t.steps)} steps · {usage.total_tokens:,} tokens"
        + (f" · ${usage.cost_usd:.4f}" if usage.cost_usd is not None else "")
    )
    reports = ws.reports_for(t.id)

    def on_jump(step: int) -> None:
        jump(panel, step)

    for n, (run, report) in enumerate(reports):
        render_report(
            report,
            run,
            key=f"{panel}:report:{n}",
            labels=t.labels,
            on_jump=on_jump,
        )
    if not reports and t.labels:
        render_labels(t.labels, key=f"{panel}:labels", on_jump=on_jump)
    show_text(t.final_answer or "(no final answer)", key=f"{panel}:answer", label="final answer")
    left, right = st.columns(2)
    left.download_button(
        "JSON with audits",
        trajectory_json(t, reports),
        file_name=f"{t.id.replace('/', '_')}.json",
        mime="application/json",
        on_click="ignore",
        key=f"{panel}:json",
    )
    right.download_button(
        "Markdown with audits",
        trajectory_markdown(t, reports),
        file_name=f"{t.id.replace('/', '_')}.md",
        mime="text/markdown",
        on_click="ignore",
        key=f"{panel}:markdown",
    )
    _strip(t, marks, panel)
    render_timeline(t, key=panel, marks=marks)


question = target.question
truth = target.ground_truth
with st.expander("Question" + (" and ground truth" if truth is not None else ""), expanded=False):
    show_text(question or "(no question recorded)", key="viewer:question", label="question")
    if truth is not None:
        show_text(truth if isinstance(truth, str) else repr(truth), key="viewer:truth", label="ground truth")

sibling = by_id.get(sibling_id) if sibling_id else None
sibling_marks = StepMarks.of([r for _, r in ws.reports_for(sibling.id)], sibling.labels) if sibling else None
if sibling is not None and sibling_marks is not None and side_by_side:
    left, right = st.columns(2)
    with left:
        show_rollout(target, LEFT, target_marks)
    with right:
        show_rollout(sibling, RIGHT, sibling_marks)
else:
    show_rollout(target, LEFT, target_marks)
    if sibling is not None and sibling_marks is not None:
        st.divider()
        show_rollout(sibling, RIGHT, sibling_marks)

pending = st.session_state.pop("_viewer_scroll", None)
if pending is not None:
    panel, step, nonce = pending
    scroll_to(step_anchor(panel, step), nonce)
