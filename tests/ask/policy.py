"""Rollouts to ask about, and a model policy that answers questions about them with code.

The policy reads what a real model would: the system prompt (the answer type is rendered there as
``answer: bool | None``...), the task statement (which trajectory) and the last observation (a
rejected submission). It explores on its first turn and submits on the next, computing the answer
and the quote from ``target`` in the kernel; ``wrong_quote_first`` makes its first submission cite a
quote retyped from memory (not in the step), as models do, and fix it once it is rejected.
"""

from __future__ import annotations

import re
from pathlib import Path

from memex_audit.llm import LLMRequest
from memex_audit.loaders import write_jsonl
from memex_audit.trajectory import Outcome, Step, ToolCall, Trajectory


def coding_run(traj_id: str, test_output: str, *, correct: bool | None, answer: str) -> Trajectory:
    """A tool-calling coding run: read the file, edit it, run the tests, answer."""
    steps = [
        Step(index=0, role="user", text="Fix the failing parser test in parser.py."),
        Step(
            index=1,
            role="assistant",
            text="I'll read the file.",
            tool_calls=[ToolCall(id="c1", name="bash", arguments={"command": "cat parser.py"})],
        ),
        Step(
            index=2,
            role="tool",
            tool_call_id="c1",
            tool_name="bash",
            output="def parse(text):\n    return int(text)",
        ),
        Step(
            index=3,
            role="assistant",
            text="I'll run the tests.",
            tool_calls=[ToolCall(id="c2", name="bash", arguments={"command": "python -m pytest -q tests/"})],
        ),
        Step(index=4, role="tool", tool_call_id="c2", tool_name="bash", output=test_output),
        Step(index=5, role="assistant", text=answer),
    ]
    return Trajectory(
        id=traj_id,
        task_id="fix-parser",
        question="Fix the failing parser test in parser.py.",
        final_answer=answer,
        outcome=Outcome(correct=correct),
        harness="tool_calling",
        model="qwen-3.6-27b",
        steps=steps,
    )


def rollouts() -> list[Trajectory]:
    """Three runs of one task: tests pass, tests fail, and an ungraded one whose tests pass."""
    return [
        coding_run("run-pass", "3 passed in 0.12s", correct=True, answer="Fixed: the tests pass."),
        coding_run(
            "run-fail",
            "F..\nFAILED tests/test_parser.py::test_empty - ValueError: invalid literal for int()\n1 failed, 2 passed",
            correct=False,
            answer="Done, all good.",
        ),
        coding_run("run-ungraded", "3 passed in 0.30s", correct=None, answer="The parser is fixed."),
    ]


def rollout_folder(root: Path) -> Path:
    """``rollouts()`` written as native JSONL into ``root/rollouts/runs.jsonl``."""
    folder = root / "rollouts"
    folder.mkdir()
    write_jsonl(rollouts(), folder / "runs.jsonl")
    return folder


# What each answer type's submission computes in the kernel (``step`` is the test-run result step).
ANSWERS = {
    "bool": "' passed' in step.output and 'failed' not in step.output",
    "label": "'fail' if 'failed' in step.output else 'pass'",
    "number": "float(re.search(r'(\\d+) passed', step.output).group(1))",
    "text": "target.final_answer",
}

EXPLORE = """I'll find the test run and its output.

```python
import re
calls = tool_calls(target)
print(len(target.steps), [(c.step, c.name, c.result_step, c.error) for c in calls])
```
<end_code>"""

SUBMIT = """The test run's output decides it.

```python
import re
call = [c for c in tool_calls(target) if 'pytest' in str(c.arguments)][-1]
step = target.steps[call.result_step]
quote = {quote}
submit({{
    'answer': {answer},
    'evidence': [{{'step': call.result_step, 'quote': quote, 'note': 'the test run output'}}],
    'explanation': 'The last test run shows the result of the tests.',
}})
```
<end_code>"""

COPIED = "step.output.splitlines()[-1]"
RETYPED = "'3 tests passed'"  # retyped from memory: the step says "3 passed in ..."


def answer_kind(system: str) -> str:
    """The answer type, as the system prompt renders the output model."""
    match = re.search(r"answer: (bool|Literal\[[^\]]*\]|float|str) \| None", system)
    assert match is not None, "the answer model is not in the system prompt"
    found = match.group(1)
    return (
        "label" if found.startswith("Literal") else {"bool": "bool", "float": "number", "str": "text"}[found]
    )


def reply(request: LLMRequest, *, wrong_quote_first: bool = False) -> str:
    """The policy's reply to one request of the asking agent."""
    turns = sum(1 for m in request.messages if m.role == "assistant")
    if turns == 0:
        return EXPLORE
    rejected = "submit() rejected" in request.messages[-1].text()
    quote = RETYPED if wrong_quote_first and not rejected else COPIED
    return SUBMIT.format(answer=ANSWERS[answer_kind(request.system)], quote=quote)
