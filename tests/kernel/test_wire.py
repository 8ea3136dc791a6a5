"""The host <-> kernel process protocol: typed messages, validated on receipt at both ends."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import orjson
import pytest

from memex_audit.errors import KernelError
from memex_audit.kernel import KernelSetup, SubprocessKernel
from memex_audit.kernel._channel import SyncChannel, frame, read_message
from memex_audit.kernel._child import _Child
from memex_audit.kernel._wire import (
    BlockReply,
    CallReply,
    CloseRequest,
    ExecRequest,
    InitRequest,
    OutputSnapshot,
    Ready,
    SpawnRequest,
    ToolRequest,
    ToolStub,
    WireAdapter,
    from_host,
    from_kernel,
)

FROM_KERNEL = [
    Ready(id=0, problems=["t: could not import it"], elapsed_s=0.5),
    BlockReply(id=3, output="hi\n", submitted=True, submission={"a": [1, 2]}, notices=["n"], duration_s=0.1),
    BlockReply(id=None, error="KernelError: the kernel failed"),
    ToolRequest(id=1, name="find", args=["t", "x"], kwargs={}),
    SpawnRequest(id=2, task="count", output_type={"builtin": "int"}, objects={"k": 1}),
    OutputSnapshot(block=3, text="partial"),
]
FROM_HOST = [
    InitRequest(scope={"kept": 41}, tools=[ToolStub(name="find", is_async=False, doc="Find.")], spawn=True),
    ExecRequest(id=4, code="print(1)"),
    CallReply(id=1, ok=True, value=[2, 3]),
    CallReply(id=2, ok=False, error_type="KeyError", message="x"),
    CloseRequest(),
]


def _body(data: bytes) -> Any:
    return orjson.loads(data[8:])


def _receive(data: bytes) -> Any:
    async def main() -> Any:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        return await read_message(reader)

    return asyncio.run(main())


@pytest.mark.parametrize("message", FROM_KERNEL, ids=lambda m: type(m).__name__)
def test_each_kernel_message_is_read_back_by_the_host_as_it_was_sent(message: Any) -> None:
    assert _receive(frame(message)) == message


@pytest.mark.parametrize("message", FROM_HOST, ids=lambda m: type(m).__name__)
def test_each_host_message_is_read_back_by_the_kernel_as_it_was_sent(message: Any) -> None:
    assert from_host(_body(frame(message))) == message


def test_text_json_cannot_carry_is_cleaned_on_the_way_out() -> None:
    sent = BlockReply(id=1, output="bad \ud800 text", submission={"big": 2**70})
    received = _receive(frame(sent))
    assert received.output == "bad \ufffd text" and received.submission == {"big": str(2**70)}


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"kind": "evil", "id": 1}, "does not fit the protocol"),
        ({"kind": "result", "id": "one"}, "message of kind 'result' that does not fit the protocol: id: "),
        ({"kind": "output", "block": 1}, "text: Field required"),
        ({"kind": "tool", "id": 1, "name": "f", "args": [], "kwargs": {}, "extra": 1}, "extra"),
        ({"id": 1}, "does not fit the protocol"),
        ({"kind": "exec", "id": 1, "code": "x"}, "only the host sends"),
    ],
    ids=["unknown_kind", "mistyped_id", "missing_field", "extra_field", "no_kind", "host_kind"],
)
def test_a_malformed_kernel_message_is_a_kernel_error(raw: dict[str, Any], says: str) -> None:
    data = orjson.dumps(raw)
    with pytest.raises(KernelError, match=says):
        _receive(len(data).to_bytes(8, "big") + data)
    with pytest.raises(KernelError):
        from_kernel(raw)


def test_a_kernel_message_sent_to_the_kernel_is_refused() -> None:
    with pytest.raises(KernelError, match="only a kernel process sends"):
        from_host({"kind": "ready", "id": 0})
    assert WireAdapter.validate_python({"kind": "close"}) == CloseRequest()


def test_the_kernel_answers_a_malformed_request_instead_of_failing() -> None:
    ours, theirs = socket.socketpair()
    try:
        child = _Child(SyncChannel(theirs))
        child.refuse({"kind": "exec", "id": 7}, KernelError("the host sent a message that does not fit"))
        header = ours.recv(8)
        reply = from_kernel(orjson.loads(ours.recv(int.from_bytes(header, "big"))))
        assert isinstance(reply, BlockReply) and reply.id == 7
        assert reply.error is not None and reply.error.startswith("KernelError: the host sent")
    finally:
        ours.close()
        theirs.close()


def _forge(message: dict[str, Any]) -> str:
    """A block that writes ``message`` on the kernel's channel, as agent code could."""
    data = orjson.dumps(message)
    frame_bytes = len(data).to_bytes(8, "big") + data
    return (
        "import socket, sys, time\n"
        "channel = socket.socket(fileno=int(sys.argv[1]))\n"
        f"channel.sendall({frame_bytes!r})\n"
        "channel.detach()\n"
        "time.sleep(10)"
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "forged",
    [
        {"kind": "call", "id": 1, "name": "find"},  # no such kind (a tool request is "tool")
        {"kind": "tool", "id": 1},  # no name, no arguments
        {"kind": "result", "id": 1, "output": ["not", "text"]},
    ],
    ids=["unknown_kind", "missing_fields", "mistyped_field"],
)
def test_a_forged_malformed_message_ends_the_block_with_a_kernel_error(forged: dict[str, Any]) -> None:
    async def main() -> list[Any]:
        kernel = SubprocessKernel(timeout_s=5.0)
        await kernel.start(KernelSetup(scope={"kept": 41}))
        try:
            return [await kernel.execute(_forge(forged)), await kernel.execute("print(kept)")]
        finally:
            await kernel.close()

    broken, after = asyncio.run(main())
    assert broken.error is not None and broken.error.startswith("KernelError: the kernel process sent")
    assert "does not fit the protocol" in broken.error and broken.restarted and not broken.timed_out
    assert after.error is None and after.output == "41\n"
