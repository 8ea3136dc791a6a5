"""One block per turn, driven by recorded replies of the kind real models write.

Each reply below is the shape of a reply a real model produced on an audit task: prose before
the code, two blocks in one reply, an observation the model made up, no code at all, a submit
in the middle of a block, and a loop that never submits.
"""

from __future__ import annotations

from pydantic import BaseModel

from memex_audit.agent import Agent
from memex_audit.agent._extract import END_MARKER, STOP_SEQUENCES, parse_reply
from memex_audit.llm import LLMResponse, ScriptedModel
from memex_audit.trajectory import Usage
from tests.factories import memex_run


class Debt(BaseModel):
    value: int
    step: int


# A reply of block 1, an invented observation, then a block that submits on it (the defect).
INVENTED = """I'll read the table the second assistant step printed.

```python
row = target.steps[3].output
print(row)
```

Output:
```
total 3,531
```

The total is 3,531, so:

```python
submit({'value': 3531, 'step': 3})
```"""

PROSE_FIRST = """Let me start by looking at what the target trajectory contains. I want the step count and the
roles before reading any output, since the failure could be anywhere.

```python
print(len(target.steps), [s.role for s in target.steps])
```
<end_code>"""

TWO_BLOCKS = """Two things at once:

```python
n = len(target.steps)
print(n)
```

and then

```python
print(target.steps[n - 1].role)
```"""

NO_CODE = """The debt figure in step 3 is 3,501 and the final answer matches it, so I believe the answer is
correct. The value is 3501, taken from step 3."""

SUBMIT_MID_BLOCK = """```python
total = int(target.steps[3].output.split()[-1].replace(',', ''))
submit({'value': total, 'step': 3})
print('after submit')
```"""


def _turns(model: ScriptedModel) -> list[str]:
    return [r.messages[-1].text() for r in model.requests]


def test_parse_reply_cuts_after_the_first_block() -> None:
    parsed = parse_reply(INVENTED)
    assert parsed.code == "row = target.steps[3].output\nprint(row)"
    assert parsed.reasoning == "I'll read the table the second assistant step printed."
    assert parsed.kept.endswith("print(row)\n```") and "3,531" not in parsed.kept
    assert "Output:" in parsed.ignored and parsed.ignored_blocks == 2
    assert parse_reply(PROSE_FIRST).ignored == ""  # the end marker is not "text after the block"
    cut = parse_reply("Cut off:\n```python\nx = 1")
    assert cut.code == "x = 1" and cut.kept == "Cut off:\n```python\nx = 1\n```"
    none = parse_reply(NO_CODE)
    assert none.code is None and none.kept == NO_CODE


def test_an_invented_observation_never_reaches_submit() -> None:
    model = ScriptedModel(
        [INVENTED, "```python\nsubmit({'value': int(row.split()[-1].replace(',', '')), 'step': 3})\n```"]
    )
    result = Agent(model, Debt).run_sync("Find the debt.", target=memex_run())
    # Only the first block ran: the model then saw the real output (3,501), not its invention.
    observation = _turns(model)[1]
    assert observation.startswith("total 3,501")
    assert "only your first code block ran" in observation and "2 more code blocks" in observation
    assert result.output == Debt(value=3501, step=3)
    # The conversation keeps the reply only up to the block that ran, ended by the marker.
    sent = model.requests[1].messages[-2]
    assert sent.role == "assistant" and "3,531" not in sent.text()
    assert sent.text().endswith(f"print(row)\n```\n{END_MARKER}")
    # The record keeps what was ignored, apart from the step's text and code.
    step = result.trajectory.steps[2]
    assert step.code == "row = target.steps[3].output\nprint(row)"
    assert "3,531" not in (step.text or "") and "3,531" in step.metadata["ignored_after_block"]
    assert step.metadata["ignored_blocks"] == 2


def test_every_request_carries_the_stop_sequence_and_the_prompt_teaches_it() -> None:
    model = ScriptedModel([PROSE_FIRST, "```python\nsubmit({'value': 1, 'step': 0})\n```"])
    result = Agent(model, Debt).run_sync("Look.", target=memex_run())
    assert result.stop_reason == "submitted"
    assert all(r.stop_sequences == list(STOP_SEQUENCES) for r in model.requests)
    assert END_MARKER in STOP_SEQUENCES
    assert END_MARKER in model.requests[0].system and END_MARKER in model.requests[0].messages[0].text()
    assert result.trajectory.steps[2].text.startswith("Let me start by looking")
    observation = _turns(model)[1]
    assert (
        observation.startswith(f"{len(memex_run().steps)} ['system', 'user'") and "ignored" not in observation
    )


def test_two_blocks_run_the_first_only() -> None:
    model = ScriptedModel(
        [TWO_BLOCKS, "```python\nprint(n)\n```", "```python\nsubmit({'value': n, 'step': 0})\n```"]
    )
    result = Agent(model, Debt).run_sync("Count.", target=memex_run())
    first = _turns(model)[1]
    n = len(memex_run().steps)
    assert first.splitlines()[0] == str(n) and "role" not in first.splitlines()[0]
    assert "1 more code block)" in first
    assert result.output == Debt(value=n, step=0) and result.turns == 3


def test_no_code_gets_a_reminder_with_the_marker() -> None:
    model = ScriptedModel([NO_CODE, "```python\nsubmit({'value': 3501, 'step': 3})\n```"])
    result = Agent(model, Debt).run_sync("Find the debt.", target=memex_run())
    reminder = _turns(model)[1]
    assert "no ```python code block" in reminder and END_MARKER in reminder
    assert model.requests[1].messages[-2].text() == NO_CODE
    assert result.output == Debt(value=3501, step=3)


def test_submit_mid_block_ends_the_run_and_nothing_after_it_runs() -> None:
    model = ScriptedModel([SUBMIT_MID_BLOCK])
    result = Agent(model, Debt).run_sync("Find the debt.", target=memex_run())
    assert result.stop_reason == "submitted" and result.output == Debt(value=3501, step=3)
    assert result.trajectory.steps[-1].output == ""  # the print after submit() never ran


def test_a_loop_that_never_submits_stops_at_max_turns() -> None:
    reply = LLMResponse(
        text="Still exploring.\n```python\nprint(len(target.steps))\n```",
        usage=Usage(input_tokens=100, output_tokens=20),
        model="scripted",
        stop_reason="stop_sequence",
    )
    model = ScriptedModel([reply] * 4)
    result = Agent(model, Debt, max_turns=4).run_sync("Never done.", target=memex_run())
    assert result.stop_reason == "max_turns" and result.output is None and result.turns == 4
    assert model.remaining == 0
    assistant = [s for s in result.trajectory.steps if s.role == "assistant"]
    assert len(assistant) == 4 and all(s.metadata["stop_reason"] == "stop_sequence" for s in assistant)
