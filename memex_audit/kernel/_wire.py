"""The messages between the host and a kernel process: a tagged union on ``kind``.

::

    host -> kernel                          kernel -> host
    InitRequest   (id 0) scope, tool stubs  Ready          answers init: load problems
    ExecRequest   (id n) one block          BlockReply     answers init or exec: output, error,
    CallReply     answers a tool or spawn                  submission (or the kernel's own failure)
    CloseRequest  stop the process         ToolRequest    a tool stub was called
                                            SpawnRequest   spawn_agent was called
                                            OutputSnapshot what the running block printed so far

Every reply carries the id of the request it answers. Both ends validate what they receive with
``WireAdapter`` and accept only the other end's kinds (``from_kernel``, ``from_host``): an unknown
or malformed message is a ``KernelError``, never a ``KeyError`` deep in the dispatch.

Values that cross (scope objects, tool arguments and results, submissions) are JSON trees in the
codec's form (``_codec``). They are not walked here: the bytes were JSON, so they are JSON values,
and ``decode`` checks their structure when it rebuilds the objects.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, SkipValidation, TypeAdapter, ValidationError

from memex_audit.errors import KernelError

Tree = Annotated[JsonValue, SkipValidation]
"""A value in the codec's JSON form (see the module docstring)."""


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ToolStub(_Message):
    """A tool as the kernel process defines its stub: the call goes back to the host."""

    name: str
    is_async: bool
    doc: str


class InitRequest(_Message):
    """Load the scope and define the reserved names (the first message of every process)."""

    kind: Literal["init"] = "init"
    id: int = 0
    scope: dict[str, Tree]
    tools: list[ToolStub]
    spawn: bool


class ExecRequest(_Message):
    """Run one block."""

    kind: Literal["exec"] = "exec"
    id: int
    code: str


class CloseRequest(_Message):
    """Exit now."""

    kind: Literal["close"] = "close"


class CallReply(_Message):
    """The host's answer to a ``ToolRequest`` or ``SpawnRequest`` with the same id.

    Attributes:
        ok: The call returned ``value``; otherwise it raised ``error_type(message)``.
    """

    kind: Literal["reply"] = "reply"
    id: int
    ok: bool
    value: Tree = None
    error_type: str = "RuntimeError"
    message: str = ""


class Ready(_Message):
    """The scope is loaded; what could not be loaded as it was is in ``problems``."""

    kind: Literal["ready"] = "ready"
    id: int = 0
    problems: list[str] = Field(default_factory=list)
    elapsed_s: float = 0.0


class BlockReply(_Message):
    """How a block ended, or (with only ``error``) why the kernel could not run it.

    Attributes:
        id: The request answered (``None`` when the request was unreadable).
        output: What the block printed, bounded and cleaned by the kernel.
        submission: The submitted value as a codec tree, when ``submitted``.
        duration_s: Time the block ran; ``elapsed_s`` counts the whole request.
    """

    kind: Literal["result"] = "result"
    id: int | None = None
    output: str = ""
    error: str | None = None
    submitted: bool = False
    submission: Tree = None
    notices: list[str] = Field(default_factory=list)
    duration_s: float = 0.0
    elapsed_s: float = 0.0


class ToolRequest(_Message):
    """Agent code called the stub of the host's tool ``name``."""

    kind: Literal["tool"] = "tool"
    id: int
    name: str
    args: Tree
    kwargs: Tree


class SpawnRequest(_Message):
    """Agent code called ``spawn_agent``."""

    kind: Literal["spawn"] = "spawn"
    id: int
    task: str
    output_type: dict[str, Tree]
    objects: Tree


class OutputSnapshot(_Message):
    """The whole (bounded) output of block ``block`` so far."""

    kind: Literal["output"] = "output"
    block: int
    text: str


HostMessage = InitRequest | ExecRequest | CallReply | CloseRequest
"""What the host sends."""

KernelMessage = Ready | BlockReply | ToolRequest | SpawnRequest | OutputSnapshot
"""What a kernel process sends."""

WireMessage = Annotated[
    InitRequest
    | ExecRequest
    | CallReply
    | CloseRequest
    | Ready
    | BlockReply
    | ToolRequest
    | SpawnRequest
    | OutputSnapshot,
    Field(discriminator="kind"),
]
"""Any message of the protocol, told apart by its ``kind``."""

WireAdapter: TypeAdapter[WireMessage] = TypeAdapter(WireMessage)
"""Validates a decoded JSON object as a ``WireMessage``."""


def _read(raw: object, sender: str) -> WireMessage:
    try:
        return WireAdapter.validate_python(raw)
    except ValidationError as exc:
        kind = raw.get("kind") if isinstance(raw, dict) else None

        def where(loc: tuple[int | str, ...]) -> str:
            if loc and loc[0] == kind:  # the union's tag: the message's own kind
                loc = loc[1:]
            return ".".join(str(part) for part in loc) or "message"

        problems = "; ".join(f"{where(e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)[:3])
        what = f"a message of kind {kind!r}" if isinstance(kind, str) else "a message"
        raise KernelError(f"{sender} sent {what} that does not fit the protocol: {problems}") from None


def from_kernel(raw: object) -> KernelMessage:
    """``raw`` (a decoded JSON value) as a message a kernel process may send.

    Raises:
        KernelError: It is not one (an unknown kind, a missing or mistyped field, a host's kind).
    """
    message = _read(raw, "the kernel process")
    if isinstance(message, HostMessage):
        raise KernelError(f"the kernel process sent a {message.kind!r} message, which only the host sends")
    return message


def from_host(raw: object) -> HostMessage:
    """``raw`` (a decoded JSON value) as a message the host may send.

    Raises:
        KernelError: It is not one.
    """
    message = _read(raw, "the host")
    if not isinstance(message, HostMessage):
        raise KernelError(f"the host sent a {message.kind!r} message, which only a kernel process sends")
    return message


def request_id_of(raw: object) -> int | None:
    """The id an unreadable message carried, when it carried one (so its sender can be answered)."""
    if isinstance(raw, dict):
        value = raw.get("id")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def is_reply(raw: object) -> bool:
    """Whether an unreadable message meant to be a ``CallReply``."""
    return isinstance(raw, dict) and raw.get("kind") == "reply"


def as_tree(message: BaseModel) -> dict[str, Any]:
    """``message`` as plain JSON-ready data, its trees left as they are (not copied or walked)."""
    return {name: _plain(value) for name, value in message}


def _plain(value: object) -> object:
    if isinstance(value, BaseModel):
        return as_tree(value)
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return [_plain(item) for item in value]
    return value


class ProcessConfig(BaseModel):
    """How the host configures a kernel process (passed on its command line).

    Attributes:
        memory_mb: Address-space cap (``None``: none).
        cpu_s: CPU-seconds cap (``None``: none).
        output_limit: Characters of a block's output kept.
        parent: The host's pid (the guardian watches it).
        guard_fd: The read end of the host's guard pipe.
        folder: The scratch folder, removed when the kernel ends.
    """

    model_config = ConfigDict(extra="forbid")

    memory_mb: int | None = None
    cpu_s: int | None = None
    output_limit: int
    parent: int
    guard_fd: int
    folder: str
