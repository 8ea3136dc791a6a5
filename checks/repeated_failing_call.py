"""The same call, with the same arguments, made again after it had failed."""

from __future__ import annotations

import orjson

from memex_audit.checks import Finding, check
from memex_audit.reading import calls_with_results, error_line
from memex_audit.trajectory import Trajectory


@check(description="A tool call that failed was repeated unchanged and failed again.")
def repeated_failing_call(trajectory: Trajectory) -> list[Finding]:
    failed_before: dict[tuple[str, str], int] = {}
    findings: list[Finding] = []
    for step, call, result in calls_with_results(trajectory):
        key = (
            call.name,
            orjson.dumps(call.arguments, option=orjson.OPT_SORT_KEYS).decode()
            + (call.arguments_raw or "")
            + (step.code or ""),
        )
        error = error_line(result) if result is not None else None
        if error is None:
            failed_before.pop(key, None)  # it worked this time: a retry that succeeded is fine
            continue
        if key in failed_before and result is not None:
            findings.append(
                Finding(
                    label="repeated_failing_call",
                    step=result.index,
                    quote=error,
                    note=f"{call.name} with the same arguments already failed at step {failed_before[key]}",
                )
            )
        failed_before[key] = result.index if result is not None else step.index
    return findings
