"""Rendering pieces: long outputs collapsed and paged, the filtered table downloaded as it is."""

from __future__ import annotations

import io
from dataclasses import astuple

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from memex_audit.analysis._queries import FailureFilter
from memex_audit.app import discover_runs, run_fingerprint
from memex_audit.app._state import failures_download
from tests.app.conftest import AppRuns


def _long_step_app() -> None:
    from memex_audit.app._render import render_step
    from memex_audit.trajectory import Step

    lines = "\n".join(f"row {i}: <td>{i * 7}</td>" for i in range(2000))
    render_step(Step(index=5, role="tool", tool_name="read_table", output=lines), key="t")
    render_step(Step(index=6, role="assistant", text="short reply"), key="u")


def test_a_long_output_is_collapsed_and_paged() -> None:
    at = AppTest.from_function(_long_step_app)
    at.run()
    assert not at.exception
    assert len(at.expander) == 1 and "characters" in at.expander[0].label
    pager = at.number_input(key="t:0:page")
    pages = int(pager.max or 0)
    assert pages > 5
    first = at.expander[0].code[0].value
    assert first.startswith("row 0: <td>0</td>") and len(first) <= 4000
    pager.set_value(pages).run()
    last = at.expander[0].code[0].value
    assert last.rstrip().endswith("row 1999: <td>13993</td>")
    assert "short reply" in [c.value for c in at.code], "short text is shown as is"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_downloads_hold_the_filtered_rows(app_runs: AppRuns, fmt: str) -> None:
    from memex_audit.app._state import filtered_failures

    paths = (str(app_runs.root),)
    fingerprint = run_fingerprint(discover_runs(paths).runs)
    flt = astuple(FailureFilter(harness=("tool_calling",), outcome=("failed",)))
    expected = filtered_failures(paths, fingerprint, flt)
    data = failures_download(paths, fingerprint, flt, fmt)
    got = pl.read_csv(io.BytesIO(data)) if fmt == "csv" else pl.read_parquet(io.BytesIO(data))
    assert got.height == expected.height > 0
    assert set(got["harness"]) == {"tool_calling"}
    assert got["trajectory_id"].to_list() == expected["trajectory_id"].to_list()
    assert {"explanation", "quotes"} <= set(got.columns), "each verdict with its explanation and quotes"
    assert got["explanation"].is_not_null().all()
    if fmt == "parquet":
        assert got.select(expected.columns).equals(expected)
