"""Overview: the runs loaded, trajectories, failure rate, and cost and tokens by model and harness."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from memex_audit.analysis._queries import outcome_totals, usage_by
from memex_audit.app._charts import CHART_CONFIG, plot_frame
from memex_audit.app._discovery import RUNS_ENV
from memex_audit.app._render import show_paged_frame
from memex_audit.app._state import current_workspace
from memex_audit.app._text import escape_markdown, plot_text

st.title("Overview")
ws = current_workspace()
for problem in ws.problems:
    st.warning(escape_markdown(problem))
if not ws.runs:
    st.info(
        "No run folders loaded. Start the app with `memex-audit app RUN_DIR...` or set "
        f"`{RUNS_ENV}` to run folders separated by `:`; create runs with `memex-audit audit` "
        "and `memex-audit aggregate`."
    )
    st.stop()

st.subheader("Runs")
st.dataframe(ws.runs_frame(), hide_index=True, key="overview:runs")
audit_cost = float(ws.audit_rows.get_column("cost_usd").fill_null(0.0).sum())

# The results above come from the run folders' index; the rollouts behind them load next.
with st.spinner("Loading the rollouts the runs read…"):
    table = ws.table
totals = outcome_totals(table)
cols = st.columns(5)
cols[0].metric("Trajectories", f"{totals['trajectories']:,}")
cols[1].metric("Tasks", f"{totals['tasks']:,}")
cols[2].metric("Failure rate", f"{totals['failure_rate']:.1%}", help="Failed over graded rollouts")
cols[3].metric("Audited", f"{ws.audit_rows.height:,}")
cols[4].metric("Audit cost", f"${audit_cost:,.4f}")

errors = ws.errors_frame()
if errors.height:
    with st.expander(f"{errors.height:,} errors recorded by the runs"):
        show_paged_frame(errors, key="overview:errors", page_size=50)

if table.height == 0:
    st.info("The rollouts these runs read could not be loaded from here: only results are shown.")
    st.stop()

st.subheader("By model and harness")
by = usage_by(table, ["model", "harness"])
st.dataframe(
    by,
    hide_index=True,
    key="overview:usage",
    column_config={
        "failure_rate": st.column_config.NumberColumn("failure rate", format="percent"),
        "cost_usd": st.column_config.NumberColumn("cost (USD)", format="$%.4f"),
        "mean_steps": st.column_config.NumberColumn("mean steps", format="%.1f"),
    },
)
shown = plot_frame(by, ["model", "harness"]).to_pandas()
left, right = st.columns(2)
left.plotly_chart(
    px.bar(shown, x="model", y="failure_rate", color="harness", barmode="group", title="Failure rate")
    .update_yaxes(tickformat=".0%")
    .update_xaxes(type="category"),
    key="overview:failure_chart",
    config=CHART_CONFIG,
)
metric = right.radio(
    "Show",
    ["cost_usd", "total_tokens", "input_tokens", "output_tokens"],
    horizontal=True,
    key="metric",
    bind="query-params",
)
right.plotly_chart(
    px.bar(
        shown,
        x="model",
        y=metric,
        color="harness",
        barmode="group",
        title=plot_text(metric.replace("_", " ")),
    ).update_xaxes(type="category"),
    key="overview:usage_chart",
    config=CHART_CONFIG,
)
if ws.load_errors:
    with st.expander(f"{len(ws.load_errors)} files or records could not be loaded"):
        st.code("\n".join(str(e) for e in ws.load_errors[:500]), language="text")
