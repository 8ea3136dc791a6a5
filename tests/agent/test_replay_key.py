"""The replay-cache key of an agent's request leaves out the shared budget's spend, in any part."""

from __future__ import annotations

from memex_audit.agent import replay_key_request
from memex_audit.llm import ChatMessage, LLMRequest, TextPart, ToolResultPart, ToolUsePart, request_key


def _turn(spent: str) -> LLMRequest:
    status = f"[turn 2 of 30 · spent so far: {spent}]"
    return LLMRequest(
        system="s",
        messages=[
            ChatMessage(role="user", content=f"Task.\n{status}"),
            ChatMessage(role="assistant", content=[ToolUsePart(id="c0", name="find", input={"q": "x"})]),
            ChatMessage(
                role="user",
                content=[ToolResultPart(tool_use_id="c0", content="[2,3]"), TextPart(text=status)],
            ),
        ],
    )


def test_two_runs_that_differ_only_in_spend_share_a_key() -> None:
    one, other = replay_key_request(_turn("$0.12")), replay_key_request(_turn("$0.31"))
    assert request_key("m", one) == request_key("m", other)
    assert request_key("m", _turn("$0.12")) != request_key("m", _turn("$0.31"))
    parts = one.messages[-1].content
    assert parts == [
        ToolResultPart(tool_use_id="c0", content="[2,3]"),
        TextPart(text="[turn 2 of 30 · spent so far: …]"),
    ]
    assert one.messages[1] == _turn("$0.12").messages[1]  # the model's own turn is left as it was
