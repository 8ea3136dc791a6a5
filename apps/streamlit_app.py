"""memex_audit's web app: failure breakdowns, trajectories, search and best-of-N over run folders.

Start it with ``memex-audit app RUN_DIR...``, or ``streamlit run apps/streamlit_app.py -- RUN_DIR...``,
or with the run folders in ``MEMEX_AUDIT_RUNS`` (separated by ``os.pathsep``).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from memex_audit.app._state import clear_caches, current_workspace, load_new_results, new_results_waiting
from memex_audit.app._text import escape_markdown

HERE = Path(__file__).resolve().parent

# The icon is a file served by the app itself: an emoji or material icon would be fetched elsewhere.
st.set_page_config(page_title="memex_audit", page_icon=str(HERE / "favicon.png"), layout="wide")
st.session_state["_memex_app_file"] = str(HERE / "streamlit_app.py")

pages = [
    st.Page(HERE / "views" / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page(
        HERE / "views" / "failures.py",
        title="Failure breakdown",
        icon=":material/bar_chart:",
        url_path="failures",
    ),
    st.Page(
        HERE / "views" / "trajectories.py",
        title="Trajectory viewer",
        icon=":material/timeline:",
        url_path="trajectories",
    ),
    st.Page(HERE / "views" / "search.py", title="Search", icon=":material/search:", url_path="search"),
    st.Page(
        HERE / "views" / "best_of_n.py",
        title="Best-of-N",
        icon=":material/how_to_vote:",
        url_path="best_of_n",
    ),
]
navigation = st.navigation(pages)

with st.sidebar:
    workspace = current_workspace()
    st.caption(f"{len(workspace.runs)} runs")
    for run in workspace.runs:
        st.caption(f"{run.kind} · {escape_markdown(run.name)}")
    if new_results_waiting():
        st.info("The run folders have new results.")
        if st.button("Load new results", key="sidebar:load_new", type="primary"):
            load_new_results()
            st.rerun()
    if st.button(
        "Reload runs", key="sidebar:reload", help="Forget everything cached and read the run folders again"
    ):
        clear_caches()
        st.rerun()

navigation.run()
