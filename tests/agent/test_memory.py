"""Indexed experience memory: older turns compressed under a token budget, recalled exactly."""

from __future__ import annotations

import pytest

from memex_audit.agent import Agent, Experience, MemoryConfig
from memex_audit.errors import UsageError
from memex_audit.llm import ScriptedModel, estimate_request_tokens

BUDGET = 4000


def code(body: str, thought: str = "Next step.") -> str:
    return f"{thought}\n```python\n{body}\n```"


def long_script(turns: int) -> list[str]:
    """Turn 1 prints a unique batch; later turns print more; then turn 1 is recalled and submitted."""
    replies = [code("print(' '.join(f'w{i}x1' for i in range(300)))", "Print the first batch.")]
    for t in range(2, turns):
        replies.append(code(f"print(' '.join(f'v{{i}}y{t}' for i in range(300)))", f"Batch {t}."))
    replies.append(code("first = recall('T1')\nprint(first.output[-24:])", "Look back at turn 1."))
    replies.append(code("submit(recall('T1').output)", "Give it back."))
    return replies


TASK = "Print batches, then give back the first batch exactly."


def test_without_memory_the_same_run_outgrows_the_budget() -> None:
    model = ScriptedModel(long_script(12))
    Agent(model, str).run_sync(TASK)
    assert max(estimate_request_tokens(r) for r in model.requests) > 2 * BUDGET


def test_with_memory_every_request_stays_under_the_budget_and_recall_is_exact() -> None:
    model = ScriptedModel(long_script(12))
    result = Agent(model, str, memory=MemoryConfig(context_budget=BUDGET)).run_sync(TASK)
    assert result.stop_reason == "submitted"
    sizes = [estimate_request_tokens(r) for r in model.requests]
    assert max(sizes) <= BUDGET
    first_output = result.trajectory.steps[2].output
    assert first_output is not None and first_output.startswith("w0x1 w1x1")
    # The submitted value is the exact, complete output of turn 1, long compressed away by then.
    assert result.output == first_output
    recall_request = model.requests[-1]
    assert "w297x1 w298x1 w299x1" in recall_request.messages[-1].text()
    assert "w0x1" not in "".join(m.text() for m in recall_request.messages[1:-1])


def test_the_index_follows_the_task_verbatim_with_one_stable_key_per_turn() -> None:
    model = ScriptedModel(long_script(12))
    # An index allowed as much room as a compression leaves: no line is folded in this run.
    Agent(model, str, memory=MemoryConfig(context_budget=BUDGET, index_share=0.4)).run_sync(TASK)
    head = model.requests[-1].messages[0].text()
    assert head.startswith(model.requests[0].messages[0].text())
    assert "## Experience index" in head
    lines = [line for line in head.splitlines() if line.startswith("- T")]
    assert lines[0].startswith("- T1: Print the first batch. -> [")
    assert [line.split(":")[0] for line in lines] == [f"- T{n}" for n in range(1, len(lines) + 1)]
    assert all(len(line) <= 160 for line in lines)
    # Keys are stable: the index of an earlier request is a prefix of the later one's.
    earlier = next(r for r in model.requests if "## Experience index" in r.messages[0].text())
    earlier_lines = [line for line in earlier.messages[0].text().splitlines() if line.startswith("- T")]
    assert lines[: len(earlier_lines)] == earlier_lines


def test_compressions_and_recalls_are_in_the_record() -> None:
    model = ScriptedModel(long_script(12))
    result = Agent(model, str, memory=MemoryConfig(context_budget=BUDGET)).run_sync(TASK)
    memory = result.trajectory.metadata["memory"]
    assert isinstance(memory, dict)
    assert memory["context_budget"] == BUDGET and memory["compressions"] >= 1
    assert memory["recalls"] == ["T1", "T1"]
    peak = memory["peak_request_tokens"]
    assert isinstance(peak, int) and 0 < peak <= BUDGET
    events = [
        s.metadata["memory_compression"]
        for s in result.trajectory.steps
        if "memory_compression" in s.metadata
    ]
    assert len(events) == memory["compressions"]
    first = events[0]
    assert isinstance(first, dict) and first["keys"][0] == "T1"  # type: ignore[index]
    assert first["tokens_after"] < first["tokens_before"]  # type: ignore[operator]
    recalled = [s for s in result.trajectory.steps if s.metadata.get("recalled")]
    assert recalled and recalled[0].metadata["recalled"] == ["T1"]
    # The record keeps every turn whole, whatever the model's context held.
    outputs = [s.output for s in result.trajectory.steps if s.role == "assistant" and s.output]
    assert len(outputs) >= 11


