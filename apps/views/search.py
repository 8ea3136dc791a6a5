"""Search inside the transcripts of every loaded rollout (text, reasoning, code, tool calls, outputs,
errors); each hit names its trajectory and step, and selecting it opens the viewer at that step."""

from __future__ import annotations

import polars as pl
import streamlit as st

from memex_audit.app._state import current_key, current_workspace, open_in_viewer, search_hits
from memex_audit.app._text import escape_markdown

LIMIT = 2000
PAGE = 25


def open_hit(task_id: str, trajectory_id: str, step: int) -> None:
    st.session_state["_open_hit"] = (task_id, trajectory_id, step)


st.title("Search")
hit = st.session_state.pop("_open_hit", None)
if hit is not None:
    open_in_viewer(*hit)
ws = current_workspace()
paths, fingerprint = current_key()
cols = st.columns([4, 1, 1])
query = cols[0].text_input(
    "Search the transcripts",
    key="q",
    bind="query-params",
    placeholder="e.g. FieldError, a tool name, a number",
)
regex = cols[1].toggle("Regular expression", key="regex", bind="query-params")
case_sensitive = cols[2].toggle("Match case", key="case", bind="query-params")
if not query:
    st.caption(
        "Searches every step of every loaded rollout: messages, reasoning, code, tool calls, outputs and errors."
    )
    st.stop()

with st.spinner("Loading the rollouts the runs read…"):
    table = ws.table
hits, more, problem = search_hits(paths, fingerprint, query, regex, case_sensitive, LIMIT)
if problem:
    st.error(escape_markdown(problem))
    st.stop()
if hits.height == 0:
    st.info("No step of the loaded rollouts matches.")
    st.stop()

filters = st.columns(3)
outcomes = filters[0].multiselect(
    "Outcome", sorted(hits.get_column("outcome").unique().to_list()), key="s_outcome", bind="query-params"
)
wheres = filters[1].multiselect(
    "Found in",
    sorted(hits.get_column("where").str.replace(r"^tool call .*", "tool call").unique().to_list()),
    key="s_where",
    bind="query-params",
)
roles = filters[2].multiselect(
    "Role", sorted(hits.get_column("role").unique().to_list()), key="s_role", bind="query-params"
)
shown = hits
if outcomes:
    shown = shown.filter(pl.col("outcome").is_in(outcomes))
if wheres:
    shown = shown.filter(pl.col("where").str.replace(r"^tool call .*", "tool call").is_in(wheres))
if roles:
    shown = shown.filter(pl.col("role").is_in(roles))
trajectories = shown.get_column("trajectory_id").n_unique()
st.caption(
    f"{shown.height:,} hits in {trajectories:,} rollouts"
    + (f" (the search stopped at {LIMIT:,} hits: narrow it)" if more else "")
    + " · click a hit to open the viewer at its step"
)
pages = max(1, -(-shown.height // PAGE))
page = 1
if pages > 1:
    page = int(st.number_input(f"page (of {pages})", min_value=1, max_value=pages, value=1, key="s_page"))
for n, row in enumerate(shown.slice((page - 1) * PAGE, PAGE).iter_rows(named=True)):
    with st.container(border=True):
        st.button(
            escape_markdown(f"{row['trajectory_id']} · step {row['step']} · {row['where']}"),
            key=f"search:hit:{n}",
            type="tertiary",
            icon=":material/arrow_forward:",
            on_click=open_hit,
            args=(row["task_id"], row["trajectory_id"], row["step"]),
            help="Open the trajectory viewer at this step",
        )
        st.caption(
            escape_markdown(
                f"{row['outcome']} · {row['role']}" + (f" · {row['agent']}" if row["agent"] else "")
            )
        )
        st.code(row["snippet"], language="text", wrap_lines=True)
st.download_button(
    "Hits as CSV",
    shown.write_csv(),
    file_name="search_hits.csv",
    mime="text/csv",
    on_click="ignore",
    key="search:csv",
)
