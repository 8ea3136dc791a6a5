"""Trajectories built in code for the tests, one module for every package's tests.

The three kinds of runs the schema must hold (``memex_run``, ``tool_calling_run``,
``multi_agent_run``); OfficeQA-like runs for the auditor (``memex_traj``, ``tool_traj``,
``good_memex``); τ airline conversations for the reading layer and the stock agents
(``reservation``, ``USER``, ``airline_run``, ``cancel_run``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from memex_audit.trajectory import HumanLabel, Outcome, Step, ToolCall, Trajectory, Usage


def memex_run(traj_id: str = "m-1", task_id: str = "t-1", correct: bool = True) -> Trajectory:
    """A MemEx-style run: code blocks, printed observations, a submitted result."""
    return Trajectory(
        id=traj_id,
        task_id=task_id,
        question="What was the total public debt in March 1944?",
        ground_truth="3,501",
        final_answer="3,501" if correct else "3,531",
        submitted={"answer": 3501 if correct else 3531, "unit": "million"},
        outcome=Outcome(correct=correct),
        harness="memex",
        model="qwen-3.6-27b",
        steps=[
            Step(index=0, role="system", text="You write Python."),
            Step(index=1, role="user", text="What was the total public debt in March 1944?"),
            Step(
                index=2,
                role="assistant",
                text="Search the bulletins.",
                code="hits = search('public debt 1944')\nprint(hits[:2])",
                output="['bulletin-1944-04', 'bulletin-1944-05']",
                usage=Usage(input_tokens=900, output_tokens=60, cost_usd=0.0012),
                started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                duration_s=2.5,
            ),
            Step(
                index=3,
                role="assistant",
                code="t = read_table('bulletin-1944-04', 'debt')\nprint(t.loc['March'])",
                output="total 3,501",
                usage=Usage(input_tokens=1100, output_tokens=40, cost_usd=0.0014),
            ),
            Step(index=4, role="assistant", code="submit({'answer': 3501})", error=None),
        ],
        usage=Usage(input_tokens=2000, output_tokens=100, cost_usd=0.0026),
        labels=[] if correct else [HumanLabel(category="execution", taxonomy="memex", faulty_step=4)],
        metadata={"study": "unit"},
    )


def tool_calling_run(traj_id: str = "tc-1", task_id: str = "t-1", reward: float = 0.0) -> Trajectory:
    """A JSON tool-calling run: tool calls, tool results linked by call id."""
    return Trajectory(
        id=traj_id,
        task_id=task_id,
        question="Cancel reservation ABC123.",
        ground_truth=[{"name": "cancel_reservation", "arguments": {"reservation_id": "ABC123"}}],
        outcome=Outcome(reward=reward),
        harness="tool_calling",
        model="gpt-4.1",
        steps=[
            Step(index=0, role="user", text="Please cancel ABC123."),
            Step(
                index=1,
                role="assistant",
                tool_calls=[
                    ToolCall(id="call_1", name="get_reservation", arguments={"reservation_id": "ABC123"}),
                    ToolCall(id="call_2", name="cancel_reservation", arguments={"reservation_id": "ABC123"}),
                ],
            ),
            Step(index=2, role="tool", tool_call_id="call_1", output='{"status": "active"}'),
            Step(
                index=3,
                role="tool",
                tool_call_id="call_2",
                tool_name="cancel_reservation",
                error="Traceback: denied",
            ),
            Step(index=4, role="assistant", text="Done, it is cancelled."),
        ],
    )


def multi_agent_run(traj_id: str = "ma-1") -> Trajectory:
    """A multi-agent conversation with named agents and an attribution label."""
    return Trajectory(
        id=traj_id,
        task_id="ww-1",
        question="How many studio albums?",
        ground_truth="3",
        final_answer="4",
        outcome=Outcome(correct=False),
        harness="ag2",
        steps=[
            Step(index=0, role="user", agent="human", text="How many studio albums?"),
            Step(index=1, role="assistant", agent="WebSurfer", text="I found 4 albums on the page."),
            Step(index=2, role="assistant", agent="Verifier", text="Confirmed: 4."),
        ],
        labels=[HumanLabel(faulty_agent="WebSurfer", faulty_step=1, reason="counted a live album")],
    )


def memex_traj(
    traj_id: str,
    cells: Sequence[tuple[str, str]],
    *,
    answer: str,
    truth: str = "3,501.2",
    correct: bool = False,
    task_id: str = "officeqa-001",
    label: str | None = None,
    metadata: dict[str, object] | None = None,
) -> Trajectory:
    """A MemEx run: one system and one user step, then one assistant step per (code, output) cell."""
    steps = [
        Step(index=0, role="system", text="You write Python to answer questions about Treasury Bulletins."),
        Step(index=1, role="user", text="What was the total public debt in March 1944, in millions?"),
    ]
    for code, output in cells:
        steps.append(Step(index=len(steps), role="assistant", text="Next step.", code=code, output=output))
    steps.append(Step(index=len(steps), role="assistant", code=f"submit({{'answer': {answer!r}}})"))
    return Trajectory(
        id=traj_id,
        task_id=task_id,
        question="What was the total public debt in March 1944, in millions?",
        ground_truth=truth,
        final_answer=answer,
        outcome=Outcome(correct=correct),
        harness="memex",
        model="qwen-3.6-27b",
        steps=steps,
        labels=[HumanLabel(taxonomy="memex", category=label, faulty_step=2)] if label else [],
        metadata=dict(metadata or {}),  # type: ignore[arg-type]
    )


def tool_traj(
    traj_id: str,
    calls: Sequence[tuple[str, dict[str, object], str]],
    *,
    answer: str | None,
    truth: object = "3,501.2",
    correct: bool = False,
    task_id: str = "officeqa-001",
    harness: str = "tool_calling",
    errors: dict[int, str] | None = None,
) -> Trajectory:
    """A tool-calling run: each call is an assistant step with one tool call, then its tool step."""
    steps = [Step(index=0, role="user", text="What was the total public debt in March 1944, in millions?")]
    for n, (name, args, output) in enumerate(calls):
        steps.append(
            Step(
                index=len(steps),
                role="assistant",
                tool_calls=[ToolCall(id=f"c{n}", name=name, arguments=args)],
            )  # type: ignore[arg-type]
        )
        error = (errors or {}).get(n)
        steps.append(
            Step(
                index=len(steps),
                role="tool",
                tool_call_id=f"c{n}",
                tool_name=name,
                output=output,
                error=error,
            )
        )
    if answer is not None:
        steps.append(Step(index=len(steps), role="assistant", text=f"The answer is {answer}."))
    return Trajectory(
        id=traj_id,
        task_id=task_id,
        question="What was the total public debt in March 1944, in millions?",
        ground_truth=truth,  # type: ignore[arg-type]
        final_answer=answer,
        outcome=Outcome(correct=correct),
        harness=harness,
        model="qwen-3.6-27b",
        steps=steps,
    )


def good_memex(traj_id: str, bulletin: str = "bulletin-1944-03") -> Trajectory:
    """A correct sibling that opens ``bulletin`` and answers 3,501.2."""
    return memex_traj(
        traj_id,
        [
            ("hits = search('public debt March 1944')\nprint(hits)", f"['{bulletin}']"),
            (f"t = read_table('{bulletin}', 'FD-1')\nprint(t.loc['March'])", "total 3,501.2"),
            ("x = t.loc['March', 'total']\nprint(x)", "3501.2"),
        ],
        answer="3,501.2",
        correct=True,
    )


POLICY = "# Airline Agent Policy\n\nThe current time is 2024-05-15 15:00:00 EST.\n"


def reservation(**fields: Any) -> dict[str, Any]:
    """A τ airline reservation record; ``fields`` override its defaults."""
    record: dict[str, Any] = {
        "reservation_id": "ABC123",
        "user_id": "mia_li_3668",
        "origin": "JFK",
        "destination": "SEA",
        "flight_type": "one_way",
        "cabin": "economy",
        "flights": [{"flight_number": "HAT136", "date": "2024-05-20", "price": 152}],
        "passengers": [{"first_name": "Mia", "last_name": "Li", "dob": "1990-04-05"}],
        "created_at": "2024-05-01T10:00:00",
        "total_baggages": 1,
        "nonfree_baggages": 0,
        "insurance": "no",
    }
    record.update(fields)
    return record


USER = {
    "user_id": "mia_li_3668",
    "membership": "gold",
    "payment_methods": {"credit_card_4421486": {"source": "credit_card", "id": "credit_card_4421486"}},
}


def airline_run(
    turns: list[tuple[str, Any]],
    *,
    gold: list[dict[str, Any]] | None = None,
    details: dict[str, Any] | None = None,
) -> Trajectory:
    """A τ airline conversation: ("user", text), ("assistant", text), ("call", (name, args, output))."""
    steps: list[Step] = []
    for kind, value in turns:
        i = len(steps)
        if kind == "call":
            name, args, output = value
            steps.append(
                Step(index=i, role="assistant", tool_calls=[ToolCall(id=f"c{i}", name=name, arguments=args)])
            )
            text = output if isinstance(output, str) else json.dumps(output)
            steps.append(Step(index=i + 1, role="tool", tool_call_id=f"c{i}", output=text))
        else:
            steps.append(Step(index=i, role=kind, text=value))
    return Trajectory(
        id="r1",
        task_id="tau2/airline/1",
        harness="tau2",
        steps=steps,
        ground_truth=gold,  # type: ignore[arg-type]
        outcome=Outcome(reward=0.0, correct=False, details=details or {}),
        metadata={"policy": POLICY},
    )


def cancel_run(record: dict[str, Any], answer: str = "Yes, please cancel it.") -> Trajectory:
    """A τ airline run that looks up ``record``, asks, hears ``answer`` and cancels."""
    return airline_run(
        [
            ("user", "Cancel reservation ABC123 please, my user id is mia_li_3668."),
            ("call", ("get_reservation_details", {"reservation_id": "ABC123"}, record)),
            ("assistant", "I will cancel ABC123. Shall I proceed?"),
            ("user", answer),
            ("call", ("cancel_reservation", {"reservation_id": "ABC123"}, record)),
        ]
    )
