"""The auditor and the aggregator read one trajectory the same way: they share the reading layer."""

from __future__ import annotations

from memex_audit.aggregator import KeyConfig
from memex_audit.aggregator._keys import action_key, final_answer_of
from memex_audit.aggregator._support import trouble_steps
from memex_audit.auditor._signals import detect_tool_errors
from memex_audit.reading import answer_text, failed_calls, is_error_output, is_state_changing
from memex_audit.trajectory import Step, ToolCall, Trajectory


def _fixture() -> Trajectory:
    calls = [
        ToolCall(id="a", name="compute_total", arguments={"items": [1, 2]}),
        ToolCall(id="b", name="transfer_to_human_agents", arguments={"summary": "x"}),
        ToolCall(id="c", name="update_reservation_flights", arguments={"reservation_id": "R1"}),
        ToolCall(id="d", name="book_reservation", arguments={"user_id": "u1"}),
    ]
    return Trajectory(
        id="shared",
        task_id="shared",
        harness="tau2",
        submitted={"result": 3.5},
        steps=[
            Step(index=0, role="user", text="Please rebook."),
            Step(index=1, role="assistant", tool_calls=calls),
            Step(index=2, role="tool", tool_call_id="a", output="3"),
            Step(index=3, role="tool", tool_call_id="b", output="Transfer successful"),
            Step(index=4, role="tool", tool_call_id="c", output="HTTP 503 from upstream"),
            Step(index=5, role="tool", tool_call_id="d", output='{"reservation_id": "R2"}'),
        ],
    )


def test_both_agents_agree_on_errors_state_changes_and_the_answer() -> None:
    t = _fixture()
    failed_steps = sorted(s.index for s in t.steps if s.role == "tool" and is_error_output(s))
    assert failed_steps == [4]
    assert sorted(s.step for s in detect_tool_errors(t)) == failed_steps  # the auditor
    assert trouble_steps(t) == failed_steps  # the aggregator
    assert failed_calls(t) == {(1, 2)}
    key = action_key(t, KeyConfig())
    assert [c.name for c in key.actions] == ["book_reservation"]  # the failed write is not a change
    assert all(is_state_changing(c.name) for c in key.actions)
    assert not is_state_changing("compute_total") and not is_state_changing("transfer_to_human_agents")
    assert final_answer_of(t) == answer_text(t) == "3.5"
