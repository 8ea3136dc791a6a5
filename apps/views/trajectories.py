"""Trajectory viewer: a rollout's step timeline with its audit labels and their evidence marked at
the cited steps, beside a sibling rollout of the same task (a correct one when there is one)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from memex_audit.app._render import render_report, render_timeline, show_text
from memex_audit.app._state import current_workspace, take_goto
from memex_audit.app._text import escape_markdown
from memex_audit.trajectory import Trajectory

MAX_TASKS = 1000
"""Tasks offered in the picker at once (a search narrows the rest)."""

st.title("Trajectory viewer")
ws = current_workspace()
if not ws.trajectories:
    st.info("No rollouts loaded: the runs' input files are not reachable from where the app was started.")
    st.stop()

goto = take_goto()
audited = ws.audit_rows.group_by("task_id").agg(pl.col("trajectory_id").n_unique().alias("audited"))
tasks = (
    ws.table.group_by("task_id", maintain_order=True)
    .agg(pl.len().alias("n"), (pl.col("outcome") == "failed").sum().alias("failed"))
    .join(audited, on="task_id", how="left")
    .with_columns(pl.col("audited").fill_null(0))
    .sort(["audited", "failed", "task_id"], descending=[True, True, False])
)
label = {t: f"{t} ({f} of {n} failed, {a} audited)" for t, n, f, a in tasks.iter_rows()}
find = st.text_input("Find a task", key="viewer:find", placeholder="part of a task id")
if find:
    tasks = tasks.filter(pl.col("task_id").str.contains(find, literal=True))
task_ids = tasks.get_column("task_id").head(MAX_TASKS).to_list()
if tasks.height > MAX_TASKS:
    st.caption(f"The first {MAX_TASKS:,} of {tasks.height:,} tasks (most audited first); search to narrow.")
# The URL names the rollout shown (?task=…&trajectory=…), so a view can be shared; it is applied
# when it differs from what this page last wrote there, i.e. when the URL was opened or edited.
linked = (st.query_params.get("task"), st.query_params.get("trajectory"))
if goto is None and linked[0] is not None and linked != st.session_state.get("viewer:linked"):
    goto = (linked[0], linked[1] or "")
if goto is not None and goto[0] in label:
    st.session_state["viewer:task"] = goto[0]
    st.session_state["viewer:trajectory"] = goto[1]
    if goto[0] not in task_ids:
        task_ids.insert(0, goto[0])
if not task_ids:
    st.info("No task id contains that text.")
    st.stop()
if st.session_state.get("viewer:task") not in task_ids:
    st.session_state["viewer:task"] = task_ids[0]
task_id = st.selectbox("Task", task_ids, format_func=label.__getitem__, key="viewer:task")
rollouts = ws.task(task_id)
first = rollouts[0]
with st.expander("Question and ground truth", expanded=True):
    show_text(first.question or "(no question recorded)", key="viewer:question", label="question")
    truth = first.ground_truth
    show_text(truth if isinstance(truth, str) else repr(truth), key="viewer:truth", label="ground truth")


def _describe(t: Trajectory) -> str:
    outcome = {True: "correct", False: "FAILED", None: "ungraded"}[t.success]
    audited = ws.reports_for(t.id)
    category = f" · {audited[0][1].primary}" if audited else ""
    return f"{t.id} · {outcome}{category} · {t.harness} · {t.model}"


by_id = {t.id: t for t in rollouts}
ordered = sorted(rollouts, key=lambda t: (t.success is not False, t.id))
ids = [t.id for t in ordered]
if st.session_state.get("viewer:trajectory") not in by_id:
    st.session_state["viewer:trajectory"] = ids[0]
cols = st.columns([3, 3, 1])
target_id = cols[0].selectbox(
    "Rollout", ids, format_func=lambda i: _describe(by_id[i]), key="viewer:trajectory"
)
siblings = [t.id for t in sorted(rollouts, key=lambda t: (t.success is not True, t.id)) if t.id != target_id]
if st.session_state.get("viewer:sibling") not in [*siblings, None]:
    st.session_state["viewer:sibling"] = siblings[0] if siblings else None
sibling_id = cols[1].selectbox(
    "Beside it",
    siblings,
    format_func=lambda i: _describe(by_id[i]),
    key="viewer:sibling",
    placeholder="no other rollout",
)
side_by_side = cols[2].toggle("Side by side", value=True, key="viewer:side_by_side")
st.query_params.update({"task": task_id, "trajectory": target_id})
st.session_state["viewer:linked"] = (task_id, target_id)


def show_rollout(t: Trajectory, key: str) -> None:
    usage = t.total_usage()
    st.markdown(
        f"**{escape_markdown(t.id)}** · {escape_markdown(str(t.harness))} · {escape_markdown(str(t.model))} · "
        f"{len(t.steps)} steps · {usage.total_tokens:,} tokens"
        + (f" · ${usage.cost_usd:.4f}" if usage.cost_usd is not None else "")
    )
    show_text(t.final_answer or "(no final answer)", key=f"{key}:answer", label="final answer")
    reports = [r for _, r in ws.reports_for(t.id)]
    for run, report in ws.reports_for(t.id):
        render_report(report, run)
    render_timeline(t, key=key, reports=reports)


target = by_id[target_id]
if sibling_id is not None and side_by_side:
    left, right = st.columns(2)
    with left:
        show_rollout(target, "viewer:left")
    with right:
        show_rollout(by_id[sibling_id], "viewer:right")
else:
    show_rollout(target, "viewer:left")
    if sibling_id is not None:
        st.divider()
        show_rollout(by_id[sibling_id], "viewer:right")
