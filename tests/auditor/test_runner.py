"""The audit runner: offline audits through the agent loop, labels hidden, resume without duplicates,
the cost budget, and submit() feedback on evidence that does not check."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

from memex_audit.auditor import (
    OFFLINE_POLICY_NAME,
    AuditReport,
    AuditRunner,
    OfflineAuditPolicy,
    estimate_audit,
    plan_audit,
)
from memex_audit.llm import FunctionModel, LLMRequest, LLMResponse, ScriptedModel
from memex_audit.runs import RunStore
from memex_audit.taxonomy import load_taxonomy
from memex_audit.trajectory import Trajectory, Usage
from tests.factories import good_memex, memex_traj, tool_traj

MEMEX = load_taxonomy("memex")


def _collection() -> list[Trajectory]:
    """Two tasks: failures of several kinds beside correct siblings, with planted labels."""
    trajs: list[Trajectory] = [good_memex("a-good-1"), good_memex("a-good-2")]
    trajs.append(
        memex_traj(
            "a-wrong-bulletin",
            [
                ("print(search('public debt March 1944'))", "['bulletin-1944-04']"),
                ("t = read_table('bulletin-1944-04', 'FD-1')\nprint(t.loc['March'])", "total 3,522.7"),
            ],
            answer="3,522.7",
            label="source_selection",
        )
    )
    trajs.append(
        memex_traj(
            "a-format",
            [("print(read_table('bulletin-1944-03', 'FD-1'))", "total 3,501.2")],
            answer="3501.2",
            label="execution",
        )
    )
    trajs.append(
        tool_traj(
            "a-retyped",
            [
                ("read_table", {"doc": "bulletin-1944-03"}, "total 3,501.2"),
                ("calculate", {"expression": "3531.2 * 1"}, "3531.2"),
            ],
            answer="3531.2",
        )
    )
    for n in range(4):
        trajs.append(
            memex_traj(
                f"b-fail-{n}",
                [("print(read_table('bulletin-1950-01', 'FFO-1'))", f"receipts {100 + n}.0")],
                answer=f"{100 + n}.0",
                truth="250.0",
                task_id="officeqa-002",
                label="interpretation",
            )
        )
    return trajs


def _lines(run: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in (run / "results.jsonl").read_bytes().splitlines() if line.strip()]


def test_offline_audit_through_the_agent_loop(tmp_path: Path) -> None:
    trajs = _collection()
    store = RunStore.open(tmp_path / "run", kind="audit")
    outcome = AuditRunner(MEMEX, concurrency=3).run_sync(trajs, store)
    assert (outcome.audited, outcome.errors, outcome.skipped) == (7, 0, 0)
    reports = {r.trajectory.id: r for r in store.read_results(AuditReport)}
    assert set(reports) == {t.id for t in trajs if t.failed}
    assert reports["a-wrong-bulletin"].primary == "source_selection"
    assert reports["a-format"].primary == "execution"
    assert reports["a-retyped"].primary == "execution"
    assert reports["b-fail-0"].primary == "unclassified"
    assert "no offline signal fired" in reports["b-fail-0"].explanation
    by_id = {t.id: t for t in trajs}
    for report in reports.values():
        assert report.producer.name == OFFLINE_POLICY_NAME
        assert report.producer.kind == "offline"
        assert report.producer.cost_usd == 0.0
        assert report.producer.turns >= 1
        target = by_id[report.trajectory.id]
        for item in report.evidence:
            assert target.steps[item.step].contains(item.quote)
    runs = store.read_run_trajectories()
    assert len(runs) == 7
    assert all(r.model == OFFLINE_POLICY_NAME for r in runs)
    assert any("detect_signals" in (s.code or "") for s in runs[0].steps)
    assert all(r.usage.cost_usd == 0.0 for r in runs)  # the policy costs nothing (not "unknown")


def test_the_offline_policy_is_a_function_model_that_keeps_no_requests(tmp_path: Path) -> None:
    policy = OfflineAuditPolicy()
    assert isinstance(policy, FunctionModel) and policy.model == OFFLINE_POLICY_NAME
    store = RunStore.open(tmp_path / "run", kind="audit")
    outcome = AuditRunner(MEMEX, model=policy).run_sync(_collection(), store)
    assert outcome.audited == 7
    assert policy.requests == []  # one policy serves a whole run: its requests are not kept


@pytest.mark.slow
def test_the_auditor_never_sees_human_labels(tmp_path: Path) -> None:
    trajs = _collection()
    probe = (
        "```python\n"
        "print('labels seen:', sum(len(t.labels) for t in task.trajectories) + len(target.labels))\n"
        "submit({'primary': 'unclassified', 'explanation': 'probe', 'confidence': 0.0})\n"
        "```"
    )
    model = ScriptedModel([probe] * 7, model="probe")
    store = RunStore.open(tmp_path / "run", kind="audit")
    AuditRunner(MEMEX, model=model, concurrency=1).run_sync(trajs, store)
    runs = store.read_run_trajectories()
    assert len(runs) == 7
    for run in runs:
        text = "\n".join(s.searchable_text() for s in run.steps)
        assert "labels seen: 0" in text


def test_killed_run_resumes_and_audits_each_trajectory_once(tmp_path: Path) -> None:
    trajs = _collection()
    failed = {t.id for t in trajs if t.failed}
    run = tmp_path / "run"
    seen: list[str] = []

    class Crash(RuntimeError):
        pass

    def crash_after_three(key: str) -> None:
        seen.append(key)
        if len(seen) == 3:
            raise Crash("killed")

    with pytest.raises(Crash):
        AuditRunner(MEMEX, concurrency=2, after_result=crash_after_three).run_sync(
            trajs, RunStore.open(run, kind="audit")
        )
    first = {line["key"] for line in _lines(run)}
    assert 3 <= len(first) < len(failed)
    outcome = AuditRunner(MEMEX, concurrency=2).run_sync(trajs, RunStore.open(run, kind="audit"))
    assert outcome.skipped == len(first)
    keys = Counter(str(line["key"]) for line in _lines(run))
    assert set(keys) == failed
    assert all(n == 1 for n in keys.values()), keys
    again = AuditRunner(MEMEX).run_sync(trajs, RunStore.open(run, kind="audit"))
    assert (again.audited, again.skipped) == (0, len(failed))


@pytest.mark.slow
def test_cost_budget_stops_new_audits(tmp_path: Path) -> None:
    def priced(request: LLMRequest) -> LLMResponse:
        return LLMResponse(
            text="```python\nsubmit({'primary': 'unclassified', 'explanation': 'priced probe', 'confidence': 0.0})\n```",
            usage=Usage(input_tokens=1000, output_tokens=100, cost_usd=0.01),
            model="priced",
        )

    trajs = _collection()
    store = RunStore.open(tmp_path / "run", kind="audit")
    outcome = AuditRunner(
        MEMEX,
        model=FunctionModel(priced, model="priced"),
        concurrency=1,
        max_cost_usd=0.025,
        allow_unpriced=True,
    ).run_sync(trajs, store)
    assert outcome.stopped == "budget"
    assert outcome.audited == 3
    assert outcome.remaining == 4
    assert outcome.cost_usd == pytest.approx(0.03)
    reports = store.read_results(AuditReport)
    assert all(r.producer.kind == "llm" and r.producer.cost_usd == pytest.approx(0.01) for r in reports)


def test_submit_rejects_a_quote_that_is_not_at_the_step(tmp_path: Path) -> None:
    bad = (
        "```python\nsubmit({'primary': 'execution', 'evidence': [{'step': 2, 'quote': 'this text is nowhere'}], "
        "'explanation': 'x', 'confidence': 0.5})\n```"
    )
    good = (
        "```python\nsubmit({'primary': 'execution', 'evidence': [{'step': 2, 'quote': 'total 3,501.2'}], "
        "'faulty_step': 3, 'explanation': 'formatted wrongly', 'confidence': 0.6})\n```"
    )
    model = ScriptedModel([bad, good], model="scripted")
    target = memex_traj(
        "fmt", [("print(read_table('bulletin-1944-03', 'FD-1'))", "total 3,501.2")], answer="3501.2"
    )
    store = RunStore.open(tmp_path / "run", kind="audit")
    outcome = AuditRunner(MEMEX, model=model).run_sync([target], store)
    assert outcome.audited == 1
    (report,) = store.read_results(AuditReport)
    assert report.evidence[0].quote == "total 3,501.2"
    assert report.producer.turns == 2
    second_request = model.requests[1]
    assert "does not occur in step 2" in second_request.messages[-1].text()


def test_dry_run_estimate(tmp_path: Path) -> None:
    units, not_failed = plan_audit(_collection())
    assert (len(units), not_failed) == (7, 2)
    offline = estimate_audit(units, MEMEX, OfflineAuditPolicy(), done={"b-fail-0"}, not_failed=not_failed)
    assert (offline.to_audit, offline.already_done, offline.cost_usd) == (6, 1, 0.0)
    priced = estimate_audit(units, MEMEX, ScriptedModel([], model="claude-sonnet-4-6"))
    assert priced.input_tokens > priced.output_tokens > 0
    assert priced.cost_usd is not None and priced.cost_usd > 0
    assert estimate_audit(units, MEMEX, ScriptedModel([], model="unknown-model")).cost_usd is None


def test_an_llm_auditor_explores_with_the_scope_helpers(tmp_path: Path) -> None:
    explore = (
        "```python\n"
        "cmp = compare_sources(target, task.trajectories)\n"
        "print(cmp.missing, cmp.extra)\n"
        "print(search_steps(target, 'bulletin-1944-04')[0].step)\n"
        "```"
    )
    submit_block = (
        "```python\n"
        "step = cmp.extra['bulletin-1944-04']\n"
        "submit({'primary': 'source_selection', 'evidence': [{'step': step, 'quote': 'bulletin-1944-04'}], "
        "'faulty_step': step, 'explanation': 'read the April bulletin; the correct siblings read March', "
        "'confidence': 0.8})\n"
        "```"
    )
    model = ScriptedModel([explore, submit_block], model="claude-sonnet-4-6")
    trajs = [t for t in _collection() if t.id in {"a-good-1", "a-good-2", "a-wrong-bulletin"}]
    store = RunStore.open(tmp_path / "run", kind="audit")
    AuditRunner(MEMEX, model=model).run_sync(trajs, store)
    (report,) = store.read_results(AuditReport)
    assert (report.primary, report.faulty_step, report.producer.kind) == ("source_selection", 3, "llm")
    assert report.producer.name == "claude-sonnet-4-6" and report.producer.turns == 2
    first = model.requests[0]
    assert "Source Selection" in first.system + first.messages[0].text()  # the taxonomy is in the prompt
    assert "bulletin-1944-03" in model.requests[1].messages[-1].text()  # the observation of the first block


@pytest.mark.slow
def test_offline_audit_in_the_subprocess_kernel(tmp_path: Path) -> None:
    trajs = [t for t in _collection() if t.task_id == "officeqa-001"]
    store = RunStore.open(tmp_path / "run", kind="audit")
    outcome = AuditRunner(MEMEX, kernel="subprocess", concurrency=2).run_sync(trajs, store)
    assert (outcome.audited, outcome.errors) == (3, 0), store.read_errors()
    reports = {r.trajectory.id: r.primary for r in store.read_results(AuditReport)}
    assert reports == {
        "a-wrong-bulletin": "source_selection",
        "a-format": "execution",
        "a-retyped": "execution",
    }
