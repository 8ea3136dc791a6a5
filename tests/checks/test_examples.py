"""The example checks shipped in ``checks/``, each on a rollout that shows what it looks for."""

from __future__ import annotations

import itertools
from pathlib import Path

import orjson

from memex_audit.checks import Finding, check_trajectory, load_checks
from memex_audit.loaders import load
from memex_audit.trajectory import Step, TaskGroup, ToolCall, Trajectory

ROOT = Path(__file__).parents[2]
CHECKS = {c.name: c for c in load_checks([ROOT / "checks"])}
FIXTURES = ROOT / "tests" / "loaders" / "fixtures"


def _run(name: str, trajectory: Trajectory) -> list[Finding]:
    report = check_trajectory(
        trajectory, TaskGroup(task_id=trajectory.task_id, trajectories=[trajectory]), [CHECKS[name]], "x"
    )
    assert report.failures == []
    return report.findings


def test_a_success_claim_after_an_untested_edit(tmp_path: Path) -> None:
    session = next((FIXTURES / "claude_code_2.0.37").rglob("7c1e*.jsonl"))
    [t] = load(session).trajectories
    assert _run("success_claim_without_passing_tests", t) == []
    # Drop the final test run: the claim now rests on the failing run before the edit.
    lines = [orjson.loads(line) for line in session.read_bytes().splitlines()]
    rerun = {"toolu_01Bash2"}
    kept = []
    for line in lines:
        content = (line.get("message") or {}).get("content")
        blocks = content if isinstance(content, list) else []
        if any(b.get("id") in rerun or b.get("tool_use_id") in rerun for b in blocks if isinstance(b, dict)):
            continue
        kept.append(line)
    for previous, line in itertools.pairwise(kept):
        if "parentUuid" in line and "uuid" in previous:
            line["parentUuid"] = previous["uuid"]
    path = tmp_path / session.name
    path.write_bytes(b"\n".join(orjson.dumps(line) for line in kept))
    [t] = load(path).trajectories
    [finding] = _run("success_claim_without_passing_tests", t)
    assert finding.verified is True and finding.quote == "tests pass"
    assert finding.note == "no test run passed in the whole rollout"


def test_the_same_failing_call_repeated() -> None:
    def call(i: int) -> list[Step]:
        return [
            Step(
                index=2 * i,
                role="assistant",
                tool_calls=[ToolCall(id=f"c{i}", name="get_order", arguments={"id": "A1"})],
            ),
            Step(index=2 * i + 1, role="tool", tool_call_id=f"c{i}", output="Error: order A1 not found"),
        ]

    t = Trajectory(id="r", task_id="t", steps=[*call(0), *call(1), *call(2)])
    findings = _run("repeated_failing_call", t)
    assert [(f.step, f.quote, f.verified) for f in findings] == [
        (3, "Error: order A1 not found", True),
        (5, "Error: order A1 not found", True),
    ]
    assert findings[0].note == "get_order with the same arguments already failed at step 1"


def _conversation(reply: str) -> Trajectory:
    steps = [
        Step(index=0, role="user", text="I want to cancel my booking ABC123."),
        Step(index=1, role="assistant", text="I found ABC123. Shall I cancel it?"),
        Step(index=2, role="user", text=reply),
        Step(
            index=3,
            role="assistant",
            tool_calls=[ToolCall(id="c1", name="cancel_reservation", arguments={"reservation_id": "ABC123"})],
        ),
        Step(index=4, role="tool", tool_call_id="c1", output='{"status": "cancelled"}'),
        Step(index=5, role="assistant", text="It is cancelled. Anything else?"),
        Step(index=6, role="user", text="No, thanks."),
    ]
    return Trajectory(id="conv", task_id="t", steps=steps)


def test_a_write_without_the_users_agreement() -> None:
    assert _run("state_change_without_confirmation", _conversation("Yes, please go ahead.")) == []
    [finding] = _run("state_change_without_confirmation", _conversation("What would the fee be?"))
    assert (finding.step, finding.quote, finding.verified) == (3, "cancel_reservation", True)
    assert "does not agree: 'What would the fee be?'" in (finding.note or "")


def test_an_answer_that_no_tool_output_shows() -> None:
    def run(answer: str) -> Trajectory:
        return Trajectory(
            id="qa",
            task_id="t",
            question="What were outlays in 1944?",
            ground_truth="95,059",
            final_answer=answer,
            steps=[
                Step(index=0, role="user", text="What were outlays in 1944?"),
                Step(
                    index=1,
                    role="assistant",
                    tool_calls=[ToolCall(id="c", name="search", arguments={"q": "outlays"})],
                ),
                Step(index=2, role="tool", tool_call_id="c", output="Outlays, 1944: 95,059 (millions)"),
                Step(index=3, role="assistant", text=answer),
            ],
        )

    assert _run("answer_not_in_tool_output", run("95,059 million")) == []
    [finding] = _run("answer_not_in_tool_output", run("93,956 million"))
    assert (finding.step, finding.quote, finding.verified) == (3, "93,956", True)
