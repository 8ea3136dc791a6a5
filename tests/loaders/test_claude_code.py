"""Claude Code session files: a 2.0.37 session and its sub-agent file (see fixtures/README.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson

from memex_audit.loaders import load, sniff_format

FIXTURES = Path(__file__).parent / "fixtures" / "claude_code_2.0.37" / "-home-dev-budget"
SESSION = FIXTURES / "7c1e4b2a-5d3f-4e8a-9b61-0f2d3c4a5b6e.jsonl"
AGENT = FIXTURES / "agent-a3f29c1e.jsonl"


def test_a_session_folder_loads_one_trajectory_with_the_sub_agent_inside() -> None:
    result = load(FIXTURES.parent)
    assert result.errors == [] and result.warnings == []
    assert [Path(p).name for p in result.skipped] == [AGENT.name]  # read with its session
    [t] = result.trajectories
    assert sniff_format(SESSION).name == "claude_code"  # type: ignore[union-attr]
    assert (t.id, t.task_id, t.harness, t.model) == (
        "7c1e4b2a-5d3f-4e8a-9b61-0f2d3c4a5b6e",
        "7c1e4b2a-5d3f-4e8a-9b61-0f2d3c4a5b6e",
        "claude-code",
        "claude-sonnet-4-5-20250929",
    )
    assert t.question == "The test for 1944 outlays fails. Fix it and make sure the tests pass."
    assert t.final_answer == "Fixed: total_outlays now returns an int, and all 3 tests pass."
    assert t.success is None  # sessions are not graded
    assert t.metadata["title"] == "Fix failing outlays test in budget totals"
    assert t.metadata["version"] == "2.0.37" and t.metadata["other_line_types"] == ["file-history-snapshot"]
    assert t.agents == ["main", "Explore"]


def test_streamed_blocks_merge_into_one_step_and_tool_results_pair_with_calls() -> None:
    [t] = load(SESSION).trajectories
    first = t.steps[2]
    assert first.role == "assistant" and first.text == "I'll run the test suite to see the failure."
    assert first.reasoning == "Run the tests first to see the failure."
    assert [c.name for c in first.tool_calls] == ["Bash"]
    assert len(first.metadata["uuid"]) == 3  # type: ignore[arg-type]  # three lines, one API message
    assert first.usage is not None and first.usage.output_tokens == 212  # counted once
    assert first.usage.cache_read_tokens == 12004 and first.usage.input_tokens == 4 + 12004 + 3120
    failing = t.steps[3]
    assert failing.role == "tool" and failing.tool_call_id == "toolu_01Bash1" and failing.tool_name == "Bash"
    assert failing.error is not None and "1 failed, 2 passed" in (failing.output or "")
    edit = next(s for s in t.steps if s.tool_name == "Edit")
    result = edit.metadata["tool_use_result"]
    assert isinstance(result, dict) and result["omitted"] == ["originalFile"] and "structuredPatch" in result
    assert t.steps[1].metadata["meta"] is True  # the command caveat is not the task
    hook = next(s for s in t.steps if s.role == "system")
    assert hook.text == "PostToolUse:Edit [ruff format] completed successfully"
    assert [s.index for s in t.steps] == list(range(len(t.steps)))


def test_the_sub_agent_runs_between_its_task_call_and_the_result() -> None:
    [t] = load(SESSION).trajectories
    task_call = next(s for s in t.steps if any(c.name == "Task" for c in s.tool_calls))
    explore = [s for s in t.steps if s.agent == "Explore"]
    task_result = next(s for s in t.steps if s.tool_name == "Task")
    assert task_call.index < explore[0].index and explore[-1].index < task_result.index
    assert [s.role for s in explore] == ["user", "assistant", "tool", "assistant"]
    assert explore[2].tool_name == "Grep" and "def total_outlays" in (explore[2].output or "")
    assert all(s.agent == "main" for s in t.steps if s not in explore)


def test_a_sub_agent_file_named_alone_loads_as_its_own_trajectory() -> None:
    [t] = load(AGENT).trajectories
    assert t.id == "agent-a3f29c1e" and t.agents == ["agent-a3f29c1e"]
    assert t.question is not None and t.question.startswith("Find where total_outlays is defined")
    assert len(t.steps) == 4


def test_older_sessions_keep_sidechains_in_the_same_file(tmp_path: Path) -> None:
    lines = [orjson.loads(line) for line in SESSION.read_bytes().splitlines()]
    for line in AGENT.read_bytes().splitlines():
        record = orjson.loads(line)
        record.pop("agentId")
        lines.append(record)
    for record in lines:  # versions before 2.0 name no agent id
        if isinstance(record.get("toolUseResult"), dict):
            record["toolUseResult"].pop("agentId", None)
    path = tmp_path / SESSION.name
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in lines) + b"\n")
    [t] = load(path).trajectories
    explore = [s.index for s in t.steps if s.agent == "Explore"]
    task_call = next(s.index for s in t.steps if any(c.name == "Task" for c in s.tool_calls))
    assert explore == list(range(task_call + 1, task_call + 5))  # matched by the Task prompt


def test_a_rewound_prompt_leaves_its_branch_out_and_says_so(tmp_path: Path) -> None:
    lines = [orjson.loads(line) for line in SESSION.read_bytes().splitlines()]
    first_prompt = lines[2]
    abandoned = dict(
        first_prompt, uuid="ffff0000-aaaa", message={"role": "user", "content": "Delete the test."}
    )
    abandoned["parentUuid"] = None
    lines.insert(3, abandoned)
    path = tmp_path / SESSION.name
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in lines) + b"\n")
    [t] = load(path).trajectories
    assert t.metadata["off_branch_uuids"] == ["ffff0000-aaaa"]
    assert not t.search("Delete the test")


def test_a_file_of_summaries_only_loads_with_a_warning(tmp_path: Path) -> None:
    folder = tmp_path / "-home-dev-x"
    folder.mkdir()
    path = folder / "0a1b2c3d-0000-4000-8000-000000000000.jsonl"
    path.write_text('{"type":"summary","summary":"Old chat","leafUuid":"e1"}\n')
    result = load(path)
    assert result.errors == []
    [warning] = result.warnings
    assert "no steps" in warning.reason and "only summaries" in warning.reason


def test_a_session_in_a_gzip_file_reads_the_same(tmp_path: Path) -> None:
    import gzip

    folder = tmp_path / FIXTURES.name
    shutil.copytree(FIXTURES, folder)
    plain = folder / SESSION.name
    (folder / f"{SESSION.name}.gz").write_bytes(gzip.compress(plain.read_bytes()))
    plain.unlink()
    [t] = load(folder / f"{SESSION.name}.gz").trajectories
    assert t.source is not None and t.source.file == str(folder / f"{SESSION.name}.gz")
    assert t.agents == ["main", "Explore"]
