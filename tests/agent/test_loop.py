"""The MemEx loop driven by a scripted model: state, submit, feedback, limits, the record."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import BaseModel

from memex_audit.agent import Agent, Budget, RunResult
from memex_audit.errors import UsageError
from memex_audit.kernel import ExecutionResult, FakeKernel
from memex_audit.llm import ScriptedModel
from memex_audit.loaders import load, write_jsonl
from memex_audit.trajectory import Trajectory
from tests.factories import memex_run


class Answer(BaseModel):
    answer: int
    why: str


def code(body: str, thought: str = "Next step.") -> str:
    return f"{thought}\n```python\n{body}\n```"


def last_observation(model: ScriptedModel, call: int) -> str:
    """The text of the last user message the model received on call ``call`` (0-based)."""
    return model.requests[call].messages[-1].text()


@pytest.mark.parametrize("kernel", ["inprocess", pytest.param("subprocess", marks=pytest.mark.slow)])
def test_multi_turn_run_keeps_state_and_submits_a_typed_value(kernel: str) -> None:
    model = ScriptedModel(
        [
            code("hits = target.search('bulletin')\nprint(hits)"),
            code("total = sum(hits)\ntotal"),
            code("submit(Answer(answer=total, why=f'steps {hits}'))"),
        ]
    )
    agent = Agent(model, Answer, kernel=kernel)
    result = agent.run_sync("Add up the steps that mention a bulletin.", target=memex_run(), Answer=Answer)
    assert isinstance(result, RunResult)
    assert result.stop_reason == "submitted" and result.error is None
    assert result.output == Answer(answer=5, why="steps [2, 3]")
    assert result.turns == 3
    assert last_observation(model, 1).startswith("[2, 3]")
    assert last_observation(model, 2).startswith("5")


def test_a_rejected_submission_is_the_next_observation_then_success() -> None:
    model = ScriptedModel([code("submit({'answer': 'many'})"), code("submit({'answer': 3, 'why': 'fixed'})")])
    result = Agent(model, Answer).run_sync("Answer.")
    assert result.stop_reason == "submitted" and result.output == Answer(answer=3, why="fixed")
    feedback = last_observation(model, 1)
    assert "submit() rejected the value" in feedback
    assert "- answer: Input should be a valid integer" in feedback
    assert "- why: Field required" in feedback
    assert result.trajectory.metadata["submit_failures"] == 1


def test_the_retry_budget_of_submit_ends_the_run() -> None:
    model = ScriptedModel([code("submit({'answer': 'x'})")] * 3)
    result = Agent(model, Answer, max_submit_retries=1).run_sync("Answer.")
    assert result.stop_reason == "error" and result.output is None
    assert result.error is not None and "rejected 2 times" in result.error
    assert model.remaining == 1


def test_except_exception_in_agent_code_does_not_swallow_submit() -> None:
    body = "try:\n    submit({'answer': 1, 'why': 'w'})\nexcept Exception:\n    print('swallowed')"
    result = Agent(ScriptedModel([code(body)]), Answer).run_sync("Answer.")
    assert result.stop_reason == "submitted" and result.output == Answer(answer=1, why="w")
    assert result.trajectory.steps[-1].output == ""


def test_top_level_await_in_a_block() -> None:
    model = ScriptedModel(
        [
            code("import asyncio\nvalue = await asyncio.sleep(0.01, 7)\nprint(value)"),
            code("submit({'answer': value, 'why': 'awaited'})"),
        ]
    )
    result = Agent(model, Answer).run_sync("Await.")
    assert last_observation(model, 1).startswith("7")
    assert result.output == Answer(answer=7, why="awaited")


def test_output_is_truncated_for_the_model_but_kept_whole_in_the_record() -> None:
    model = ScriptedModel([code("print('x' * 50_000)"), code("submit({'answer': 1, 'why': 'w'})")])
    result = Agent(model, Answer, observation_limit=1000).run_sync("Print a lot.")
    seen = last_observation(model, 1)
    assert "chars omitted" in seen and "49,000 chars omitted" in seen
    assert len(seen) < 1400
    step = result.trajectory.steps[2]
    assert step.output is not None and len(step.output) == 50_001


def test_reply_without_code_gets_a_reminder_and_max_turns_stops_the_run() -> None:
    model = ScriptedModel(["I think the answer is 3.", code("print(1)")])
    result = Agent(model, Answer, max_turns=2).run_sync("Answer.")
    assert "no ```python code block" in last_observation(model, 1)
    assert result.stop_reason == "max_turns" and result.output is None and result.turns == 2


def test_every_observation_ends_with_a_context_status_line() -> None:
    model = ScriptedModel([code("print('hi')"), code("submit({'answer': 1, 'why': 'w'})")])
    Agent(model, Answer, budget=Budget(max_tokens=1_000_000)).run_sync("Status.")
    status = last_observation(model, 1).splitlines()[-1]
    assert status.startswith("[context: turn 1 of 20")
    assert "of 1,000,000 tokens" in status


def test_a_spent_budget_stops_the_run_before_the_next_model_call() -> None:
    model = ScriptedModel([code("print(1)")] * 5)
    result = Agent(model, Answer, budget=Budget(max_tokens=10)).run_sync("Spend.")
    assert result.stop_reason == "budget" and result.turns == 1


def test_a_model_failure_is_a_result_not_an_exception() -> None:
    result = Agent(ScriptedModel([RuntimeError("overloaded")]), Answer).run_sync("Fail.")
    assert result.stop_reason == "error" and result.error is not None and "overloaded" in result.error
    assert result.trajectory.steps[-1].error == "RuntimeError: overloaded"


def test_reserved_names_are_restored_and_the_model_is_told() -> None:
    model = ScriptedModel([code("submit = 42"), code("submit({'answer': 2, 'why': 'restored'})")])
    result = Agent(model, Answer).run_sync("Overwrite.")
    assert "`submit` is reserved and was restored" in last_observation(model, 1)
    assert result.stop_reason == "submitted"


def test_tools_are_shown_as_typed_stubs_and_called_from_code() -> None:
    def step_count(trajectory: Trajectory, *, role: str | None = None) -> int:
        """How many steps ``trajectory`` has (of ``role`` only, when given)."""
        return sum(1 for s in trajectory.steps if role is None or s.role == role)

    model = ScriptedModel([code("submit({'answer': step_count(t, role='assistant'), 'why': 'tool'})")])
    result = Agent(model, Answer, tools=[step_count]).run_sync("Count.", t=memex_run())
    assert result.output == Answer(answer=3, why="tool")
    system = model.requests[0].system
    assert "def step_count(trajectory: Trajectory, *, role: str | None = None) -> int:" in system
    assert "How many steps ``trajectory`` has" in system
    assert "class Trajectory(BaseModel):" in system and "class Answer(BaseModel):" in system


def test_scope_names_may_not_shadow_reserved_names() -> None:
    with pytest.raises(UsageError, match="clash"):
        Agent(ScriptedModel([]), Answer).run_sync("x", submit=1)


def test_a_recorded_run_loads_back_as_a_trajectory(tmp_path: Path) -> None:
    model = ScriptedModel(
        [code("print(len(t.steps))", "Count them."), code("submit({'answer': 5, 'why': 'len'})")]
    )
    result = Agent(model, Answer, name="counter").run_sync("Count the steps.", t=memex_run())
    path = tmp_path / "runs.jsonl"
    write_jsonl([result.trajectory], path)
    loaded = load(path)
    assert not loaded.errors
    [run] = loaded.trajectories
    assert run.id == result.trajectory.id and run.harness == "memex" and run.model == "scripted"
    assert [s.role for s in run.steps] == ["system", "user", "assistant", "user", "assistant"]
    assert run.steps[2].text == "Count them."  # the reasoning; the code is in `code`
    assert run.steps[2].code == "print(len(t.steps))" and run.steps[2].output == "5\n"
    assert run.steps[2].usage is not None and run.steps[2].usage.output_tokens > 0
    assert run.submitted == {"answer": 5, "why": "len"} and run.final_answer == "5"
    assert run.usage.total_tokens == result.usage.total_tokens > 0
    assert run.metadata["stop_reason"] == "submitted" and run.metadata["agent"] == "counter"


def test_a_fake_kernel_drives_the_loop_without_running_code() -> None:
    kernel = FakeKernel(
        [
            ExecutionResult(output="ok"),
            ExecutionResult(submitted=True, submission={"answer": 9, "why": "fake"}),
        ]
    )
    model = ScriptedModel([code("anything"), code("more")])
    result = Agent(model, Answer, kernel=lambda: kernel).run_sync("Fake.")
    assert kernel.executed == ["anything", "more"] and kernel.closed
    assert result.output == Answer(answer=9, why="fake")


def test_concurrent_agents_do_not_mix_their_prints() -> None:
    def script(name: str) -> ScriptedModel:
        loop = f"import asyncio\nfor i in range(40):\n    print('{name}', i)\n    await asyncio.sleep(0.001)"
        return ScriptedModel([code(loop), code("submit({'answer': 0, 'why': 'done'})")], delay_s=0.01)

    models = [script(f"agent{n}") for n in range(4)]

    async def main() -> None:
        await asyncio.gather(*(Agent(m, Answer).run("Print.") for m in models))

    asyncio.run(main())
    for n, model in enumerate(models):
        lines = last_observation(model, 1).splitlines()[:40]
        assert lines == [f"agent{n} {i}" for i in range(40)]


def test_context_stays_bounded_with_a_large_object_in_scope() -> None:
    big = memex_run()
    big = big.model_copy(
        update={"steps": [s.model_copy(update={"output": "y" * 200_000}) for s in big.steps] * 20}
    )
    model = ScriptedModel([code("print(len(t.steps))"), code("submit({'answer': 1, 'why': 'w'})")])
    Agent(model, Answer).run_sync("Look.", t=big, copies=[big] * 10)
    sizes = [len(r.system) + sum(len(m.text()) for m in r.messages) for r in model.requests]
    assert max(sizes) < 20_000


def test_budget_counts_tokens_and_dollars_and_says_so() -> None:
    from memex_audit.llm import LLMResponse
    from memex_audit.trajectory import Usage

    priced = LLMResponse(
        text=code("print(1)"), usage=Usage(input_tokens=100, output_tokens=10, cost_usd=0.6), model="priced"
    )
    budget = Budget(max_cost_usd=1.0, worst_case=lambda _request: 0.6)
    result = Agent(ScriptedModel([priced] * 5), Answer, budget=budget).run_sync("Spend dollars.")
    # the second call could cost 0.6 more than the 0.4 left: it is never sent
    assert result.stop_reason == "budget" and result.turns == 1
    assert budget.used.cost_usd == pytest.approx(0.6) and not budget.exhausted
    assert budget.status() == "110 tokens, $0.6000 of $1.00"
    assert result.usage.cost_usd == pytest.approx(0.6)
