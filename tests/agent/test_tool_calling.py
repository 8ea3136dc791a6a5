"""The Tool-Calling baseline: same tools as JSON calls, results serialised as text."""

from __future__ import annotations

from pydantic import BaseModel

from memex_audit.agent import Agent
from memex_audit.llm import LLMResponse, ScriptedModel, TextPart, ToolResultPart
from memex_audit.trajectory import ToolCall, Trajectory, Usage
from tests.factories import memex_run


class Answer(BaseModel):
    answer: int
    why: str


def find(trajectory: Trajectory, pattern: str) -> list[int]:
    """Indices of the steps that mention ``pattern``."""
    return trajectory.search(pattern)


def calls(*items: tuple[str, dict[str, object]]) -> LLMResponse:
    return LLMResponse(
        text="",
        tool_calls=[ToolCall(id=f"c{n}", name=name, arguments=args) for n, (name, args) in enumerate(items)],  # type: ignore[misc]
        usage=Usage(input_tokens=10, output_tokens=5),
        model="scripted",
    )


def test_tool_calls_run_and_their_results_come_back_as_text() -> None:
    model = ScriptedModel(
        [
            calls(("find", {"trajectory": "t", "pattern": "bulletin"}), ("nope", {})),
            "I will answer now.",
            calls(("submit", {"answer": "two"})),
            calls(("submit", {"answer": 2, "why": "two hits"})),
        ]
    )
    agent = Agent(model, Answer, tools=[find], action_space="tool_calling")
    result = agent.run_sync("How many steps mention a bulletin?", t=memex_run())
    assert result.stop_reason == "submitted" and result.output == Answer(answer=2, why="two hits")
    first = model.requests[0]
    assert [tool.name for tool in first.tools] == ["find", "submit"]
    assert "### t (Trajectory)" in first.messages[0].text()  # objects are shown as JSON text
    parts = model.requests[1].messages[-1].content
    assert isinstance(parts, list)
    found, missing, status = parts
    assert isinstance(found, ToolResultPart) and isinstance(missing, ToolResultPart)
    assert (found.tool_use_id, found.content, found.is_error) == ("c0", "[2,3]", False)
    assert missing.tool_use_id == "c1" and missing.is_error and "no tool named 'nope'" in missing.text()
    assert isinstance(status, TextPart)  # the status line follows the results
    assert "called no tool" in model.requests[2].messages[-1].text()
    rejected = model.requests[3].messages[-1].content
    assert isinstance(rejected, list) and isinstance(rejected[0], ToolResultPart)
    assert rejected[0].is_error and "submit() rejected the value" in rejected[0].text()
    trajectory = result.trajectory
    assert trajectory.harness == "tool_calling"
    tool_steps = [s for s in trajectory.steps if s.role == "tool"]
    assert [(s.tool_name, s.tool_call_id) for s in tool_steps][:2] == [("find", "c0"), ("nope", "c1")]
    assert tool_steps[0].output == "[2,3]"
    assert [i for i, _ in trajectory.tool_calls()] == [2, 2, 7, 9]


def test_non_object_output_types_are_wrapped_in_a_value_argument() -> None:
    model = ScriptedModel([calls(("submit", {"value": 12}))])
    result = Agent(model, int, action_space="tool_calling").run_sync("Twelve.")
    assert result.output == 12
    schema = model.requests[0].tools[0].input_schema
    assert schema["required"] == ["value"]
