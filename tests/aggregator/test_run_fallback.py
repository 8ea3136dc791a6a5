"""An aggregate run says why its verifier ran without the agent loop, and refuses a model it cannot run."""

from __future__ import annotations

import asyncio
import sys
import types
from pathlib import Path

import pytest

from memex_audit.aggregator import aggregate_groups
from memex_audit.errors import UsageError
from memex_audit.llm import FunctionModel, LLMRequest, LLMResponse
from memex_audit.runs import RunStore
from memex_audit.trajectory import TaskGroup, Usage
from tests.aggregator.conftest import group_of, qa_rollout


@pytest.fixture
def no_agent_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """``memex_audit.agent`` as an install where ``Agent`` cannot be imported."""
    monkeypatch.setitem(sys.modules, "memex_audit.agent", types.ModuleType("memex_audit.agent"))


def _groups() -> list[TaskGroup]:
    return [group_of(qa_rollout("r1", "12", correct=True), qa_rollout("r2", "12", correct=True))]


def test_the_fallback_is_said_with_its_cause(tmp_path: Path, no_agent_loop: None) -> None:
    store = RunStore.open(tmp_path / "run", "aggregate")
    with pytest.warns(RuntimeWarning, match="the verifier runs directly.*cannot import name 'Agent'"):
        outcome = asyncio.run(aggregate_groups(_groups(), store))
    assert outcome.done == 1 and not outcome.through_agent
    assert outcome.agent_fallback is not None and "ImportError" in outcome.agent_fallback


def test_a_model_without_the_agent_loop_is_a_usage_error(tmp_path: Path, no_agent_loop: None) -> None:
    async def reply(request: LLMRequest) -> LLMResponse:
        return LLMResponse(text="12", usage=Usage(), model="m")

    store = RunStore.open(tmp_path / "run", "aggregate")
    with pytest.raises(
        UsageError, match="the LLM aggregator runs through the agent loop, and the agent loop cannot"
    ):
        asyncio.run(aggregate_groups(_groups(), store, model=FunctionModel(reply)))
    assert store.result_keys() == set()


def test_with_the_agent_loop_there_is_no_fallback(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path / "run", "aggregate")
    outcome = asyncio.run(aggregate_groups(_groups(), store))
    assert outcome.through_agent and outcome.agent_fallback is None
