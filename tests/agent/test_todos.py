"""The plan anchor: ``write_todos`` keeps a checklist shown in every status, across compressions."""

from __future__ import annotations

import pytest

from memex_audit.agent import Agent, MemoryConfig, TodoItem
from memex_audit.agent._todos import MAX_TODOS, TodoList
from memex_audit.errors import UsageError
from memex_audit.llm import ScriptedModel


def code(body: str, thought: str = "Next step.") -> str:
    return f"{thought}\n```python\n{body}\n```"


PLAN = "write_todos(['load the runs', {'content': 'classify failures', 'status': 'in_progress'}, 'submit'])"


def test_the_checklist_is_shown_under_the_status_every_turn() -> None:
    model = ScriptedModel(
        [
            code(PLAN),
            code("print('working')"),
            code(
                "write_todos([{'content': 'load the runs', 'status': 'done'}, "
                "{'content': 'classify failures', 'status': 'done'}, {'content': 'submit', 'status': 'in_progress'}])"
            ),
            code("submit('ok')"),
        ]
    )
    result = Agent(model, str, todos=True).run_sync("Plan and work.")
    assert result.stop_reason == "submitted"
    shown = model.requests[2].messages[-1].text()  # a turn that did not touch the list
    assert "[todos: 0 of 3 done]\n[ ] load the runs\n[>] classify failures\n[ ] submit" in shown
    assert "[todos: 2 of 3 done]" in model.requests[3].messages[-1].text()
    assert "[>] submit" in model.requests[3].messages[-1].text()
    assert "## Plan" in model.requests[0].system and "write_todos" in model.requests[0].system
    writes = [s.metadata["todos"] for s in result.trajectory.steps if "todos" in s.metadata]
    assert len(writes) == 2
    assert result.trajectory.metadata["todos"] == [
        {"content": "load the runs", "status": "done"},
        {"content": "classify failures", "status": "done"},
        {"content": "submit", "status": "in_progress"},
    ]


def test_the_checklist_survives_compression() -> None:
    big = "print(' '.join(f'v{i}y' for i in range(300)))"
    model = ScriptedModel([code(PLAN), *[code(big) for _ in range(10)], code("submit('ok')")])
    result = Agent(model, str, todos=True, memory=MemoryConfig(context_budget=4000)).run_sync("A long plan.")
    assert result.stop_reason == "submitted"
    memory = result.trajectory.metadata["memory"]
    assert isinstance(memory, dict) and memory["compressions"] >= 2
    last = model.requests[-1]
    # The turn that wrote the list is long gone from the conversation, its index line aside...
    assert PLAN not in "".join(m.text() for m in last.messages)
    # ...but the list is still shown, under the latest status.
    assert (
        "[todos: 0 of 3 done]\n[ ] load the runs\n[>] classify failures\n[ ] submit"
        in last.messages[-1].text()
    )


def test_an_invalid_list_is_an_error_the_agent_can_fix_and_the_name_is_reserved() -> None:
    model = ScriptedModel(
        [
            code("write_todos([{'content': 'x', 'status': 'started'}])"),
            code("write_todos = None"),
            code("print(write_todos(['a']))"),
            code("submit('ok')"),
        ]
    )
    Agent(model, str, todos=True).run_sync("Plan.")
    error = model.requests[1].messages[-1].text()
    assert "ValueError: write_todos: item 0" in error and "pending" in error
    assert "`write_todos` is reserved and was restored" in model.requests[2].messages[-1].text()
    assert model.requests[3].messages[-1].text().startswith("[todos: 0 of 1 done]\n[ ] a")


def test_todo_list_rules() -> None:
    todos = TodoList()
    assert todos.write([]) == "(the checklist is empty)" and todos.render() == ""
    todos.write([TodoItem(content="a", status="done"), "b"])
    assert todos.render() == "[todos: 1 of 2 done]\n[x] a\n[ ] b"
    with pytest.raises(ValueError, match="at most"):
        todos.write(["x"] * (MAX_TODOS + 1))
    with pytest.raises(ValueError, match="list"):
        todos.write("one string")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="item 0"):
        todos.write([""])
    assert todos.writes == 2  # failed writes leave the list as it was


@pytest.mark.slow
def test_todos_work_on_the_subprocess_kernel() -> None:
    model = ScriptedModel(
        [code("write_todos(['a', {'content': 'b', 'status': 'done'}])"), code("submit('ok')")]
    )
    Agent(model, str, todos=True, kernel="subprocess").run_sync("Plan in a child process.")
    assert "[todos: 1 of 2 done]" in model.requests[1].messages[-1].text()


def test_a_tool_may_not_take_a_feature_name() -> None:
    def write_todos(items: list[str]) -> str:
        return ""

    with pytest.raises(UsageError, match="reserved"):
        Agent(ScriptedModel([]), str, tools=[write_todos], todos=True)
    Agent(ScriptedModel([]), str, tools=[write_todos])  # without todos the name is free
