"""Trajectories built in code for auditor tests: OfficeQA-like MemEx and tool-calling runs."""

from __future__ import annotations

from collections.abc import Sequence

from memex_audit.trajectory import HumanLabel, Outcome, Step, ToolCall, Trajectory


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
