"""Failure breakdown: categories by harness, model or task group, the breakdown table, filters,
the audited rows (paged) and downloads of the filtered table."""

from __future__ import annotations

from dataclasses import astuple
from functools import partial

import plotly.express as px
import streamlit as st

from memex_audit.app._render import show_paged_frame
from memex_audit.app._state import (
    current_key,
    current_workspace,
    failure_breakdown,
    failures_download,
    filtered_failures,
    open_in_viewer,
)
from memex_audit.results._app_queries import FailureFilter, filter_options

GROUPINGS = {
    "harness": "harness",
    "model": "model",
    "task group": "study",
    "task": "task_id",
    "audit policy": "policy",
}
TOP_GROUPS = 40

st.title("Failure breakdown")
ws = current_workspace()
paths, fingerprint = current_key()
if ws.failures.height == 0:
    st.info("No audit results and no rollouts loaded: run `memex-audit audit ROLLOUTS --out RUN_DIR` first.")
    st.stop()

options = filter_options(ws.failures)
with st.expander("Filters", expanded=True):
    cols = st.columns(4)
    chosen: dict[str, tuple[str, ...]] = {}
    labels = {"task_id": "task", "policy": "audit policy"}
    for n, name in enumerate(options):
        default = ["failed"] if name == "outcome" and "failed" in options[name] else []
        chosen[name] = tuple(
            cols[n % 4].multiselect(
                labels.get(name, name), options[name], default=default, key=f"failures:filter:{name}"
            )
        )
flt = astuple(FailureFilter(**chosen))
rows = filtered_failures(paths, fingerprint, flt)

cols = st.columns([2, 2, 2, 3])
group_label = cols[0].selectbox("Group by", list(GROUPINGS), key="failures:group_by")
mode = cols[1].radio("Bars", ["stacked", "grouped"], horizontal=True, key="failures:barmode")
scale = cols[2].radio("Scale", ["count", "percent"], horizontal=True, key="failures:scale")
cols[3].metric(
    "Rows", f"{rows.height:,}", help="Audit verdicts, plus rollouts without one, passing the filters"
)
by = GROUPINGS[group_label]

counts, table, order = failure_breakdown(paths, fingerprint, flt, by, TOP_GROUPS)
if counts.height == 0:
    st.info("Nothing passes these filters.")
    st.stop()
figure = px.bar(
    counts.to_pandas(),
    x=by,
    y=scale,
    color="category",
    barmode="relative" if mode == "stacked" else "group",
    category_orders={"category": order},
    labels={by: group_label, scale: "share of the group (%)" if scale == "percent" else "trajectories"},
    title=f"Categories by {group_label}",
)
st.plotly_chart(figure, key="failures:chart")

st.subheader(f"Categories × {group_label}")
if table is None:
    st.caption(
        f"More than {TOP_GROUPS} groups: the chart shows the {TOP_GROUPS} largest; choose a coarser grouping for the table."
    )
else:
    st.dataframe(table, hide_index=True, key="failures:table")

st.subheader("Rows")
shown = show_paged_frame(rows, key="failures:rows", page_size=50)
left, mid, right = st.columns([3, 1, 1])
if shown.height:
    pick = left.selectbox(
        "Open a row in the trajectory viewer",
        shown.get_column("trajectory_id").to_list(),
        key="failures:open_pick",
    )
    if left.button("Open", key="failures:open"):
        task = shown.filter(shown.get_column("trajectory_id") == pick).get_column("task_id")[0]
        open_in_viewer(task, pick)
mid.download_button(
    "CSV",
    partial(failures_download, paths, fingerprint, flt, "csv"),
    file_name="failures.csv",
    mime="text/csv",
    on_click="ignore",
    key="failures:csv",
)
right.download_button(
    "Parquet",
    partial(failures_download, paths, fingerprint, flt, "parquet"),
    file_name="failures.parquet",
    mime="application/vnd.apache.parquet",
    on_click="ignore",
    key="failures:parquet",
)
