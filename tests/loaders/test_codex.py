"""Codex CLI rollouts: a 0.46.0 session written field by field (see fixtures/README.md)."""

from __future__ import annotations

from pathlib import Path

import orjson

from memex_audit.loaders import load, sniff_format

FOLDER = Path(__file__).parent / "fixtures" / "codex_0.46.0"
ROLLOUT = next(FOLDER.rglob("rollout-*.jsonl"))


def test_a_rollout_loads_with_calls_outputs_usage_and_the_prompt() -> None:
    assert sniff_format(ROLLOUT).name == "codex"  # type: ignore[union-attr]
    result = load(FOLDER)
    assert result.errors == [] and result.warnings == []
    [t] = result.trajectories
    assert (t.id, t.harness, t.model) == ("019a7a1c-3e5f-7b20-9d41-6c8e2f0a1b3d", "codex", "gpt-5-codex")
    assert t.question == "The test for 1944 outlays fails. Fix it and make sure the tests pass."
    assert t.final_answer is not None and "3 passed" in t.final_answer
    assert t.metadata["cli_version"] == "0.46.0" and t.success is None
    assert [s.role for s in t.steps] == [
        "user", "user", "assistant", "tool", "assistant", "tool", "assistant", "tool", "assistant",
    ]  # fmt: skip
    assert t.steps[0].metadata["context"] is True  # <environment_context>, not the task
    # Totals from the last token_count event; each model call's usage on its step.
    assert (t.usage.input_tokens, t.usage.cache_read_tokens, t.usage.output_tokens) == (26373, 24320, 412)
    assert t.steps[2].usage is not None and t.steps[2].usage.output_tokens == 131


def test_shell_outputs_carry_exit_codes_and_patches_stay_verbatim() -> None:
    [t] = load(ROLLOUT).trajectories
    run, failed = t.steps[2], t.steps[3]
    [call] = run.tool_calls
    assert call.name == "shell" and call.arguments["command"] == [
        "bash",
        "-lc",
        "python -m pytest -q tests/test_totals.py",
    ]
    assert run.reasoning == "**Running the tests**" and run.metadata["encrypted_reasoning"] is True
    assert failed.tool_call_id == call.id and failed.tool_name == "shell"
    assert failed.metadata["exit_code"] == 1 and failed.error == "command exited with code 1"
    assert failed.output is not None and failed.output.startswith("..F") and failed.duration_s == 0.4
    [patch] = t.steps[4].tool_calls
    assert patch.name == "apply_patch" and (patch.arguments_raw or "").startswith("*** Begin Patch")
    assert t.steps[5].error is None and "Updated the following files" in (t.steps[5].output or "")
    assert t.steps[7].metadata["exit_code"] == 0 and t.steps[7].error is None


def test_newer_plain_text_outputs_and_unknown_events_are_kept(tmp_path: Path) -> None:
    lines = [orjson.loads(line) for line in ROLLOUT.read_bytes().splitlines()]
    for line in lines:
        payload = line["payload"]
        if payload.get("type") == "function_call_output":
            body = orjson.loads(payload["output"])
            code = body["metadata"]["exit_code"]
            payload["output"] = f"Exit code: {code}\nWall time: 0.4 seconds\nOutput:\n{body['output']}"
    lines.append(
        {
            "timestamp": "2025-11-12T10:03:00.000Z",
            "type": "event_msg",
            "payload": {"type": "turn_aborted", "reason": "interrupted"},
        }
    )
    path = tmp_path / ROLLOUT.name
    path.write_bytes(b"\n".join(orjson.dumps(line) for line in lines))
    [t] = load(path).trajectories
    assert t.steps[3].metadata["exit_code"] == 1 and (t.steps[3].output or "").startswith("..F")
    assert t.metadata["events"] == [
        {"timestamp": "2025-11-12T10:03:00.000Z", "type": "turn_aborted", "reason": "interrupted"}
    ]


def test_a_rollout_that_never_reached_the_model_loads_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "rollout-2025-11-12T10-00-00-x.jsonl"
    path.write_bytes(ROLLOUT.read_bytes().splitlines()[0] + b"\n")
    result = load(path)
    [t] = result.trajectories
    [warning] = result.warnings
    assert t.steps == [] and warning.format == "codex" and "no response items" in warning.reason
