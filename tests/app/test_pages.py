"""Every page of the app, run with Streamlit's AppTest over run folders the CLI produced."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from memex_audit.aggregator import AggregateTaskResult
from memex_audit.auditor import AuditReport
from memex_audit.results import RunStore
from memex_audit.results._aggregate_summary import aggregate_accuracy_frame
from tests.app.conftest import APP_FILE, HOSTILE, PLANTED_ID, PLANTED_TASK, AppRuns

pytestmark = pytest.mark.timeout(240)


def _app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP_FILE), default_timeout=90)
    at.run()
    if page is not None:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _plotly_specs(at: AppTest) -> list[dict[str, object]]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_overview_counts_runs_trajectories_and_failure_rate(runs_env: AppRuns) -> None:
    at = _app()
    assert at.title[0].value == "Overview"
    runs = at.dataframe[0].value
    assert sorted(runs["kind"]) == ["aggregate", "audit"]
    audited = len(RunStore.read(runs_env.audit).read_results(AuditReport))
    assert runs.set_index("kind").loc["audit", "results"] == audited
    assert _metric(at, "Trajectories") == str(8 * 6 + 6 * 8)
    assert _metric(at, "Audited") == str(audited)
    usage = at.dataframe[1].value
    assert set(usage["harness"]) == {"memex", "tool_calling"}
    assert usage["trajectories"].sum() == 96
    assert (usage["cost_usd"] > 0).all(), "the samples model a cost for every rollout"
    assert len(_plotly_specs(at)) == 2
    at.radio(key="overview:metric").set_value("total_tokens").run()
    assert not at.exception


def test_overview_without_runs_says_how_to_start(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("MEMEX_AUDIT_RUNS", str(tmp_path))
    at = _app()
    assert any("memex-audit app" in i.value for i in at.info)
    assert any("no run folder here" in w.value for w in at.warning)


def test_failure_breakdown_table_filters_and_downloads(runs_env: AppRuns) -> None:
    at = _app("failures")
    reports = RunStore.read(runs_env.audit).read_results(AuditReport)
    # default: the failed rollouts, one row each (all audited here)
    assert _metric(at, "Rows") == str(len(reports))
    table = at.dataframe[0].value
    total = table.set_index("category").loc["total"]
    assert total["total n"] == len(reports)
    memex = sum(1 for r in reports if r.harness == "memex")
    assert total["memex n"] == memex
    first = table.iloc[0]
    assert first["total %"] == pytest.approx(100.0 * first["total n"] / len(reports), abs=0.1)
    spec = _plotly_specs(at)[0]
    assert {trace["name"] for trace in spec["data"]} <= set(table["category"])

    at.multiselect(key="failures:filter:harness").set_value(["memex"]).run()
    assert _metric(at, "Rows") == str(memex)
    at.multiselect(key="failures:filter:outcome").set_value(["correct", "failed"]).run()
    table = at.dataframe[0].value
    assert "correct" in set(table["category"]), "correct rollouts are counted beside the failures"
    at.selectbox(key="failures:group_by").set_value("model").run()
    at.radio(key="failures:barmode").set_value("grouped").run()
    at.radio(key="failures:scale").set_value("percent").run()
    assert not at.exception
    assert list(at.dataframe[0].value.columns) == [
        "category",
        "qwen-3.6-27b n",
        "qwen-3.6-27b %",
        "total n",
        "total %",
    ]
    labels = {b.label for b in at.get("download_button")}
    assert labels == {"CSV", "Parquet"}


def test_failure_breakdown_opens_a_row_in_the_viewer(runs_env: AppRuns) -> None:
    at = _app("failures")
    pick = at.selectbox(key="failures:open_pick").value
    at.button(key="failures:open").click().run()
    assert at.title[0].value == "Trajectory viewer"
    assert at.selectbox(key="viewer:trajectory").value == pick


def test_viewer_shows_hostile_output_as_text(runs_env: AppRuns) -> None:
    at = _app("trajectories")
    at.selectbox(key="viewer:task").set_value(PLANTED_TASK).run()
    at.selectbox(key="viewer:trajectory").set_value(PLANTED_ID).run()
    assert not at.exception
    shown = [c.value for c in at.code]
    assert any(HOSTILE in text for text in shown), "the tool output is shown verbatim, as code"
    rendered = [m.value for m in at.markdown] + [c.value for c in at.caption]
    for text in rendered:
        assert re.search(r"(?<!\\)<(script|img)", text) is None, text
        assert "](javascript:" not in text, text


def test_viewer_marks_evidence_at_the_cited_step_beside_a_correct_sibling(runs_env: AppRuns) -> None:
    reports = RunStore.read(runs_env.audit).read_results(AuditReport)
    report = next(r for r in reports if r.evidence)
    at = _app("trajectories")
    at.selectbox(key="viewer:task").set_value(report.task_id).run()
    at.selectbox(key="viewer:trajectory").set_value(report.trajectory.id).run()
    assert not at.exception
    marked = [m.value for m in at.markdown if ":orange-background[" in m.value]
    assert marked, "the evidence quote is highlighted"
    assert any(m.value.startswith("**Evidence**") for m in at.markdown)
    sibling = at.selectbox(key="viewer:sibling").value
    assert sibling is not None and sibling != report.trajectory.id
    answers = [c for c in at.caption if c.value == "final answer"]
    assert len(answers) == 2, "the rollout and its sibling are shown side by side"
    at.toggle(key="viewer:side_by_side").set_value(False).run()
    assert not at.exception


def test_best_of_n_accuracy_scaling_cases_and_votes(runs_env: AppRuns) -> None:
    results = RunStore.read(runs_env.aggregate).read_results(AggregateTaskResult)
    at = _app("best_of_n")
    accuracy = at.dataframe[0].value
    expected = aggregate_accuracy_frame(results).to_pandas()
    assert list(accuracy["policy"]) == list(expected["policy"])
    specs = _plotly_specs(at)
    assert any(spec["layout"]["title"]["text"] == "Accuracy as N grows" for spec in specs)
    assert at.selectbox(key="bon:policy").value == "verifier"
    cases = at.multiselect(key="bon:cases")
    at.selectbox(key="bon:task").set_value(results[0].task_id).run()
    votes = at.dataframe[-1].value
    assert len(votes) == results[0].n_rollouts
    assert votes["returned"].sum() == 1
    captions = [c.value for c in at.caption]
    assert any(c.startswith("ground truth") for c in captions)
    for kind in ("rescue", "harm"):
        if kind in cases.options:
            at.multiselect(key="bon:cases").set_value([kind]).run()
            assert set(at.dataframe[1].value["case"]) == {kind}
    at.button(key="bon:open").click().run()
    assert at.title[0].value == "Trajectory viewer"


def test_new_results_are_offered_not_forced_on_an_open_page(
    app_runs: AppRuns, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"
    shutil.copytree(app_runs.root, runs)
    monkeypatch.setenv("MEMEX_AUDIT_RUNS", str(runs))
    at = _app()
    audited = int(_metric(at, "Audited"))
    store = RunStore.read(runs / "audit")
    report = store.read_results(AuditReport)[0]
    store.append_result(
        "extra",
        report.model_copy(update={"trajectory": report.trajectory.model_copy(update={"id": "extra"})}),
    )
    at.run()
    assert int(_metric(at, "Audited")) == audited, "the page keeps the data it loaded"
    assert any("new results" in i.value for i in at.sidebar.info)
    at.sidebar.button(key="sidebar:load_new").click().run()
    assert int(_metric(at, "Audited")) == audited + 1
    assert not at.sidebar.info


def test_viewer_task_search_narrows_the_picker(runs_env: AppRuns) -> None:
    at = _app("trajectories")
    assert len(at.selectbox(key="viewer:task").options) == 8 + 6
    at.text_input(key="viewer:find").set_value("officeqa").run()
    assert len(at.selectbox(key="viewer:task").options) == 8
    at.text_input(key="viewer:find").set_value("officeqa-005").run()
    assert at.selectbox(key="viewer:task").value == "officeqa-005"
    assert len(at.selectbox(key="viewer:task").options) == 1
    at.text_input(key="viewer:find").set_value("no such task").run()
    assert any("No task id" in i.value for i in at.info)
    assert not at.exception
