"""The plan anchor: a short checklist the agent keeps with ``write_todos`` and sees every turn.

Long runs lose their place when the plan scrolls out of context (or is compressed away). The
checklist lives outside the conversation: each observation's status shows it, so it survives
compression of older turns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from memex_audit.agent._capability import Capability, TurnEnd
from memex_audit.agent._prompts import fill

TodoStatus = Literal["pending", "in_progress", "done"]

MAX_TODOS = 20
_MARKS: dict[str, str] = {"pending": "[ ]", "in_progress": "[>]", "done": "[x]"}


class TodoItem(BaseModel):
    """One line of the checklist."""

    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=200)
    status: TodoStatus = "pending"


class TodoList:
    """The run's checklist: replaced whole by each ``write_todos`` call.

    Attributes:
        items: The current items, in the agent's order.
        writes: How many times the list was written.
    """

    def __init__(self) -> None:
        self.items: list[TodoItem] = []
        self.writes = 0

    def write(self, items: Sequence[TodoItem | Mapping[str, str] | str]) -> str:
        """Replace the checklist; returns it as shown in the status.

        Args:
            items: Each item a ``TodoItem``, a dict with ``content`` and ``status``
                (``"pending"``, ``"in_progress"`` or ``"done"``), or a string (a pending item).

        Raises:
            ValueError: Not a list, more than ``MAX_TODOS`` items, or an item that does not
                validate (the message says which and why).
        """
        if isinstance(items, str | bytes) or not isinstance(items, Sequence):
            raise ValueError("write_todos takes a list of items (strings or dicts with content and status)")
        if len(items) > MAX_TODOS:
            raise ValueError(
                f"write_todos: at most {MAX_TODOS} items; merge or drop some ({len(items)} given)"
            )
        parsed: list[TodoItem] = []
        for n, item in enumerate(items):
            try:
                if isinstance(item, TodoItem):
                    parsed.append(item)
                elif isinstance(item, str):
                    parsed.append(TodoItem(content=item))
                else:
                    parsed.append(TodoItem.model_validate(dict(item)))
            except (ValidationError, TypeError, ValueError) as exc:
                reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
                raise ValueError(f"write_todos: item {n} ({item!r}) is not valid: {reason}") from None
        self.items = parsed
        self.writes += 1
        return self.render() or "(the checklist is empty)"

    def render(self) -> str:
        """The checklist in a few lines (empty when there is none)."""
        if not self.items:
            return ""
        done = sum(item.status == "done" for item in self.items)
        lines = [f"[todos: {done} of {len(self.items)} done]"]
        lines.extend(f"{_MARKS[item.status]} {item.content}" for item in self.items)
        return "\n".join(lines)

    def as_records(self) -> list[JsonValue]:
        """The items as JSON data, for the run's record."""
        return [item.model_dump() for item in self.items]


class RunTodos(Capability):
    """The plan anchor of one run: defines ``write_todos``; the checklist shows under each status."""

    def __init__(self) -> None:
        self.todos = TodoList()
        self._seen_writes = 0

    def tools(self) -> list[Callable[..., Any]]:
        """``write_todos``."""
        todos = self.todos

        def write_todos(items: list[TodoItem | dict[str, str] | str]) -> str:
            """Replace your checklist; each item a string (pending) or ``{"content": ..., "status": ...}``.

            ``status`` is ``"pending"``, ``"in_progress"`` or ``"done"``. The checklist is shown under
            the status line every turn. Returns it as shown.
            """
            return todos.write(items)

        return [write_todos]

    def system_section(self) -> str:
        """The prompt's plan section."""
        return fill("todos")

    def status_lines(self, context_tokens: int) -> list[str]:
        """The checklist, once there is one."""
        return [self.todos.render()] if self.todos.items else []

    def end_turn(self, turn: TurnEnd) -> None:
        """Note the checklist in the step of a turn that wrote it."""
        if self.todos.writes != self._seen_writes:
            turn.step.metadata["todos"] = self.todos.as_records()
            self._seen_writes = self.todos.writes

    def record(self) -> dict[str, JsonValue]:
        """The checklist as the run left it."""
        return {"todos": self.todos.as_records()}
