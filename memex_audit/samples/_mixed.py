"""Tool-calling sample rollouts re-expressed as OpenAI chat messages and Anthropic Messages transcripts.

These copies make the sample folder mixed-format. Each copy carries the rollout's ids, question,
ground truth, answer and outcome in the optional fields of those file shapes; human labels are
left out (the formats have no place for them, and ``metadata`` is visible to an auditor). The copy's
``id`` gets a suffix so a folder loaded with the copies never holds two rollouts with one id.
"""

from __future__ import annotations

from typing import Any

import orjson

from memex_audit.trajectory import Trajectory


def _envelope(traj: Trajectory, suffix: str) -> dict[str, Any]:
    return {
        "id": f"{traj.id}.{suffix}",
        "task_id": traj.task_id,
        "question": traj.question,
        "ground_truth": traj.ground_truth,
        "final_answer": traj.final_answer,
        "correct": traj.outcome.correct,
        "model": traj.model,
        "metadata": {**traj.metadata, "copy_of": traj.id, "harness": traj.harness},
    }


def to_openai_chat(traj: Trajectory) -> dict[str, Any]:
    """The rollout as an OpenAI chat-completions record: ``{"messages": [...], ...}``."""
    messages: list[dict[str, Any]] = []
    for step in traj.steps:
        if step.role in ("system", "user"):
            messages.append({"role": step.role, "content": step.text or ""})
        elif step.role == "assistant":
            message: dict[str, Any] = {"role": "assistant", "content": step.text}
            if step.tool_calls:
                message["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": orjson.dumps(call.arguments).decode()},
                    }
                    for call in step.tool_calls
                ]
            messages.append(message)
        else:
            messages.append({"role": "tool", "tool_call_id": step.tool_call_id, "content": step.output or ""})
    return {**_envelope(traj, "openai"), "messages": messages}


def to_anthropic_messages(traj: Trajectory) -> dict[str, Any]:
    """The rollout as an Anthropic Messages transcript: system apart, content blocks, tool results as user turns."""
    system = next((s.text for s in traj.steps if s.role == "system"), None)
    messages: list[dict[str, Any]] = []
    for step in traj.steps:
        if step.role == "system":
            continue
        if step.role == "user":
            messages.append({"role": "user", "content": [{"type": "text", "text": step.text or ""}]})
        elif step.role == "assistant":
            blocks: list[dict[str, Any]] = []
            if step.text:
                blocks.append({"type": "text", "text": step.text})
            for call in step.tool_calls:
                blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments})
            messages.append({"role": "assistant", "content": blocks})
        else:
            block = {"type": "tool_result", "tool_use_id": step.tool_call_id, "content": step.output or ""}
            # Consecutive tool results go back in one user turn, as the Messages API requires.
            if (
                messages
                and messages[-1]["role"] == "user"
                and messages[-1]["content"][0]["type"] == "tool_result"
            ):
                messages[-1]["content"].append(block)
            else:
                messages.append({"role": "user", "content": [block]})
    return {**_envelope(traj, "anthropic"), "system": system, "messages": messages}


def dump_json(record: dict[str, Any]) -> bytes:
    """A record as an indented JSON file's bytes (stable: insertion order, trailing newline)."""
    return orjson.dumps(record, option=orjson.OPT_INDENT_2) + b"\n"
