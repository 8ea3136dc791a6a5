"""Exports the pages offer: a trajectory with its audits as JSON or Markdown."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from memex_audit.app._verdicts import attribution_of
from memex_audit.auditor import AuditReport
from memex_audit.trajectory import Trajectory


def trajectory_json(trajectory: Trajectory, reports: Sequence[tuple[str, AuditReport]]) -> bytes:
    """``{"trajectory": ..., "audits": [{"run": ..., "report": ...}]}`` as indented JSON."""
    return orjson.dumps(
        {
            "trajectory": trajectory.model_dump(mode="json"),
            "audits": [{"run": run, "report": r.model_dump(mode="json")} for run, r in reports],
        },
        option=orjson.OPT_INDENT_2,
    )


def _fence(text: str, language: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{language}\n{text}\n{ticks}"


def trajectory_markdown(trajectory: Trajectory, reports: Sequence[tuple[str, AuditReport]]) -> str:
    """The rollout as Markdown: header, verdicts with evidence and human labels, then every step
    (text in fenced blocks, so nothing in it is read as Markdown)."""
    ok = {True: "correct", False: "failed", None: "ungraded"}[trajectory.success]
    lines = [
        f"# {trajectory.id}",
        "",
        f"- task: `{trajectory.task_id}`",
        f"- outcome: {ok}",
        f"- harness: {trajectory.harness or '?'} · model: {trajectory.model or '?'} · {len(trajectory.steps)} steps",
        "",
    ]
    if trajectory.question:
        lines += ["## Question", "", _fence(trajectory.question), ""]
    if trajectory.ground_truth is not None:
        truth = trajectory.ground_truth
        text = truth if isinstance(truth, str) else orjson.dumps(truth, option=orjson.OPT_INDENT_2).decode()
        lines += ["## Ground truth", "", _fence(text), ""]
    if trajectory.final_answer:
        lines += ["## Final answer", "", _fence(trajectory.final_answer), ""]
    for run, report in reports:
        attribution = attribution_of(report)
        lines += [
            f"## Audit ({run}): {report.primary}",
            "",
            f"- taxonomy: {report.taxonomy} · confidence {report.confidence:.2f} · {report.producer.name}",
            f"- faulty step: {report.faulty_step} · agent: {report.faulty_agent} · attribution: {attribution}",
            "",
            _fence(report.explanation),
            "",
        ]
        for item in report.evidence:
            lines += [
                f"- evidence at step {item.step}" + (f" ({item.note})" if item.note else ""),
                "",
                _fence(item.quote),
                "",
            ]
    for label in trajectory.labels:
        lines += [
            "## Human label",
            "",
            f"- faulty agent: {label.faulty_agent} · faulty step: {label.faulty_step} · category: {label.category}",
            "",
        ]
        if label.reason:
            lines += [_fence(label.reason), ""]
    lines += ["## Steps", ""]
    for step in trajectory.steps:
        title = f"### Step {step.index} · {step.role}"
        if step.agent:
            title += f" · {step.agent}"
        if step.tool_name:
            title += f" · {step.tool_name}"
        lines += [title, ""]
        for label_text, value, language in (
            ("reasoning", step.reasoning, ""),
            ("text", step.text, ""),
            ("code", step.code, "python"),
            ("output", step.output, ""),
            ("error", step.error, ""),
        ):
            if value:
                lines += [f"{label_text}:", "", _fence(value, language), ""]
        for call in step.tool_calls:
            args = call.arguments_raw or orjson.dumps(call.arguments, option=orjson.OPT_INDENT_2).decode()
            lines += [f"tool call {call.name}:", "", _fence(args, "json"), ""]
    return "\n".join(lines)
