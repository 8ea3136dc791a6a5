"""Small trajectories built in code, shaped like the three kinds of runs the schema must hold."""

from __future__ import annotations

from datetime import UTC, datetime

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
