"""The reading layer judges errors by structure and reads calls, state changes and answers once, for
both agents."""

from __future__ import annotations

from memex_audit.reading import (
    answer_text,
    call_results,
    error_line,
    failed_calls,
    is_error_output,
    is_handoff,
    is_state_changing,
)
from memex_audit.trajectory import Step, ToolCall, Trajectory


def _tool(output: str, **metadata: object) -> Step:
    return Step(index=1, role="tool", tool_name="bash", output=output, metadata=dict(metadata))


def test_error_like_text_in_a_successful_listing_is_not_an_error() -> None:
    listing = "<returncode>0</returncode>\n<output>\n    try:\n        x()\n    except ValueError:\n        raise\n</output>"
    assert not is_error_output(_tool(listing))
    diff = "diff --git a/m.py b/m.py\n+    except KeyError:\n+        raise TimeoutError('x')\n"
    assert not is_error_output(_tool(diff))
    passing = "plugins: timeout-2.3.1, cov-4.0\ncollected 3 items\n\n3 passed in 0.2s"
    assert not is_error_output(_tool(passing))


def test_errors_are_read_from_return_codes_tracebacks_and_error_reports() -> None:
    failed = "<returncode>1</returncode>\n<output>\nTraceback (most recent call last):\n  File \"r.py\", line 3\nModuleNotFoundError: No module named 'erfa'\n</output>"
    assert error_line(_tool(failed)) == "ModuleNotFoundError: No module named 'erfa'"
    assert (
        error_line(_tool("Traceback (most recent call last):\n  File 'x'\nKeyError: 'Adress'"))
        == "KeyError: 'Adress'"
    )
    assert is_error_output(_tool("Error: flight HAT001 not found"))
    assert is_error_output(_tool("HTTP 503 from upstream"))
    assert is_error_output(_tool('{"error": "not allowed"}'))
    assert is_error_output(_tool("exitcode: 1 (execution failed)\nCode output: NameError"))
    assert not is_error_output(_tool("<returncode>0</returncode>\n<output>\nok\n</output>"))
    assert is_error_output(_tool("some output", returncode=2))


def test_calls_pair_with_results_by_id_and_failed_ones_are_known() -> None:
    t = Trajectory(
        id="c",
        task_id="c",
        steps=[
            Step(
                index=0,
                role="assistant",
                tool_calls=[
                    ToolCall(id="a", name="get_user", arguments={}),
                    ToolCall(id="b", name="cancel_reservation", arguments={"reservation_id": "X1"}),
                ],
            ),
            Step(index=1, role="tool", tool_call_id="b", output="Error: reservation X1 is not refundable"),
            Step(index=2, role="tool", tool_call_id="a", output='{"user_id": "u1"}'),
        ],
    )
    results = call_results(t)
    assert results[(0, 0)].index == 2 and results[(0, 1)].index == 1
    assert failed_calls(t) == {(0, 1)}


def test_state_changes_hand_offs_and_answers_are_read_one_way() -> None:
    assert not is_state_changing("get_reservation_details")
    assert not is_state_changing("calculate")
    assert is_state_changing("cancel_reservation")
    assert not is_state_changing("transfer_to_human_agents") and is_handoff("transfer_to_human_agents")
    base = Trajectory(id="a", task_id="a")
    assert answer_text(base.model_copy(update={"submitted": {"result": 3.5}})) == "3.5"
    assert answer_text(base.model_copy(update={"submitted": {"answer": "Paris"}})) == "Paris"
    assert answer_text(base.model_copy(update={"final_answer": "42", "submitted": 7})) == "42"
    assert answer_text(base) is None
