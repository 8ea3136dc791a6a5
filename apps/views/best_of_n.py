"""Best-of-N: accuracy of each policy against majority vote, accuracy as N grows, and per task the
rollouts' answers and votes, the chosen answer against majority and ground truth, rescues and harms."""

from __future__ import annotations

import plotly.express as px
import polars as pl
import streamlit as st

from memex_audit.app._render import show_paged_frame, show_text
from memex_audit.app._state import current_workspace, open_in_viewer
from memex_audit.app._text import escape_markdown
from memex_audit.results._aggregate_summary import aggregate_accuracy_frame, aggregate_scaling_frame
from memex_audit.results._app_queries import policy_cases, rollout_votes, scaling_long

CASE_ORDER = {"rescue": 0, "harm": 1, "both wrong": 2, "both right": 3, "ungraded": 4}

st.title("Best-of-N")
ws = current_workspace()
if not ws.aggregates:
    st.info("No aggregate run loaded: run `memex-audit aggregate ROLLOUTS --out RUN_DIR` first.")
    st.stop()

run = st.selectbox("Aggregate run", list(ws.aggregates), key="bon:run")
results = ws.aggregates[run]
if not results:
    st.info("This run has no aggregated task yet.")
    st.stop()

accuracy = aggregate_accuracy_frame(results)
left, right = st.columns(2)
with left:
    st.subheader("Accuracy")
    st.dataframe(
        accuracy,
        hide_index=True,
        key="bon:accuracy",
        column_config={"accuracy": st.column_config.NumberColumn(format="percent")},
    )
with right:
    scaling = scaling_long(aggregate_scaling_frame(results))
    if scaling.height:
        figure = px.line(
            scaling.to_pandas(),
            x="n",
            y="accuracy",
            color="policy",
            markers=True,
            log_x=True,
            title="Accuracy as N grows",
            labels={"n": "rollouts (N)"},
        )
        figure.update_xaxes(tickvals=sorted(set(scaling.get_column("n").to_list())))
        figure.update_yaxes(tickformat=".0%")
        st.plotly_chart(figure, key="bon:scaling")
    else:
        st.caption("This run did not compute accuracy over subsets (it was run with --no-scaling).")

choosers = [p for p in accuracy.get_column("policy").to_list() if p not in ("pass@1", "majority", "oracle")]
if not choosers:
    st.stop()
default = choosers.index("verifier") if "verifier" in choosers else 0
policy = st.selectbox("Policy against majority vote", choosers, index=default, key="bon:policy")
cases = policy_cases(results, policy)
counts = cases.group_by("case").len().sort("case")
st.caption(" · ".join(f"{case}: {n}" for case, n in counts.iter_rows()))
kinds = st.multiselect(
    "Cases",
    sorted(cases.get_column("case").unique().to_list()),
    default=[],
    key="bon:cases",
    help="Rescue: majority wrong, the policy right. Harm: majority right, the policy wrong.",
)
shown = cases.filter(pl.col("case").is_in(kinds)) if kinds else cases
# Rescues and harms first: they are what a policy changes against majority vote.
shown = shown.sort(pl.col("case").replace_strict(CASE_ORDER, default=len(CASE_ORDER)), "task_id")
show_paged_frame(shown, key="bon:tasks", page_size=25)

if shown.height == 0:
    st.stop()
task_id = st.selectbox("Task", shown.get_column("task_id").to_list(), key="bon:task")
result = ws.aggregate_result(run, task_id)
if result is None:
    st.stop()
rollouts = ws.task(task_id)
truth = rollouts[0].ground_truth if rollouts else None
chosen = result.aggregations.get(policy)
majority = result.aggregations.get("majority")
st.subheader(f"Task {task_id}")
if result.question:
    show_text(result.question, key="bon:question", label="question")
cols = st.columns(3)
for col, (name, value, ok) in zip(
    cols,
    [
        (f"{policy} chose", chosen.answer if chosen else None, result.correct.get(policy)),
        ("majority vote", majority.answer if majority else None, result.correct.get("majority")),
        ("ground truth", truth if isinstance(truth, str) or truth is None else repr(truth), None),
    ],
    strict=True,
):
    mark = (
        ""
        if ok is None
        else (" :green[:material/check: right]" if ok >= 0.5 else " :red[:material/close: wrong]")
    )
    col.caption(escape_markdown(name) + mark)
    col.code(str(value) if value is not None else "(none)", language="text", wrap_lines=True)

votes = rollout_votes(result, policy)
vote_counts = (
    votes.group_by("answer")
    .agg(pl.len().alias("rollouts"), pl.col("trusted").any().alias(f"chosen by {policy}"))
    .sort("rollouts", descending=True)
)
left, right = st.columns([3, 2])
with left:
    st.dataframe(votes, hide_index=True, key="bon:votes")
with right:
    st.plotly_chart(
        px.bar(
            vote_counts.to_pandas(),
            x="answer",
            y="rollouts",
            color=f"chosen by {policy}",
            title="Votes per answer",
        ).update_xaxes(type="category"),
        key="bon:vote_chart",
    )
if chosen is not None and chosen.rationale:
    show_text(chosen.rationale, key="bon:rationale", label=f"{policy} rationale")
pick = st.selectbox(
    "Open a rollout in the trajectory viewer", votes.get_column("rollout_id").to_list(), key="bon:open_pick"
)
if st.button("Open", key="bon:open"):
    open_in_viewer(task_id, pick)
