"""A cost cap is a promise: concurrent agents never pass it together, and an unknown price is refused."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from memex_audit.agent import Agent, Budget
from memex_audit.llm import FunctionModel, LLMRequest, LLMResponse
from memex_audit.llm._pricing import ModelPrice, worst_case_cost
from memex_audit.trajectory import Usage


class Answer(BaseModel):
    value: int


def _spender(cost: float) -> FunctionModel:
    async def reply(request: LLMRequest) -> LLMResponse:
        await asyncio.sleep(0.01)  # the agents' calls overlap
        return LLMResponse(
            text="Thinking.\n```python\nprint(1)\n```",
            usage=Usage(input_tokens=100, output_tokens=10, cost_usd=cost),
            model="priced",
        )

    return FunctionModel(reply)


def test_concurrent_agents_never_overshoot_the_cap_together() -> None:
    budget = Budget(max_cost_usd=1.0, worst_case=lambda _request: 0.12)

    async def main() -> list[str]:
        agents = [Agent(_spender(0.1), Answer, budget=budget, max_turns=50) for _ in range(6)]
        results = await asyncio.gather(*(a.run(f"Spend {i}.") for i, a in enumerate(agents)))
        return [r.stop_reason for r in results]

    reasons = asyncio.run(main())
    assert set(reasons) == {"budget"}
    spent = budget.used.cost_usd or 0.0
    assert spent <= 1.0  # never past the cap, however the calls interleave
    assert spent >= 1.0 - 0.12 - 1e-9  # and the cap was used up to the last call that fit


def test_an_unknown_price_under_a_cap_is_refused_unless_allowed() -> None:
    refused = Agent(_spender(0.1), Answer, budget=Budget(max_cost_usd=1.0)).run_sync("Spend.")
    assert refused.stop_reason == "budget" and refused.turns == 0
    assert "price is unknown" in (refused.error or "")
    allowed = Budget(max_cost_usd=0.25, allow_unpriced=True)
    result = Agent(_spender(0.1), Answer, budget=allowed, max_turns=10).run_sync("Spend.")
    assert result.stop_reason == "budget" and result.turns == 3  # stops once known costs reach it


def test_the_worst_case_of_a_request_is_its_prompt_plus_its_reply_limit() -> None:
    price = ModelPrice(input=3.0, output=15.0)
    small = LLMRequest(system="be brief", messages=[], max_tokens=1000)
    large = small.model_copy(update={"max_tokens": 2000})
    assert worst_case_cost(small, price) == pytest.approx(worst_case_cost(large, price) - 0.015)  # type: ignore[operator]
    assert worst_case_cost(small, None) is None


def test_a_call_past_the_cap_is_refused_with_budget_exceeded() -> None:
    from memex_audit.errors import BudgetExceeded, MemexAuditError, ModelError

    budget = Budget(max_cost_usd=0.05, worst_case=lambda _request: 0.04)
    budget.reserve(object())
    with pytest.raises(BudgetExceeded, match=r"could cost up to \$0.0400") as refused:
        budget.reserve(object())
    assert isinstance(refused.value, ModelError) and isinstance(refused.value, MemexAuditError)
