"""The app's view of its runs: which folders to show, loaded once and cached across reruns.

The run folders come from the command line (``streamlit run apps/streamlit_app.py -- RUN_DIR...``)
and from ``MEMEX_AUDIT_RUNS``. The workspace is cached with ``st.cache_resource``: it holds every
loaded trajectory, which ``st.cache_data`` would copy (pickle) on every rerun; pages treat it as
read-only. Queries over it are small and cached with ``st.cache_data``. Both caches are keyed on the
runs' paths and on their files' sizes and times as the session loaded them: a page left open keeps
its data while a run grows, and is offered the new results (``new_results_waiting``).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import io
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import streamlit as st

from memex_audit.analysis import FailureFilter, category_counts, category_order, filter_failures, group_table
from memex_audit.app._discovery import discover_runs, paths_from_env, run_fingerprint
from memex_audit.app._search import compile_query, search_steps
from memex_audit.app._workspace import Workspace, load_workspace

Fingerprint = tuple[tuple[str, int, int], ...]


def requested_paths(argv: Sequence[str] | None = None, app_file: str | None = None) -> list[str]:
    """Run paths from the command line after ``--`` (when the app file is the program) and the env.

    Under ``streamlit run app.py -- A B`` the script sees ``sys.argv == [app.py, A, B]``; anywhere
    else (a test runner, say) ``sys.argv`` is someone else's and is ignored.
    """
    argv = list(sys.argv if argv is None else argv)
    from_args: list[str] = []
    if argv and app_file is not None and Path(argv[0]).resolve() == Path(app_file).resolve():
        from_args = [a for a in argv[1:] if not a.startswith("-")]
    return from_args + [p for p in paths_from_env() if p not in from_args]


@st.cache_resource(show_spinner="Reading runs and trajectories…", max_entries=2)
def _workspace(paths: tuple[str, ...], fingerprint: Fingerprint) -> Workspace:
    del fingerprint  # part of the cache key only
    return load_workspace(discover_runs(paths))


_KEY = "_memex_key"


def _live_key() -> tuple[tuple[str, ...], Fingerprint]:
    app_file = st.session_state.get("_memex_app_file")
    paths = tuple(requested_paths(app_file=app_file))
    return paths, run_fingerprint(discover_runs(paths).runs)


def current_key() -> tuple[tuple[str, ...], Fingerprint]:
    """The run paths and fingerprint this session shows: the key of every cached load and query.

    A session keeps the data it loaded while runs grow (a reload of 100k results takes seconds, and
    a run in progress changes on every rerun); ``new_results_waiting`` tells when to offer a reload.
    """
    live = _live_key()
    pinned = st.session_state.get(_KEY)
    if pinned is None or pinned[0] != live[0]:
        st.session_state[_KEY] = pinned = live
    return pinned


def new_results_waiting() -> bool:
    """Whether the run folders changed since this session loaded them."""
    return bool(current_key() != _live_key())


def load_new_results() -> None:
    """Show the run folders as they are now (the older cached load is evicted in time)."""
    st.session_state[_KEY] = _live_key()


def current_workspace() -> Workspace:
    """The cached workspace of the current runs."""
    return _workspace(*current_key())


def clear_caches() -> None:
    """Forget every cached load and query, and read the run folders again.

    The parsed rollout files stay in their process-wide memo (``_rollouts``) and are reused when
    unchanged, so a reload does not hold a second copy of them; what is dropped is collected and
    its memory handed back to the system.
    """
    st.cache_resource.clear()
    st.cache_data.clear()
    st.session_state.pop(_KEY, None)
    release_memory()


def release_memory() -> None:
    """Collect garbage and return freed heap pages to the system (glibc ``malloc_trim``)."""
    gc.collect()
    # Not glibc: nothing to trim, the process reuses the memory instead.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# -- cached queries -------------------------------------------------------------------------------------
# Keyed on the paths and fingerprint (not the workspace object, which is not hashable cheaply).


def _filter_from(values: tuple[tuple[str, ...], ...]) -> FailureFilter:
    return FailureFilter(*values)


@st.cache_data(max_entries=32, show_spinner=False)
def filtered_failures(
    paths: tuple[str, ...], fingerprint: Fingerprint, flt: tuple[tuple[str, ...], ...]
) -> pl.DataFrame:
    """``failure_frame`` rows passing the filter (a ``FailureFilter`` as a tuple)."""
    return filter_failures(_workspace(paths, fingerprint).failures, _filter_from(flt))


@st.cache_data(max_entries=32, show_spinner=False)
def failure_breakdown(
    paths: tuple[str, ...],
    fingerprint: Fingerprint,
    flt: tuple[tuple[str, ...], ...],
    by: str,
    top: int,
    hide: tuple[str, ...] = (),
    percent: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """For the filtered rows (without the categories in ``hide``): ``category_counts`` by ``by`` (its
    ``top`` largest groups), the ``group_table`` (groups as rows), and the category order."""
    ws = _workspace(paths, fingerprint)
    frame = filter_failures(ws.failures, _filter_from(flt)).with_columns(
        pl.col(by).cast(pl.String).fill_null("?")
    )
    if hide:
        frame = frame.filter(~pl.col("primary").is_in(list(hide)))
    order = category_order(frame, ws.taxonomy_ids)
    groups = frame.group_by(by).len().sort(["len", by], descending=[True, False])
    kept = groups.head(top).get_column(by)
    counts = category_counts(frame.filter(pl.col(by).is_in(kept.implode())), by)
    return counts, group_table(frame, by, order, percent=percent), order


@st.cache_data(max_entries=16, show_spinner="Searching the transcripts…")
def search_hits(
    paths: tuple[str, ...],
    fingerprint: Fingerprint,
    query: str,
    regex: bool,
    case_sensitive: bool,
    limit: int,
) -> tuple[pl.DataFrame, bool, str | None]:
    """Hits of ``query`` in every loaded rollout (see ``search_steps``), whether some were left out,
    and the problem with the query when it is not a valid regular expression."""
    try:
        pattern = compile_query(query, regex=regex, case_sensitive=case_sensitive)
    except re.error as exc:
        return pl.DataFrame(), False, f"not a valid regular expression: {exc}"
    hits, more = search_steps(_workspace(paths, fingerprint).trajectories, pattern, limit=limit)
    return hits, more, None


@st.cache_data(max_entries=8, show_spinner="Preparing the download…")
def failures_download(
    paths: tuple[str, ...], fingerprint: Fingerprint, flt: tuple[tuple[str, ...], ...], fmt: str
) -> bytes:
    """The filtered rows as ``csv`` or ``parquet`` bytes, each verdict with its explanation and the
    evidence quotes (``step N: quote``, separated by `` | ``)."""
    frame = filtered_failures(paths, fingerprint, flt)
    ws = _workspace(paths, fingerprint)
    texts = [
        results.explanations().with_columns(pl.lit(name).alias("run")) for name, results in ws.audits.items()
    ]
    if texts:
        frame = frame.join(pl.concat(texts), on=["run", "trajectory_id"], how="left")
    buffer = io.BytesIO()
    if fmt == "csv":
        frame.write_csv(buffer)
    else:
        frame.write_parquet(buffer)
    return buffer.getvalue()


VIEWER_PAGE = "views/trajectories.py"


def viewer_params(task_id: str, trajectory_id: str | None = None, step: int | None = None) -> dict[str, str]:
    """The query string of the viewer showing a rollout of a task, at a step."""
    params = {"task": task_id}
    if trajectory_id:
        params["rollout"] = trajectory_id
    if step is not None:
        params["step"] = str(step)
    return params


def open_in_viewer(task_id: str, trajectory_id: str | None = None, step: int | None = None) -> None:
    """Switch to the trajectory viewer showing ``trajectory_id`` of ``task_id`` at ``step``."""
    st.switch_page(VIEWER_PAGE, query_params=viewer_params(task_id, trajectory_id, step))
