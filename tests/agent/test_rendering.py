"""What the model reads: code extraction, truncation, stubs, the scope summary."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel, Field

from memex_audit.agent import extract_code, render_function, render_model, scope_summary, truncate_middle
from memex_audit.trajectory import Trajectory
from tests.factories import memex_run


def test_extract_code_prefers_python_blocks_and_takes_only_the_first() -> None:
    reply = 'Plan.\n```json\n{"a": 1}\n```\n```python\nx = 1\n```\nthen\n```py\nprint(x)\n```'
    assert extract_code(reply) == "x = 1"
    assert extract_code("```\ny = 2\n```") == "y = 2"
    assert extract_code("No code here.") is None
    assert extract_code("Cut off:\n```python\nz = 3\nprint(z)") == "z = 3\nprint(z)"


def test_truncate_middle_keeps_head_and_tail_and_counts_the_rest() -> None:
    text = "".join(f"line {i}\n" for i in range(1000))
    short = truncate_middle(text, 500)
    assert short.startswith("line 0\n") and short.rstrip().endswith("line 999")
    omitted = int(short.split("[... ")[1].split(" chars")[0].replace(",", ""))
    assert omitted == len(text) - 500
    assert truncate_middle("small", 500) == "small"


def test_function_stub_shows_real_types_defaults_and_docstring() -> None:
    async def search(
        trajectory: Trajectory, pattern: str, /, limit: int = 10, *, mode: Literal["text", "regex"] = "text"
    ) -> list[int] | None:
        """Find steps.

        Args:
            pattern: What to look for.
        """
        await asyncio.sleep(0)
        return None

    stub = render_function(search)
    first = stub.splitlines()[0]
    assert first == (
        "async def search(trajectory: Trajectory, pattern: str, /, limit: int = 10, "
        "*, mode: Literal['text', 'regex'] = 'text') -> list[int] | None:"
    )
    assert '"""Find steps.' in stub and "pattern: What to look for." in stub


def test_model_stub_lists_fields_defaults_descriptions_and_methods() -> None:
    class Verdict(BaseModel):
        """A verdict on one trajectory.

        More detail that stays out of the stub.
        """

        category: str = Field(description="taxonomy id")
        steps: list[int] = []

    stub = render_model(Verdict)
    assert stub.splitlines()[:4] == [
        "class Verdict(BaseModel):",
        '    """A verdict on one trajectory."""',
        "    category: str  # taxonomy id",
        "    steps: list[int] = []",
    ]
    assert "def search(self, pattern: str, *, regex: bool = False" in render_model(Trajectory)


def test_scope_summary_is_bounded_whatever_the_object_size() -> None:
    big = memex_run().model_copy(update={"steps": memex_run().steps * 20_000})
    summary = scope_summary({"big": big, "many": [big] * 1000, "text": "x" * 10_000_000, "n": 3})
    lines = summary.splitlines()
    assert lines[0].startswith("- big: Trajectory · 100,000 steps · Trajectory(id='m-1'")
    assert lines[1].startswith("- many: list[Trajectory] · 1,000 items")
    assert lines[2].startswith("- text: str · 10,000,000 chars")
    assert lines[3] == "- n: int · 3"
    assert all(len(line) <= 300 for line in lines)
    by_id = scope_summary({"by_id": {"m-1": big, "m-2": big}})
    assert (
        by_id == "- by_id: dict[str, Trajectory] · 2 keys · {'m-1': Trajectory(...), 'm-2': Trajectory(...)}"
    )


def test_dataclass_stub_lists_its_fields() -> None:
    from dataclasses import dataclass, field

    @dataclass
    class Window:
        """Steps around a hit."""

        center: int
        steps: list[int] = field(default_factory=list)
        label: str = "x"

        def width(self) -> int:
            """How many steps."""
            return len(self.steps)

    assert render_model(Window).splitlines() == [
        "@dataclass",
        "class Window:",
        '    """Steps around a hit."""',
        "    center: int",
        "    steps: list[int] = ...",
        "    label: str = 'x'",
        "    def width(self) -> int: ...  # How many steps.",
    ]
