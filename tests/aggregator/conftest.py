"""Trajectories the aggregator tests build: question-answering rollouts and τ-style rollouts."""

from __future__ import annotations

from collections.abc import Sequence

from memex_audit.trajectory import Outcome, Step, TaskGroup, ToolCall, Trajectory


def qa_rollout(
    rid: str,
    answer: str | None,
    reads: Sequence[tuple[str, str]] = (),
    *,
    correct: bool | None = None,
    task_id: str = "t1",
    metadata: dict[str, object] | None = None,
) -> Trajectory:
    """A MemEx-style rollout: one code step per ``(code, output)`` read, then a final answer."""
    steps = [Step(index=0, role="user", text="What was the figure?")]
    for code, output in reads:
        steps.append(Step(index=len(steps), role="assistant", text="Reading.", code=code, output=output))
    steps.append(Step(index=len(steps), role="assistant", text=f"The answer is {answer}."))
    return Trajectory(
        id=rid,
        task_id=task_id,
        question="What was the figure?",
        final_answer=answer,
        harness="memex",
        steps=steps,
        outcome=Outcome(correct=correct),
        metadata=dict(metadata or {}),  # type: ignore[arg-type]
    )


def tau_rollout(
    rid: str,
    calls: Sequence[tuple[str, dict[str, object], str]],
    *,
    correct: bool | None = None,
    user_says: str = "Yes, please go ahead.",
    task_id: str = "tau/1",
) -> Trajectory:
    """A τ-style rollout: for each ``(tool, arguments, result)`` a user turn, a call and its result."""
    steps: list[Step] = [Step(index=0, role="user", text="I need to change my reservation ABC123.")]
    for n, (name, args, result) in enumerate(calls):
        steps.append(Step(index=len(steps), role="user", text=user_says))
        steps.append(
            Step(
                index=len(steps),
                role="assistant",
                tool_calls=[ToolCall(id=f"c{n}", name=name, arguments=args)],  # type: ignore[arg-type]
            )
        )
        error = result if result.startswith("Error") else None
        steps.append(Step(index=len(steps), role="tool", tool_call_id=f"c{n}", output=result, error=error))
    return Trajectory(
        id=rid,
        task_id=task_id,
        harness="tau2",
        steps=steps,
        outcome=Outcome(correct=correct, reward=float(bool(correct))),
    )


def group_of(*trajectories: Trajectory) -> TaskGroup:
    """The rollouts as one task."""
    return TaskGroup(
        task_id=trajectories[0].task_id, question=trajectories[0].question, trajectories=list(trajectories)
    )
