"""Content parts: what a message carries in tool-calling mode, read and written as typed values."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from memex_audit.llm import (
    CacheControl,
    ChatMessage,
    ContentPart,
    ContentPartsAdapter,
    LLMRequest,
    RedactedThinkingPart,
    TextPart,
    ThinkingPart,
    ToolResultPart,
    ToolUsePart,
    estimate_request_tokens,
)

# Each part as the loops and clients wrote it before parts were typed (Anthropic's block shapes).
WIRE_SHAPES: list[dict[str, object]] = [
    {"type": "text", "text": "Reading it."},
    {"type": "tool_use", "id": "call_a", "name": "read_step", "input": {"index": 3, "note": None}},
    {"type": "tool_result", "tool_use_id": "call_a", "content": "x=1", "is_error": False},
    {
        "type": "tool_result",
        "tool_use_id": "call_b",
        "content": [{"type": "text", "text": "a"}],
        "is_error": True,
    },
    {"type": "thinking", "thinking": "Step 3 reads a file.", "signature": "sig-1"},
    {"type": "redacted_thinking", "data": "opaque"},
    {"type": "text", "text": "doc", "cache_control": {"type": "ephemeral"}},
]


@pytest.mark.parametrize("shape", WIRE_SHAPES, ids=lambda s: str(s["type"]))
def test_each_part_reads_from_its_dict_and_dumps_back_to_exactly_it(shape: dict[str, object]) -> None:
    [part] = ContentPartsAdapter.validate_python([shape])
    assert ContentPartsAdapter.dump_python([part], mode="json") == [shape]
    assert ContentPartsAdapter.validate_json(ContentPartsAdapter.dump_json([part])) == [part]


def test_dicts_in_a_message_become_typed_parts() -> None:
    message = ChatMessage(role="assistant", content=WIRE_SHAPES[:2])
    assert message.content == [
        TextPart(text="Reading it."),
        ToolUsePart(id="call_a", name="read_step", input={"index": 3, "note": None}),
    ]
    assert message.text() == "Reading it."


def test_unset_options_are_not_written() -> None:
    parts: list[ContentPart] = [
        TextPart(text="hi"),
        TextPart(text="cached", cache_control=CacheControl(ttl="1h")),
    ]
    assert ContentPartsAdapter.dump_python(parts, mode="json") == [
        {"type": "text", "text": "hi"},
        {"type": "text", "text": "cached", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
    ]


@pytest.mark.parametrize(
    "shape",
    [
        {"type": "image", "source": {}},  # a kind of part nothing here sends
        {"type": "text"},  # no text
        {"type": "tool_use", "id": "c", "name": "f", "input": [1, 2]},  # input not an object
        {"type": "text", "text": "x", "citations": []},  # a field no part has
        {"text": "no type"},
    ],
)
def test_a_malformed_part_is_refused(shape: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ChatMessage(role="user", content=[shape])


def test_parts_are_immutable() -> None:
    part = TextPart(text="a")
    with pytest.raises(ValidationError):
        part.text = "b"  # type: ignore[misc]


def test_tool_result_text_joins_its_text_parts() -> None:
    assert ToolResultPart(tool_use_id="c", content="plain").text() == "plain"
    joined = ToolResultPart(tool_use_id="c", content=[TextPart(text="a"), TextPart(text="b")])
    assert joined.text() == "a\nb"


def test_token_estimates_read_parts_as_their_json() -> None:
    parts: list[ContentPart] = [
        ThinkingPart(thinking="Step 3 reads a file.", signature="sig-1"),
        RedactedThinkingPart(data="opaque"),
        ToolUsePart(id="call_a", name="read_step", input={"index": 3}),
    ]
    typed = LLMRequest(system="s", messages=[ChatMessage(role="assistant", content=parts)])
    as_text = LLMRequest(
        system="s",
        messages=[
            ChatMessage(
                role="assistant", content=orjson.dumps(ContentPartsAdapter.dump_python(parts)).decode()
            )
        ],
    )
    assert estimate_request_tokens(typed) == estimate_request_tokens(as_text) > 0
