"""Replies recorded from a real small model (SmolLM2-135M-Instruct, ``benchmarks/local_model.py``).

Each test replays what the model wrote on an audit of the samples, in the shape the server sent it,
and checks what the loop made of it. The first reproduces a defect the benchmark found: a reply
cut off at ``max_tokens`` inside its code block ran as a SyntaxError at a line the model never
finished, and nothing told the model its reply had been too long.
"""

from __future__ import annotations

from pathlib import Path

from memex_audit.auditor import AuditRunner
from memex_audit.llm import LLMResponse, ScriptedModel
from memex_audit.runs import RunStore
from memex_audit.taxonomy import load_taxonomy
from memex_audit.trajectory import Trajectory, Usage
from tests.factories import memex_traj

# officeqa-002-tc-1, turn 1: 512 tokens of code, finish_reason "length", no closing fence.
CUT_OFF = (
    "```python\n"
    + """# Task: Audit the failed trajectory `target` (id 'officeqa-002-tc-1', harness 'tool_calling') of task 'OfficeQA' with taxonomy "memex" and 6 steps.
def check_failure(trajectory):
    if len(trace) > 3:
        raise ValueError("Failed to retrieve failure axes")

    # The axes are in the correct order, so we can proceed.
    return [1] + [2 * (len(trace)) for trace in trajectory[0]]
def check_failure_with_taxonomy():
    try:
        target = TaskGroup([
            {
                "id": "officeqa-002-tc-1",
                "name": "OfficeQA"
            },
            {
                "taskId": "OfficeQA",
                "question": "What were on budget receipt...ecimal place (e.g. 1,234.5).",
                "ground_truth": "214.9",
                "steps": [
                    {"stepID": "officeqa-002-tc-1", "taskId": "OfficeQA"},
                    {
                        "stepName": "What were on budget receipt...ecimal place (e.g. 1,234.5)",
                        "typeOfTask": "on_budget_receipt_response",
                        "reasonReasoningForOnBudgetReceiptResponse": "The reason for the failure is that it was due to a lack of budget.",
                        "errorTypeErrorInFunction": "fatal error: 10.5.2.3 (4) in module 'taxonomy' at line 896, in task_group(task_id='officeqa-002-tc-1', step=1), item_name="OfficeQA", item_type="on_budget_receipt_response"},
                        "errorTypeErrorInFunction": "fatal error: 4.3.5 (6) in module 'taxonomy' at line 897, in task_group(task_id='officeqa-002-tc-1', step=1), item_name="OfficeQA", item_type="on_budget_receipt_response"},
                        "errorTypeErrorInFunction": "fatal error: 4.3.5"""
)

# officeqa-001-memex-1, turns 1 to 3: a NameError, then prose with an invented traceback and a
# stray closing fence (no block), then a block that redefines submit().
NAME_ERROR = (
    "```python\n"
    + """# Task: Audit the failed trajectory `target` (id 'officeqa-001-memex-1', harness 'memex') of task 'OfficeQA' with 6 rolls, and report on failure.
import traceback as traceback_traits
from traceback import *
def test_report(traceback):
    # The failed rollout is a single step that fails to match the previous one (the last one).
    return {
        "error": "Failed retry of task 'OfficeQA' with 6 rolls.",
        "failure-type": "Failure",
        "category": "Taxonomy",
        "description": "The failure occurred due to an error in a single step that failed to match the previous one.",
        "group_id": "taxonomy"
    }
def audit(traceback):
    return test_report(*traceback)()
# Test report for task 'OfficeQA' with 6 rolls.
test_report("Test Report", *[traceback])"""
    + "\n```"
)
INVENTED_TRACEBACK = """The error traceback_traits.traceback is a traceback object that contains information about the current exception being traced, including its type and location in the traceback trace.
Traceback (most recent call last):
  File "<cell 1>", line 23, in <module>
    test_report("Test Report", *[traceback])
NameError: name 'test' is not defined
```"""
REDEFINES_SUBMIT = (
    "```python\n"
    + """def submit(value):
    return {
        "error": "Failed retry of task 'OfficeQA' with 6 rolls.",
        "failure-type": "Failure",
        "category": "Taxonomy",
        "description": "The failure occurred due to an error in a single step that failed to match the previous one.",
        "group_id": "taxonomy"
    }"""
    + "\n```"
)

SUBMIT = (
    "```python\nsubmit({'primary': 'unclassified', 'explanation': 'nothing placed', 'confidence': 0.0})\n```"
)


def _reply(text: str, stop_reason: str = "stop") -> LLMResponse:
    return LLMResponse(
        text=text,
        usage=Usage(input_tokens=6326, output_tokens=512),
        model="smollm2-135m-instruct",
        stop_reason=stop_reason,
    )


def _target() -> Trajectory:
    return memex_traj(
        "officeqa-002-tc-1",
        [("print(read_table('bulletin-1944-03', 'FD-1'))", "total 3,501.2")],
        answer="3501.2",
    )


def test_a_reply_cut_off_inside_its_block_is_reported_as_too_long(tmp_path: Path) -> None:
    model = ScriptedModel([_reply(CUT_OFF, "length"), _reply(SUBMIT)])
    store = RunStore.open(tmp_path / "run", kind="audit")
    outcome = AuditRunner(load_taxonomy("memex"), model=model).run_sync([_target()], store)
    assert (outcome.audited, outcome.errors) == (1, 0)
    observation = model.requests[1].messages[-1].text()
    assert "SyntaxError" in observation  # the block ran as far as it was written
    assert "reached its token limit (512 tokens) inside its code block" in observation
    # In the conversation the block is closed, as the model will read its own turn back.
    assert model.requests[1].messages[-2].text().endswith("```\n<end_code>")
    (run,) = store.read_run_trajectories()
    cut = next(s for s in run.steps if s.role == "assistant")
    assert cut.metadata["stop_reason"] == "length" and cut.error and "SyntaxError" in cut.error


def test_a_reply_stopped_normally_gets_no_cut_off_notice(tmp_path: Path) -> None:
    model = ScriptedModel([_reply(NAME_ERROR), _reply(SUBMIT)])
    store = RunStore.open(tmp_path / "run", kind="audit")
    AuditRunner(load_taxonomy("memex"), model=model).run_sync([_target()], store)
    observation = model.requests[1].messages[-1].text()
    assert "NameError" in observation and "token limit" not in observation


def test_the_small_models_replies_end_in_a_recorded_error_not_a_crash(tmp_path: Path) -> None:
    replies = [NAME_ERROR, INVENTED_TRACEBACK, REDEFINES_SUBMIT, REDEFINES_SUBMIT]
    model = ScriptedModel([_reply(r) for r in replies])
    store = RunStore.open(tmp_path / "run", kind="audit")
    outcome = AuditRunner(load_taxonomy("memex"), model=model, max_turns=4).run_sync([_target()], store)
    assert (outcome.audited, outcome.errors) == (0, 1)
    (error,) = store.read_errors()
    assert error.kind == "max_turns" and error.final
    sent = [r.messages[-1].text() for r in model.requests[1:]]
    assert "NameError" in sent[0]
    assert "no ```python code block" in sent[1]  # the invented traceback ran nothing
    assert "`submit` is reserved and was restored" in sent[2]
