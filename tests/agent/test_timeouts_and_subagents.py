"""Runaway blocks and parallel sub-agents, through the whole loop."""

from __future__ import annotations

import asyncio
import time

import pytest
from pydantic import BaseModel

from memex_audit.agent import Agent, Budget
from memex_audit.llm import FunctionModel, LLMRequest, ScriptedModel
from tests.factories import memex_run

pytestmark = pytest.mark.slow


class Answer(BaseModel):
    answer: int
    why: str


def code(body: str) -> str:
    return f"```python\n{body}\n```"


@pytest.mark.parametrize("kernel", ["inprocess", "subprocess"])
def test_while_true_times_out_and_the_kernel_is_usable_afterwards(kernel: str) -> None:
    model = ScriptedModel(
        [
            code("before = 1"),
            code("while True: pass"),
            code("print(len(t.steps), 'before' in globals())"),
            code("submit({'answer': len(t.steps), 'why': 'after the timeout'})"),
        ]
    )
    started = time.perf_counter()
    result = Agent(model, Answer, kernel=kernel, block_timeout_s=0.5).run_sync("Loop.", t=memex_run())
    assert time.perf_counter() - started < 15
    observation = model.requests[2].messages[-1].text()
    assert "TimeoutError: the block ran longer than 0.5s" in observation
    after = model.requests[3].messages[-1].text()
    if kernel == "subprocess":
        assert "namespace was reset" in observation
        assert after.startswith("5 False")  # scope reloaded, own variables gone
    else:
        assert after.startswith("5 True")
    assert result.stop_reason == "submitted" and result.output == Answer(answer=5, why="after the timeout")
    assert result.trajectory.steps[4].metadata["timed_out"] is True


def _fan_out_policy(children: int, delay_s: float) -> FunctionModel:
    """Parent: spawn ``children`` sub-agents at once, then submit their sum. Child: submit its number."""

    async def reply(request: LLMRequest) -> str:
        await asyncio.sleep(delay_s)
        first = request.messages[0].text()
        if "Sub-task" in first:
            number = int(first.split("Sub-task ")[1].split()[0])
            return code(f"submit({number})")
        if len(request.messages) == 1:
            spawn = (
                "import asyncio\n"
                f"parts = await asyncio.gather(*(spawn_agent(f'Sub-task {{i}} of the count', output_type=int, t=t) "
                f"for i in range({children})))\nprint(parts)"
            )
            return code(spawn)
        return code("submit({'answer': sum(parts), 'why': str(parts)})")

    return FunctionModel(reply)


def test_eight_sub_agents_run_concurrently() -> None:
    model = _fan_out_policy(8, delay_s=1.0)
    result = Agent(model, Answer, block_timeout_s=2.0).run_sync("Fan out.", t=memex_run())
    assert result.stop_reason == "submitted", result.error
    assert result.output == Answer(answer=28, why=str(list(range(8))))
    spawn_step = result.trajectory.steps[2]
    block_s = spawn_step.metadata["block_s"]
    assert isinstance(block_s, float)
    # Eight sub-agents each waiting 1 s on their model: sequentially 8 s; concurrently about 1 s.
    assert block_s < 4.0, block_s
    assert 8 * 1.0 / block_s > 2.0
    assert len(result.sub_runs) == 8
    assert {run.metadata["parent_run"] for run in result.sub_runs} == {result.trajectory.id}
    assert all(run.metadata["depth"] == 1 and run.submitted is not None for run in result.sub_runs)


def test_sub_agents_share_the_budget_and_the_depth_limit_holds() -> None:
    async def reply(request: LLMRequest) -> str:
        return code("r = await spawn_agent('deeper', output_type=int)\nprint(r)")

    budget = Budget(max_tokens=1_000_000)
    model = FunctionModel(reply)
    result = Agent(model, Answer, max_turns=1, max_depth=1, budget=budget).run_sync("Recurse.")
    child = result.sub_runs[0]
    # The child (depth 1) may not spawn: its block fails with the depth-limit error.
    assert child.steps[2].error is not None and "depth limit" in child.steps[2].error
    assert budget.used.total_tokens == result.usage.total_tokens + child.usage.total_tokens
    assert "spawn_agent" in (result.trajectory.steps[0].text or "")
    assert "spawn_agent" not in (child.steps[0].text or "")  # not offered at the depth limit
    parent_error = result.trajectory.steps[2].error
    assert parent_error is not None and "SubAgentError" in parent_error and "max_turns" in parent_error


def test_sub_agents_on_the_subprocess_kernel_get_copies_over_the_channel() -> None:
    model = _fan_out_policy(3, delay_s=0.0)
    result = Agent(model, Answer, kernel="subprocess").run_sync("Fan out.", t=memex_run())
    assert result.stop_reason == "submitted", result.error
    assert result.output == Answer(answer=3, why="[0, 1, 2]")


def test_the_concurrency_limit_queues_sub_agents() -> None:
    model = _fan_out_policy(4, delay_s=0.3)
    result = Agent(model, Answer, max_concurrent_subagents=2).run_sync("Fan out.", t=memex_run())
    assert result.output is not None and result.output.answer == 6
    block_s = result.trajectory.steps[2].metadata["block_s"]
    assert isinstance(block_s, float) and block_s >= 0.55  # two waves of two 0.3 s sub-agents


def test_a_sub_agent_output_type_defined_in_a_subprocess_kernel_is_described_and_checked() -> None:
    async def reply(request: LLMRequest) -> str:
        first = request.messages[0].text()
        if first.startswith("## Task\n\nFind"):
            return code("submit({'label': 'x', 'score': 0.5})")
        if len(request.messages) == 1:
            define = (
                "from pydantic import BaseModel\n"
                "class Finding(BaseModel):\n    label: str\n    score: float\n"
                "found = await spawn_agent('Find one', output_type=Finding)\n"
                "print(type(found).__name__, found.score)"
            )
            return code(define)
        return code("submit({'answer': int(found.score * 10), 'why': found.label})")

    model = FunctionModel(reply)
    result = Agent(model, Answer, kernel="subprocess").run_sync("Delegate.")
    assert result.stop_reason == "submitted", result.error
    assert result.output == Answer(answer=5, why="x")
    child_system = result.sub_runs[0].steps[0].text or ""
    assert "Your output type is `Finding`" in child_system and '"score"' in child_system
    assert any(r.messages[-1].text().startswith("Finding 0.5") for r in model.requests)
