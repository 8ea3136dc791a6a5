"""Failure breakdown: one taxonomy at a time, categories by harness, model, task, faulty agent or step
position, a fixed colour per category, the groups as table rows, the audited rows (click one to open
it), and downloads. Every choice is in the URL."""

from __future__ import annotations

from dataclasses import astuple, fields
from functools import partial

import plotly.express as px
import polars as pl
import streamlit as st

from memex_audit.analysis._queries import POSITIONS, FailureFilter, filter_options
from memex_audit.app._charts import CHART_CONFIG, category_colors, plot_frame
from memex_audit.app._render import selected_row, show_paged_frame
from memex_audit.app._state import (
    current_key,
    current_workspace,
    failure_breakdown,
    failures_download,
    filtered_failures,
    open_in_viewer,
)
from memex_audit.app._text import escape_markdown, plot_text
from memex_audit.taxonomy import UNCLASSIFIED

GROUPINGS = {
    "harness": "harness",
    "model": "model",
    "task group": "study",
    "task": "task_id",
    "audit policy": "policy",
    "faulty agent": "faulty_agent",
    "step position": "position",
}
TOP_GROUPS = 40
FILTER_LABELS = {"task_id": "task", "policy": "audit policy", "agreement": "human label"}

st.title("Failure breakdown")
ws = current_workspace()
paths, fingerprint = current_key()
with st.spinner("Loading the rollouts the runs read…"):
    failures = ws.failures
if failures.height == 0:
    st.info("No audit results and no rollouts loaded: run `memex-audit audit ROLLOUTS --out RUN_DIR` first.")
    st.stop()

options = filter_options(failures)
taxonomies = options.pop("taxonomy")
top = st.columns([2, 2, 2, 2])
# One taxonomy per chart: categories of different taxonomies are not comparable.
taxonomy = (
    top[0].selectbox("Taxonomy", taxonomies, key="taxonomy", bind="query-params") if taxonomies else None
)
group_label = top[1].selectbox("Group by", list(GROUPINGS), key="group", bind="query-params")
scale = top[2].segmented_control(
    "Scale", ["count", "percent"], default="count", required=True, key="scale", bind="query-params"
)
hide_unclassified = top[3].toggle("Hide unclassified", key="hide_unclassified", bind="query-params")

with st.expander("Filters", expanded=True):
    cols = st.columns(4)
    chosen: dict[str, tuple[str, ...]] = {"taxonomy": (taxonomy,) if taxonomy else ()}
    for n, name in enumerate(options):
        default = ["failed"] if name == "outcome" and "failed" in options[name] else []
        chosen[name] = tuple(
            cols[n % 4].multiselect(
                FILTER_LABELS.get(name, name),
                options[name],
                default=default,
                key=name,
                bind="query-params",
                help="Verdicts against the human label the rollout carries (faulty agent and step)"
                if name == "agreement"
                else None,
            )
        )
flt = astuple(FailureFilter(**{f.name: chosen.get(f.name, ()) for f in fields(FailureFilter)}))
rows = filtered_failures(paths, fingerprint, flt)
by = GROUPINGS[group_label]
hide = (UNCLASSIFIED,) if hide_unclassified else ()
if hide:
    rows = rows.filter(~pl.col("primary").is_in(list(hide)))
st.metric("Rows", f"{rows.height:,}", help="Audit verdicts, plus rollouts without one, passing the filters")

counts, table, order = failure_breakdown(
    paths, fingerprint, flt, by, TOP_GROUPS, hide, percent=scale == "percent"
)
if counts.height == 0:
    st.info("Nothing passes these filters.")
    st.stop()
colors = category_colors(ws.taxonomy_ids, order)
group_order = (
    [p for p in [*POSITIONS, "no step"] if p in set(counts.get_column(by).to_list())]
    if by == "position"
    else table.get_column(by).head(TOP_GROUPS).to_list()
)
shown = plot_frame(counts, [by, "category"])
figure = px.bar(
    shown.to_pandas(),
    x=by,
    y="percent" if scale == "percent" else "count",
    color="category",
    color_discrete_map=colors,
    category_orders={"category": [plot_text(c) for c in order], by: [plot_text(g) for g in group_order]},
    labels={
        by: plot_text(group_label),
        "percent": "share of the group (%)",
        "count": "trajectories",
        "category": "category",
    },
    title=plot_text(f"{taxonomy or 'Categories'} by {group_label}"),
)
figure.update_xaxes(type="category")
st.plotly_chart(figure, key="failures:chart", config=CHART_CONFIG)
if len(group_order) < table.height:
    st.caption(
        f"The chart shows the {TOP_GROUPS} largest of {table.height:,} groups; the table has them all."
    )

st.subheader(f"{escape_markdown(group_label.capitalize())} × category")
st.caption("Select a row to list only that group's rows below.")
table_event = st.dataframe(
    table,
    hide_index=True,
    key="failures:table",
    on_select="rerun",
    selection_mode="single-row",
    column_config={by: st.column_config.TextColumn(group_label, pinned=True)},
)
picked_group = None
if table_event and table_event.selection.rows:
    picked_group = table.get_column(by)[table_event.selection.rows[0]]
    rows = rows.filter(pl.col(by).cast(pl.String).fill_null("?") == picked_group)

st.subheader("Rows" + (f" of {escape_markdown(str(picked_group))}" if picked_group is not None else ""))
st.caption("Select a row to open it in the trajectory viewer at its faulty step.")
columns = [
    "trajectory_id",
    "task_id",
    "primary",
    "secondary",
    "faulty_step",
    "faulty_agent",
    "position",
    "label_agent",
    "label_step",
    "agreement",
    "confidence",
    "evidence",
    "harness",
    "model",
    "policy",
    "run",
]
page = show_paged_frame(
    rows.select(columns), key="failures:rows", page_size=50, on_select="rerun", selection_mode="single-row"
)
pick = selected_row("failures:rows")
if pick is not None and pick < page.height:
    row = page.row(pick, named=True)
    open_in_viewer(row["task_id"], row["trajectory_id"], row["faulty_step"])

left, right = st.columns(2)
left.download_button(
    "Rows as CSV (with explanations and quotes)",
    partial(failures_download, paths, fingerprint, flt, "csv"),
    file_name="failures.csv",
    mime="text/csv",
    on_click="ignore",
    key="failures:csv",
)
right.download_button(
    "Rows as Parquet",
    partial(failures_download, paths, fingerprint, flt, "parquet"),
    file_name="failures.parquet",
    mime="application/vnd.apache.parquet",
    on_click="ignore",
    key="failures:parquet",
)