def test_the_status_line_shows_usage_against_the_budget_and_a_compression() -> None:
    model = ScriptedModel(long_script(12))
    Agent(model, str, memory=MemoryConfig(context_budget=BUDGET)).run_sync(TASK)
    first_status = model.requests[1].messages[-1].text().split("\n\n")[-1]
    assert f"of {BUDGET:,} tokens" in first_status.splitlines()[0]
    notes = [r.messages[-1].text() for r in model.requests if "[memory: turn" in r.messages[-1].text()]
    assert notes and "recall(key)" in notes[0]


def test_recall_of_an_unknown_key_says_which_keys_exist_and_recall_is_reserved() -> None:
    model = ScriptedModel(
        [
            code("print('a')"),
            code("recall('T9')"),
            code("recall = 3\nr = globals()['recall']"),
            code("e = recall('t1')\nsubmit(e.output)"),
        ]
    )
    result = Agent(model, str, memory=MemoryConfig()).run_sync("Recall.")
    assert "KeyError" in model.requests[2].messages[-1].text()
    assert "the keys are T1" in model.requests[2].messages[-1].text()
    assert "`recall` is reserved and was restored" in model.requests[3].messages[-1].text()
    assert result.output == "a\n"


def test_recall_returns_an_experience_with_the_code_and_error() -> None:
    model = ScriptedModel(
        [
            code("1 / 0", "Divide."),
            code("e = recall('T1')\nsubmit([e.key, e.code, e.error.splitlines()[-1], e.text])"),
        ]
    )
    result = Agent(model, list[str], memory=MemoryConfig()).run_sync("Recall an error.")
    assert result.output == ["T1", "1 / 0", "ZeroDivisionError: division by zero", "Divide."]
    experience = Experience(
        key="T2", turn=2, text="Print.", code="print('x' * 9000)", output="x" * 9000, error=None
    )
    assert repr(experience) == (
        "Experience(key='T2', text='Print.', code=<17 chars>, output=<9,000 chars>, error=None)"
    )
    assert Experience.__name__ in Agent(model, str, memory=MemoryConfig()).system_prompt({})


@pytest.mark.slow
def test_recall_works_on_the_subprocess_kernel() -> None:
    model = ScriptedModel([code("print('x' * 5000)"), code("submit(len(recall('T1').output))")])
    agent = Agent(model, int, kernel="subprocess", memory=MemoryConfig(), observation_limit=500)
    result = agent.run_sync("Recall in a child process.")
    assert result.stop_reason == "submitted" and result.output == 5001


def test_without_memory_nothing_changes() -> None:
    agent = Agent(ScriptedModel([]), str)
    prompt = agent.system_prompt({})
    assert "## Memory" not in prompt and "recall(" not in prompt and "$memory" not in prompt
    model = ScriptedModel([code("recall('T1')"), code("submit('ok')")])
    Agent(model, str).run_sync("No memory.")
    assert "NameError" in model.requests[1].messages[-1].text()


def test_memory_settings_are_checked() -> None:
    with pytest.raises(UsageError):
        MemoryConfig(context_budget=100)
    with pytest.raises(UsageError):
        MemoryConfig(compress_at=0.3, compress_to=0.5)
    with pytest.raises(UsageError):
        Agent(ScriptedModel([]), str, memory=MemoryConfig(), action_space="tool_calling")
    with pytest.raises(UsageError, match="reserved"):
        Agent(ScriptedModel([]), str, memory=MemoryConfig()).run_sync("x", recall=1)


def test_a_long_index_folds_its_oldest_lines_and_their_keys_stay_valid() -> None:
    replies = [code(f"print('result {t}: ' + 'ok ' * 20)", f"Check item {t}.") for t in range(1, 60)]
    model = ScriptedModel([*replies, code("submit(recall('T2').output)")])
    config = MemoryConfig(context_budget=2500, index_share=0.2)
    result = Agent(model, str, memory=config, max_turns=60).run_sync("Check many items.")
    assert result.stop_reason == "submitted"
    assert result.output == "result 2: " + "ok " * 20 + "\n"
    assert max(estimate_request_tokens(r) for r in model.requests) <= 2500
    head = model.requests[-1].messages[0].text()
    folded = next(line for line in head.splitlines() if "lines folded" in line)
    assert folded.startswith("- T1..T")
    assert estimate_request_tokens(model.requests[-1]) <= 2500
