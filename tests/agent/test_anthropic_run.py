"""A whole run through the real Anthropic SDK, over a fake HTTP transport (no network)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from pydantic import BaseModel

from memex_audit.agent import Agent
from memex_audit.llm import AnthropicClient, allow_model_requests
from memex_audit.trajectory import Trajectory
from tests.factories import memex_run


class Answer(BaseModel):
    answer: int
    why: str


@pytest.fixture(autouse=True)
def _requests_over_the_fake_transport() -> Iterator[None]:
    with allow_model_requests(True):
        yield


def _message(content: list[dict[str, Any]], stop_reason: str = "end_turn") -> dict[str, Any]:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 900, "output_tokens": 40},
    }


class FakeMessagesAPI:
    def __init__(self, replies: list[dict[str, Any]]) -> None:
        self.replies = list(replies)
        self.bodies: list[dict[str, Any]] = []

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == "/v1/messages"
        self.bodies.append(json.loads(request.content))
        return httpx2.Response(200, json=self.replies.pop(0))


@pytest.mark.slow
def test_code_block_then_submit_through_the_anthropic_sdk() -> None:
    api = FakeMessagesAPI(
        [
            _message([{"type": "text", "text": "Count.\n```python\nn = len(t.steps)\nprint(n)\n```"}]),
            _message([{"type": "text", "text": "```python\nsubmit({'answer': n, 'why': 'counted'})\n```"}]),
        ]
    )
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(api.handler))
    client = AnthropicClient("claude-sonnet-4-6", api_key="sk-test", http_client=http)
    result = Agent(client, Answer).run_sync("How many steps?", t=memex_run())
    assert result.stop_reason == "submitted", result.error
    assert result.output == Answer(answer=5, why="counted")
    assert result.trajectory.model == "claude-sonnet-4-6"
    assert result.usage.input_tokens >= 1800 and result.usage.output_tokens == 80
    assert result.usage.cost_usd is not None and result.usage.cost_usd > 0
    second = api.bodies[1]
    observation = second["messages"][-1]["content"]
    text = observation if isinstance(observation, str) else " ".join(b.get("text", "") for b in observation)
    assert text.startswith("5")
    assert "class Trajectory(BaseModel)" in json.dumps(second["system"])


def test_tool_calling_mode_through_the_anthropic_sdk() -> None:
    def step_count(trajectory: Trajectory) -> int:
        """How many steps a trajectory has."""
        return len(trajectory.steps)

    api = FakeMessagesAPI(
        [
            _message(
                [{"type": "tool_use", "id": "toolu_1", "name": "step_count", "input": {"trajectory": "t"}}],
                "tool_use",
            ),
            _message(
                [
                    {
                        "type": "tool_use",
                        "id": "toolu_2",
                        "name": "submit",
                        "input": {"answer": 5, "why": "tool"},
                    }
                ],
                "tool_use",
            ),
        ]
    )
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(api.handler))
    client = AnthropicClient("claude-sonnet-4-6", api_key="sk-test", http_client=http)
    result = Agent(client, Answer, tools=[step_count], action_space="tool_calling").run_sync(
        "Count.", t=memex_run()
    )
    assert result.stop_reason == "submitted", result.error
    assert result.output == Answer(answer=5, why="tool")
    first = api.bodies[0]
    assert [tool["name"] for tool in first["tools"]] == ["step_count", "submit"]
    results = [b for b in api.bodies[1]["messages"][-1]["content"] if b["type"] == "tool_result"]
    assert results[0]["tool_use_id"] == "toolu_1" and results[0]["content"] == "5"
    assert first["tools"][0]["input_schema"]["properties"]["trajectory"]["type"] == "string"


@pytest.mark.live
def test_a_real_model_explores_an_object_and_submits() -> None:
    client = AnthropicClient()
    agent = Agent(client, Answer, max_turns=6, max_tokens=1024)
    result = agent.run_sync(
        "How many steps does the trajectory `t` have? Submit the count as `answer` with a one-line `why`.",
        t=memex_run(),
    )
    assert result.stop_reason == "submitted", result.error
    assert result.output is not None and result.output.answer == 5
    assert result.usage.cost_usd is not None and result.usage.cost_usd > 0
