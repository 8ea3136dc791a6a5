"""Every page of the app, run with Streamlit's AppTest over run folders the CLI produced."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from memex_audit.aggregator import AggregateTaskResult
from memex_audit.analysis._aggregate_summary import aggregate_accuracy_frame
from memex_audit.auditor import AuditReport
from memex_audit.runs import RunStore
from tests.app.conftest import APP_FILE, HOSTILE, PLANTED_ID, PLANTED_TASK, AppRuns

pytestmark = pytest.mark.timeout(240)


def _app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP_FILE), default_timeout=90)
    at.run()
    if page is not None:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _plotly_specs(at: AppTest) -> list[dict[str, Any]]:
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
    at.radio(key="metric").set_value("total_tokens").run()
    assert not at.exception


def test_overview_without_runs_says_how_to_start(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("MEMEX_AUDIT_RUNS", str(tmp_path))
    at = _app()
    assert any("memex-audit app" in i.value for i in at.info)
    assert any("no run folder here" in w.value for w in at.warning)


def _colors(spec: dict[str, Any]) -> dict[str, str]:
    return {t["name"]: t["marker"]["color"] for t in spec["data"]}


def test_failure_breakdown_groups_as_rows_filters_and_downloads(runs_env: AppRuns) -> None:
    at = _app("failures")
    reports = RunStore.read(runs_env.audit).read_results(AuditReport)
    # default: the failed rollouts, one row each (all audited here), one taxonomy
    assert _metric(at, "Rows") == str(len(reports))
    table = at.dataframe[0].value
    assert list(table.columns[:2]) == ["harness", "rows"], "the groups are the table's rows"
    assert table["rows"].sum() == len(reports)
    memex = sum(1 for r in reports if r.harness == "memex")
    assert table.set_index("harness").loc["memex", "rows"] == memex
    categories = [c for c in table.columns if c not in ("harness", "rows")]
    assert (table[categories].sum(axis=1) == table["rows"]).all()
    spec = _plotly_specs(at)[0]
    assert {trace["name"] for trace in spec["data"]} == set(categories)
    by_harness = _colors(spec)

    at.multiselect(key="harness").set_value(["memex"]).run()
    assert _metric(at, "Rows") == str(memex)
    at.multiselect(key="outcome").set_value(["correct", "failed"]).run()
    table = at.dataframe[0].value
    assert "correct" in table.columns, "correct rollouts are counted beside the failures"
    at.selectbox(key="group").set_value("model").run()
    at.segmented_control(key="scale").set_value("percent").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["model"]) == ["qwen-3.6-27b"]
    assert table.drop(columns=["model", "rows"]).sum(axis=1).round().tolist() == [100.0]
    by_model = _colors(_plotly_specs(at)[0])
    shared = set(by_harness) & set(by_model)
    assert shared and all(by_harness[c] == by_model[c] for c in shared), "a category keeps its colour"
    for grouping, column in (("faulty agent", "faulty_agent"), ("step position", "position")):
        at.selectbox(key="group").set_value(grouping).run()
        assert not at.exception
        assert column in at.dataframe[0].value.columns
    assert set(at.dataframe[0].value["position"]) <= {"early", "middle", "late", "no step"}
    labels = {b.label for b in at.get("download_button")}  # type: ignore[union-attr]
    assert labels == {"Rows as CSV (with explanations and quotes)", "Rows as Parquet"}


def test_failure_breakdown_hides_unclassified_and_keeps_one_taxonomy(runs_env: AppRuns) -> None:
    at = _app("failures")
    assert at.selectbox(key="taxonomy").value == "memex"
    at.toggle(key="hide_unclassified").set_value(True).run()
    assert not at.exception
    names = {trace["name"] for trace in _plotly_specs(at)[0]["data"]}
    assert "unclassified" not in names
    assert "unclassified" not in at.dataframe[0].value.columns


def test_viewer_opens_at_the_step_in_the_url_and_warns_about_unknown_ids(runs_env: AppRuns) -> None:
    reports = RunStore.read(runs_env.audit).read_results(AuditReport)
    report = next(r for r in reports if r.evidence)
    at = AppTest.from_file(str(APP_FILE), default_timeout=90)
    at.query_params.update({"task": report.task_id, "rollout": report.trajectory.id, "step": "2"})
    at.switch_page("views/trajectories.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="task").value == report.task_id
    assert at.selectbox(key="rollout").value == report.trajectory.id
    assert at.number_input(key="step").value == 2
    scripts = [h.proto.body for h in at.get("html") if "scrollIntoView" in h.proto.body]
    assert scripts and "viewer-left-step-2" in scripts[0], "the page scrolls to the step"

    at = AppTest.from_file(str(APP_FILE), default_timeout=90)
    at.query_params.update({"task": "no-such-task"})
    at.switch_page("views/trajectories.py").run()
    assert not at.exception
    shown = [w.value.replace("\\", "") for w in at.warning]
    assert any("no-such-task" in w and "not in the loaded runs" in w for w in shown), shown


def test_viewer_shows_hostile_output_as_text(runs_env: AppRuns) -> None:
    at = _app("trajectories")
    at.selectbox(key="task").set_value(PLANTED_TASK).run()
    at.selectbox(key="rollout").set_value(PLANTED_ID).run()
    assert not at.exception
    shown = [c.value for c in at.code]
    assert any(HOSTILE in text for text in shown), "the tool output is shown verbatim, as code"
    rendered = [m.value for m in at.markdown] + [c.value for c in at.caption]
    assert rendered
    for text in rendered:
        assert re.search(r"(?<!\\)<(script|img)", text) is None, text
        assert "](javascript:" not in text, text


def test_viewer_marks_evidence_at_the_cited_step_beside_a_correct_sibling(runs_env: AppRuns) -> None:
    reports = RunStore.read(runs_env.audit).read_results(AuditReport)
    report = next(r for r in reports if r.evidence)
    at = _app("trajectories")
    at.selectbox(key="task").set_value(report.task_id).run()
    at.selectbox(key="rollout").set_value(report.trajectory.id).run()
    assert not at.exception
    # the verdict comes first, and its evidence steps are links
    link = at.button(key="viewer-left:report:0:evidence:0")
    assert link.proto.type == "tertiary" and link.label.startswith(f"step {report.evidence[0].step}")
    link.click().run()
    assert not at.exception
    assert at.number_input(key="step").value == report.evidence[0].step
    marked = [h.proto.body for h in at.get("html") if "<mark" in h.proto.body]
    assert marked, "the evidence quote is highlighted, in a monospace excerpt"
    assert any(m.value.startswith("**Evidence**") for m in at.markdown)
    sibling = at.selectbox(key="sibling").value
    assert sibling is not None and sibling != report.trajectory.id
    answers = [c for c in at.caption if c.value == "final answer"]
    assert len(answers) == 2, "the rollout and its sibling are shown side by side"
    assert not any("ground truth" in c.value and "None" in c.value for c in at.caption)
    at.toggle(key="side").set_value(False).run()
    assert not at.exception


def test_a_positional_guess_is_marked_as_a_guess() -> None:
    from memex_audit.app._render import StepMarks
    from memex_audit.app._verdicts import attribution_of
    from memex_audit.auditor import Producer
    from memex_audit.trajectory import TrajectoryRef

    def report(primary: str, attribution: str | None) -> AuditReport:
        return AuditReport(
            primary=primary,
            faulty_step=3,
            attribution=attribution,
            explanation="x",
            confidence=0.1,
            trajectory=TrajectoryRef(id="t", task_id="k"),
            taxonomy="memex",
            producer=Producer(kind="offline", name="offline-signals/1"),
        )

    assert attribution_of(report("unclassified", "guess")) == "guess"
    assert attribution_of(report("unclassified", None)) == "guess", "older reports: unclassified is a guess"
    assert attribution_of(report("unclassified", "finding")) == "finding"
    marks = StepMarks.of([report("unclassified", "guess")])
    assert marks.guessed == {3} and not marks.faulty


def test_best_of_n_accuracy_scaling_cases_and_votes(runs_env: AppRuns) -> None:
    results = RunStore.read(runs_env.aggregate).read_results(AggregateTaskResult)
    at = _app("best_of_n")
    accuracy = at.dataframe[0].value
    expected = aggregate_accuracy_frame(results).to_pandas()
    assert list(accuracy["policy"]) == list(expected["policy"])
    specs = _plotly_specs(at)
    assert any(spec["layout"]["title"]["text"] == "Accuracy as N grows" for spec in specs)
    assert at.selectbox(key="policy").value == "verifier"
    cases = at.multiselect(key="cases")
    at.selectbox(key="b_task").set_value(results[0].task_id).run()
    assert not at.exception
    votes = next(d.value for d in at.dataframe if "rollout_id" in d.value.columns)
    assert len(votes) == results[0].n_rollouts, "every rollout of the task is listed"
    assert votes["returned"].sum() == 1
    assert set(votes["label"]) <= set("ABCDEFGH"), "answers get short labels"
    assert any("ground truth" in m.value for m in at.markdown)
    vote_chart = next(s for s in _plotly_specs(at) if "Votes per answer" in s["layout"]["title"]["text"])
    ticks = {x for trace in vote_chart["data"] for x in trace["x"]}
    assert ticks <= set("ABCDEFGH"), "the chart's axis shows the short labels"
    for kind in ("rescue", "harm"):
        if kind in cases.options:
            at.multiselect(key="cases").set_value([kind]).run()
            assert set(at.dataframe[1].value["case"]) == {kind}


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


def test_viewer_task_picker_filters(runs_env: AppRuns) -> None:
    at = _app("trajectories")
    assert len(at.selectbox(key="task").options) == 8 + 6
    at.text_input(key="find").set_value("officeqa").run()
    assert len(at.selectbox(key="task").options) == 8
    at.text_input(key="find").set_value("officeqa-005").run()
    assert at.selectbox(key="task").value == "officeqa-005"
    assert len(at.selectbox(key="task").options) == 1
    at.text_input(key="find").set_value("").run()
    at.multiselect(key="v_harness").set_value(["tool_calling"]).run()
    assert 0 < len(at.selectbox(key="task").options) <= 8 + 6
    at.multiselect(key="v_harness").set_value([]).run()
    at.text_input(key="find").set_value("no such task").run()
    assert any("No task matches" in i.value for i in at.info)
    assert not at.exception


def test_search_finds_text_inside_transcripts(runs_env: AppRuns) -> None:
    at = AppTest.from_file(str(APP_FILE), default_timeout=90)
    at.query_params["q"] = "<script>document.title"
    at.switch_page("views/search.py").run()
    assert not at.exception, [e.value for e in at.exception]
    links = [b for b in at.button if (b.key or "").startswith("search:hit:")]
    assert links and all(PLANTED_ID.replace("-", "\\-") in b.label for b in links)
    assert any("step 3" in b.label for b in links), "the hit names the step that holds the text"
    next(b for b in links if "step 3" in b.label).click().run()
    assert not at.exception
    assert at.title[0].value == "Trajectory viewer"
    assert at.selectbox(key="rollout").value == PLANTED_ID
    assert at.number_input(key="step").value == 3


def test_search_takes_any_text_and_says_when_a_regex_is_bad(runs_env: AppRuns) -> None:
    at = _app("search")
    at.text_input(key="q").set_value("[unclosed").run()
    assert not at.exception and not at.error, "a literal search takes any text"
    at.toggle(key="regex").set_value(True).run()
    assert any("regular expression" in e.value for e in at.error)
